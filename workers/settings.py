"""One settings object, read from ``GAMEWORKER_*`` variables; nothing else reads the environment.

With nothing set, everything runs on the embedded default under ``GAMEWORKER_HOME`` (``./var``):
a SQLite database, kombu's ``filesystem://`` broker and a file result backend.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEWORKER_", extra="ignore")

    home: Path = Path("var")
    database_url: str | None = None
    broker_url: str | None = None
    result_backend: str | None = None
    events_url: str | None = None
    cursor_secret: SecretStr = SecretStr("gameworker-embedded-cursor-secret")

    db_pool_size: int = Field(5, ge=1)
    # Redis redelivers an unacked message after the visibility timeout: every time limit and
    # retry countdown stays below it, or a long command would run twice.
    visibility_timeout: int = Field(3600, ge=60)
    task_soft_time_limit: int = Field(240, ge=1)
    task_time_limit: int = Field(300, ge=1)
    # Strategy cascades (publish, archive, rollback, due operations) move every game and task in
    # one transaction: a million of each took ~170 s here, so they get limits of their own.
    cascade_soft_time_limit: int = Field(1500, ge=1)
    cascade_time_limit: int = Field(1800, ge=1)
    max_retries: int = Field(5, ge=0)
    retry_backoff_base: float = Field(0.5, gt=0)
    retry_backoff_cap: float = Field(30.0, gt=0)
    worker_concurrency: int | None = None
    result_expires: int = Field(86_400, ge=60)
    log_level: str = "INFO"
    # Events and dead letters (docs/events.md): outbox rows per relay batch, and the largest
    # message body a worker accepts (a bigger one is dead-lettered unread).
    relay_batch_size: int = Field(500, ge=1, le=10_000)
    # After a commit the relay is kicked at once, then at most once per this many seconds per
    # process: a burst of commands shares relay passes (docs/benchmarks.md).
    relay_kick_interval: float = Field(0.2, gt=0, le=10)
    max_message_bytes: int = Field(1_000_000, ge=65_536)

    # Maintenance (docs/maintenance.md): how often beat sends each task (seconds) and how long
    # each kind of row is kept (days).
    relay_sweep_interval: float = Field(10, gt=0)
    schedule_interval: float = Field(10, gt=0)
    reconcile_interval: float = Field(300, gt=0)
    purge_interval: float = Field(3600, gt=0)
    prune_interval: float = Field(3600, gt=0)
    purge_retention_days: float = Field(30, ge=0)
    idempotency_retention_days: float = Field(7, gt=0)
    outbox_retention_days: float = Field(7, ge=0)
    maintenance_batch_size: int = Field(500, ge=1, le=10_000)
    # Beat: how often it wakes at most, and how long its Redis lock outlives a silent holder.
    beat_max_loop_interval: float = Field(5, gt=0)
    beat_lock_timeout: int = Field(30, ge=1)
    beat_key_prefix: str = "gameworker:redbeat"
    # Flower (docs/operations.md): basic auth is required unless flower_no_auth is set.
    flower_user: str = "gameworker"
    flower_password: SecretStr | None = None
    flower_port: int = Field(5555, ge=0, le=65_535)
    flower_no_auth: bool = False
    # Signed commands (docs/security.md): with a key, certificate and store of trusted
    # producers' certificates, every task message is signed and verified (Celery's `auth`).
    signing_key: Path | None = None
    signing_key_password: SecretStr | None = None
    signing_cert: Path | None = None
    signing_cert_store: Path | None = None

    @cached_property
    def home_dir(self) -> Path:
        return self.home.resolve()

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'gameworker.db'}"

    @property
    def broker(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def results(self) -> str:
        return self.result_backend or f"file://{self.home_dir / 'results'}"

    @property
    def events(self) -> str:
        return self.events_url or self.broker

    @property
    def signing(self) -> bool:
        """Whether task messages are signed and verified."""
        return self.signing_key is not None

    @property
    def is_embedded_broker(self) -> bool:
        return self.broker.startswith("filesystem://")

    @property
    def broker_folder(self) -> Path:
        return self.home_dir / "broker"

    def check(self) -> None:
        if not self.cascade_soft_time_limit < self.cascade_time_limit < self.visibility_timeout:
            raise ValueError(
                "need cascade_soft_time_limit < cascade_time_limit < visibility_timeout "
                f"(got {self.cascade_soft_time_limit}, {self.cascade_time_limit}, "
                f"{self.visibility_timeout})"
            )
        if not self.task_soft_time_limit < self.task_time_limit < self.visibility_timeout:
            raise ValueError(
                "need task_soft_time_limit < task_time_limit < visibility_timeout "
                f"(got {self.task_soft_time_limit}, {self.task_time_limit}, "
                f"{self.visibility_timeout})"
            )
        if self.retry_backoff_cap >= self.visibility_timeout:
            raise ValueError("retry_backoff_cap must stay below visibility_timeout")
        if self.idempotency_retention_days * 86_400 <= self.visibility_timeout:
            raise ValueError(
                "idempotency_retention_days must outlast visibility_timeout: a redelivered "
                "command must still find its idempotency record"
            )
        if self.beat_lock_timeout <= self.beat_max_loop_interval:
            raise ValueError("beat_lock_timeout must exceed beat_max_loop_interval")
        self._check_signing()

    def _check_signing(self) -> None:
        paths = {
            "GAMEWORKER_SIGNING_KEY": self.signing_key,
            "GAMEWORKER_SIGNING_CERT": self.signing_cert,
            "GAMEWORKER_SIGNING_CERT_STORE": self.signing_cert_store,
        }
        given = [name for name, path in paths.items() if path is not None]
        if given and len(given) < len(paths):
            missing = ", ".join(name for name in paths if name not in given)
            raise ValueError(f"signed commands need all three signing settings: set {missing}")
        for name, path in paths.items():
            if path is not None and not path.exists():
                raise ValueError(f"{name}: {path} does not exist")
