"""The signing settings: all three paths or none, each existing; the Celery settings they make."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.settings import Settings
from workers.signing import signing_conf


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    files = {"signing_key": tmp_path / "me.key", "signing_cert": tmp_path / "me.crt"}
    for path in files.values():
        path.write_text("pem")
    store = tmp_path / "trusted"
    store.mkdir()
    return {**files, "signing_cert_store": store}


def test_off_by_default() -> None:
    settings = Settings()
    settings.check()
    assert not settings.signing and signing_conf(settings) == {}


def test_all_three_turn_signing_on(paths: dict[str, Path]) -> None:
    settings = Settings(**paths)
    settings.check()
    conf = signing_conf(settings)
    assert conf["task_serializer"] == "auth" and conf["accept_content"] == ["auth"]
    assert conf["result_accept_content"] == ["json"]
    assert conf["security_cert_store"] == str(paths["signing_cert_store"])


@pytest.mark.parametrize("left_out", ["signing_key", "signing_cert", "signing_cert_store"])
def test_a_partial_configuration_is_refused(paths: dict[str, Path], left_out: str) -> None:
    del paths[left_out]
    with pytest.raises(ValueError, match=f"set GAMEWORKER_{left_out.upper()}"):
        Settings(**paths).check()


def test_a_missing_file_is_refused(paths: dict[str, Path]) -> None:
    paths["signing_cert"].unlink()
    with pytest.raises(ValueError, match=r"GAMEWORKER_SIGNING_CERT: .* does not exist"):
        Settings(**paths).check()
