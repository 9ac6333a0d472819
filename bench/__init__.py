"""gameworker's benchmarks: ratios to ceilings measured in the same run (docs/benchmarks.md)."""
