"""The deployment files: docker-compose.yml renders, and it runs what the project provides.

``docker compose config`` (or the older ``docker-compose config``) validates and renders the
file with no Docker engine; where neither client exists that test is skipped and the file is
still read with PyYAML and checked against the CLI, the settings and the Dockerfile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from workers.cli import parser
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = {
    "postgres",
    "redis",
    "rabbitmq",
    "migrate",
    "worker-games",
    "worker-strategies",
    "worker-maintenance",
    "beat",
    "flower",
}
SECRETS = {
    "POSTGRES_PASSWORD": "a-postgres-password",
    "GAMEWORKER_CURSOR_SECRET": "a-cursor-secret",
    "GAMEWORKER_FLOWER_PASSWORD": "a-flower-password",
}


def compose_client() -> list[str] | None:
    """``docker compose`` (v2 plugin) or ``docker-compose`` (v1), whichever is installed."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    client = compose_client()
    if client is None:
        pytest.skip("no docker compose client (docker compose or docker-compose) installed")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEWORKER_", "POSTGRES"))}
    return subprocess.run(
        [*client, "-f", str(COMPOSE_FILE), "--project-directory", str(ROOT), *args],
        capture_output=True,
        text=True,
        env={**clean, **(env if env is not None else SECRETS)},
        timeout=120,
    )


def rendered(*profiles: str) -> dict[str, Any]:
    args = [a for p in profiles for a in ("--profile", p)]
    done = compose(*args, "config")
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


# --- rendered by docker compose ----------------------------------------------------------


def test_compose_config_renders_every_service_with_its_health_check() -> None:
    services = rendered("rabbitmq")["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        if name != "migrate":
            assert service["healthcheck"]["test"], name
    env = services["worker-games"]["environment"]
    assert env["GAMEWORKER_DATABASE_URL"] == (
        "postgresql://gameworker:a-postgres-password@postgres:5432/gameworker"
    )
    assert env["GAMEWORKER_BROKER_URL"] == "redis://redis:6379/0"
    assert services["flower"]["environment"]["GAMEWORKER_FLOWER_PASSWORD"] == "a-flower-password"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("worker-games", "worker-strategies", "worker-maintenance", "beat"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


def test_compose_refuses_to_render_without_the_flower_password_or_secrets() -> None:
    for missing in SECRETS:
        done = compose("config", env={k: v for k, v in SECRETS.items() if k != missing})
        assert done.returncode != 0
        assert missing in done.stderr


def test_the_broker_can_be_rabbitmq_from_the_environment() -> None:
    url = "amqp://gameworker:pw@rabbitmq:5672//"
    done = compose("--profile", "rabbitmq", "config", env={**SECRETS, "GAMEWORKER_BROKER_URL": url})
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert services["beat"]["environment"]["GAMEWORKER_BROKER_URL"] == url
    assert "rabbitmq" in services["rabbitmq"]["profiles"]


# --- the file itself ---------------------------------------------------------------------


def test_the_services_and_what_is_behind_a_profile(raw: dict[str, Any]) -> None:
    services = raw["services"]
    assert set(services) == SERVICES
    assert [n for n, s in services.items() if s.get("profiles")] == ["rabbitmq"]


def test_every_gameworker_command_is_one_the_cli_accepts(raw: dict[str, Any]) -> None:
    commands = {n: s["command"] for n, s in raw["services"].items() if s.get("build")}
    assert set(commands) == {
        "migrate",
        "worker-games",
        "worker-strategies",
        "worker-maintenance",
        "beat",
        "flower",
    }
    for name, command in commands.items():
        args = parser().parse_args(command)  # exits on an unknown subcommand or option
        assert args.command == command[0], name


def test_one_worker_per_queue_covering_the_contracts_queues(raw: dict[str, Any]) -> None:
    queues = []
    for name, service in raw["services"].items():
        if name.startswith("worker-"):
            command = service["command"]
            queue = command[command.index("-Q") + 1]
            assert name == f"worker-{queue}"
            assert f"{queue}@$$HOSTNAME" in service["healthcheck"]["test"][1]
            queues.append(queue)
    assert sorted(queues) == ["games", "maintenance", "strategies"]


def test_exactly_one_beat(raw: dict[str, Any]) -> None:
    beats = [n for n, s in raw["services"].items() if s.get("command") == ["beat"]]
    assert beats == ["beat"]
    beat = raw["services"]["beat"]
    assert "deploy" not in beat and "scale" not in beat
    assert "celerybeat@$$HOSTNAME" in beat["healthcheck"]["test"][1]
    # The image's GAMEWORKER_HOME: the file scheduler's state and lock outlive the container.
    assert any(v.endswith(":/var/lib/gameworker") for v in beat["volumes"])


def test_broker_durability(raw: dict[str, Any]) -> None:
    redis = raw["services"]["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"
    assert "redisdata:/data" in raw["services"]["redis"]["volumes"]
    rabbit = raw["services"]["rabbitmq"]
    assert rabbit["hostname"] == "rabbitmq"  # its data directory follows the node name
    assert "rabbitmqdata:/var/lib/rabbitmq" in rabbit["volumes"]


def test_flower_auth_is_on_and_its_password_is_required(raw: dict[str, Any]) -> None:
    env = raw["services"]["flower"]["environment"]
    assert env["GAMEWORKER_FLOWER_PASSWORD"].startswith("${GAMEWORKER_FLOWER_PASSWORD:?")
    assert "GAMEWORKER_FLOWER_NO_AUTH" not in env
    assert "--no-auth" not in raw["services"]["flower"]["command"]


def test_every_setting_the_file_sets_is_a_setting(raw: dict[str, Any]) -> None:
    env = raw["services"]["flower"]["environment"]
    for name in env:
        assert name.startswith("GAMEWORKER_")
        assert name.removeprefix("GAMEWORKER_").lower() in Settings.model_fields, name


def test_the_dockerfile_installs_the_packages_and_runs_gameworker_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in [*packages, *project["tool"]["setuptools"]["py-modules"]]:
        assert re.search(rf"^COPY {package}(\.py)? ", dockerfile, re.M), package
    assert re.search(r'^ENTRYPOINT \["gameworker"\]', dockerfile, re.M)
    assert re.search(r"^USER gameworker$", dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".env", ".git", "var"} <= set(ignored)
