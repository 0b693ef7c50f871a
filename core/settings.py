"""Settings read from the environment, in one place."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.keys import ApiKeySpec

KIB = 1024
MIB = 1024 * KIB

ENGINES = ("workflows", "asl")
"""What the HTTP routes of the five seeds start: the hand-written workflows, or the seeds'
own state machines on the ASL interpreter."""


def normalise_database_url(url: str) -> str:
    """Point any Postgres URL at the psycopg 3 driver that SQLAlchemy should use."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _env(name: str) -> AliasChoices:
    # Each setting answers to its documented name and to a STATEWRIGHT_ twin.
    return AliasChoices(name, f"STATEWRIGHT_{name}")


class Settings(BaseSettings):
    """Everything configurable about Statewright; unset services fall back to embedded ones."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    temporal_address: str | None = Field(default=None, validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field(default="default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    task_queue: str = Field(default="statewright", validation_alias="STATEWRIGHT_TASK_QUEUE")
    api_host: str = Field(default="127.0.0.1", validation_alias="STATEWRIGHT_API_HOST")
    api_port: int = Field(default=8000, validation_alias="STATEWRIGHT_API_PORT")
    data_dir: Path = Field(default=Path(".data"), validation_alias="STATEWRIGHT_DATA_DIR")
    # Ports of the embedded Temporal dev server, used only when TEMPORAL_ADDRESS is unset.
    temporal_dev_port: int = Field(default=7233, validation_alias="STATEWRIGHT_TEMPORAL_PORT")
    temporal_ui_port: int = Field(default=8233, validation_alias="STATEWRIGHT_TEMPORAL_UI_PORT")
    metrics: bool = Field(default=True, validation_alias="STATEWRIGHT_METRICS")
    """Whether the API serves `GET /metrics` and the worker its SDK and business metrics;
    `off` turns both off, which is how their cost is measured. The dev Temporal server always
    serves its own, as Temporal does by default."""
    # The dev Temporal server's own metrics (Prometheus), used only when TEMPORAL_ADDRESS is unset.
    temporal_metrics_port: int = Field(
        default=7235, ge=1, le=65535, validation_alias="STATEWRIGHT_TEMPORAL_METRICS_PORT"
    )
    # The worker's Temporal SDK metrics (Prometheus), on the API's host; 0 turns them off.
    worker_metrics_port: int = Field(
        default=9464, ge=0, le=65535, validation_alias="STATEWRIGHT_WORKER_METRICS_PORT"
    )
    eager_start: bool = Field(default=True, validation_alias="STATEWRIGHT_EAGER_START")
    """Whether the API starts orders and webhooks eagerly: a worker inside the API process
    takes each run's first workflow task in the start call's own answer, with no task-queue
    match and no poll. Such runs use `eager_task_queue`, which the worker polls too, so a run
    whose eager task is lost (the API dies mid-task) is finished there."""
    temporal_ui_url_override: str | None = Field(
        default=None, validation_alias="STATEWRIGHT_TEMPORAL_UI_URL"
    )
    max_body_bytes: int = Field(default=MIB, validation_alias="STATEWRIGHT_MAX_BODY_BYTES")
    http_read_timeout_seconds: float = Field(
        default=15.0, gt=0, validation_alias="STATEWRIGHT_HTTP_READ_TIMEOUT_SECONDS"
    )
    # Access control: with no key configured, the API is open (fine on 127.0.0.1 only).
    api_keys: list[ApiKeySpec] = Field(
        default_factory=list, validation_alias="STATEWRIGHT_API_KEYS"
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=1, validation_alias="STATEWRIGHT_RATE_LIMIT_PER_MINUTE"
    )
    reports_api_key: SecretStr | None = Field(
        default=None, validation_alias="STATEWRIGHT_REPORTS_API_KEY"
    )
    allow_open_api: bool = Field(default=False, validation_alias="STATEWRIGHT_ALLOW_OPEN_API")

    @property
    def api_is_local(self) -> bool:
        return self.api_host in ("127.0.0.1", "localhost", "::1")

    webhook_max_body_bytes: int = Field(
        default=256 * KIB, validation_alias="STATEWRIGHT_WEBHOOK_MAX_BODY_BYTES"
    )
    webhook_wait_seconds: float = Field(
        default=10.0, gt=0, validation_alias="STATEWRIGHT_WEBHOOK_WAIT_SECONDS"
    )
    # The simulated payment provider (the one external party, faked by design).
    payment_decline_above: Decimal = Field(
        default=Decimal("1000.00"), validation_alias="STATEWRIGHT_PAYMENT_DECLINE_ABOVE"
    )
    # Support cases.
    case_random_seed: int | None = Field(
        default=None, validation_alias="STATEWRIGHT_CASE_RANDOM_SEED"
    )
    case_max_work_attempts: int = Field(
        default=3, ge=1, le=10, validation_alias="STATEWRIGHT_CASE_MAX_WORK_ATTEMPTS"
    )
    tier2_deadline_seconds: float = Field(
        default=24 * 3600, gt=0, validation_alias="STATEWRIGHT_TIER2_DEADLINE_SECONDS"
    )
    # Report runner and the reporting API it polls.
    report_min_delay_seconds: float = Field(
        default=15.0, ge=0, validation_alias="STATEWRIGHT_REPORT_MIN_DELAY_SECONDS"
    )
    report_wait_seconds: float = Field(
        default=10.0, gt=0, validation_alias="STATEWRIGHT_REPORT_WAIT_SECONDS"
    )
    report_max_polls: int = Field(default=10, ge=1, validation_alias="STATEWRIGHT_REPORT_MAX_POLLS")
    report_schedule_cron: str = Field(
        default="* * * * *", validation_alias="STATEWRIGHT_REPORT_SCHEDULE_CRON"
    )
    reports_api_url_override: str | None = Field(
        default=None, validation_alias="STATEWRIGHT_REPORTS_API_URL"
    )
    publish_url: str | None = Field(default=None, validation_alias="STATEWRIGHT_PUBLISH_URL")
    s3_endpoint_url: str | None = Field(
        default=None, validation_alias="STATEWRIGHT_S3_ENDPOINT_URL"
    )
    payment_transient_failures: int = Field(
        default=0, ge=0, validation_alias="STATEWRIGHT_PAYMENT_TRANSIENT_FAILURES"
    )
    db_pool_size: int = Field(default=10, validation_alias="STATEWRIGHT_DB_POOL_SIZE")
    engine: Literal["workflows", "asl"] = Field(
        default="workflows", validation_alias="STATEWRIGHT_ENGINE"
    )
    """What `POST /orders`, `/cases`, `/payments`, `/webhooks` and `/report-runner/runs` start:
    `workflows`, the hand-written Temporal workflows, or `asl`, each seed's own state machine
    (`workflows.seeds`) run by the interpreter, with its task handlers."""
    task_modules: str = Field(default="", validation_alias="STATEWRIGHT_TASK_MODULES")
    """Modules holding task handlers (`statewright.tasks`), comma-separated; the worker
    imports them at start."""
    aws_region: str = Field(
        default="us-east-1",
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$",
        validation_alias="STATEWRIGHT_AWS_REGION",
    )
    """The region in the ARNs the Step Functions API hands out, and in SigV4 scopes."""
    aws_account: str = Field(
        default="123456789012", pattern=r"^\d{12}$", validation_alias="STATEWRIGHT_AWS_ACCOUNT"
    )
    """The account id in the ARNs the Step Functions API hands out."""
    sfn_credentials_file: Path | None = Field(
        default=None, validation_alias="STATEWRIGHT_SFN_CREDENTIALS_FILE"
    )
    """An owner-only JSON file of SigV4 credentials (`api.sfn.sigv4.load_credentials`); with
    none, the Step Functions API accepts any signature, as Step Functions Local does."""

    @field_validator("engine", mode="before")
    @classmethod
    def _known_engine(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ENGINES:
            return value.strip().lower()
        raise ValueError(
            f"STATEWRIGHT_ENGINE must be 'workflows' (the hand-written workflows) or 'asl' "
            f"(the seeds' state machines), not {value!r}"
        )

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @property
    def uses_embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def worker_serves_metrics(self) -> bool:
        return self.metrics and self.worker_metrics_port != 0

    @property
    def eager_task_queue(self) -> str:
        """The task queue of the runs the API starts eagerly."""
        return f"{self.task_queue}-eager"

    @property
    def task_queues(self) -> tuple[str, str]:
        """Every task queue this deployment's runs are on."""
        return (self.task_queue, self.eager_task_queue)

    @property
    def uses_dev_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_dev_port}"

    @property
    def temporal_ui_url(self) -> str:
        return (
            self.temporal_ui_url_override or f"http://127.0.0.1:{self.temporal_ui_port}"
        ).rstrip("/")

    @property
    def reports_api_url(self) -> str:
        """Where the report runner reaches the reporting API: this project's own by default."""
        if self.reports_api_url_override:
            return self.reports_api_url_override.rstrip("/")
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::") else self.api_host
        return f"http://{host}:{self.api_port}"

    @cached_property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    def run_ui_url(self, workflow_id: str, run_id: str | None) -> str:
        """Link to a run's history in the Temporal web UI."""
        base = (
            f"{self.temporal_ui_url}/namespaces/{self.temporal_namespace}/workflows/{workflow_id}"
        )
        return f"{base}/{run_id}/history" if run_id else base
