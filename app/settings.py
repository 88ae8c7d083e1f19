"""Gateway settings: every knob is a `GISGW_*` environment variable (or a `.env` line).

README.md lists them as a table; keep that table in step with this module.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

Environment = Literal["development", "test", "production"]
VerifyMode = Literal["off", "log", "reject"]

#: Repository root: `../shared/...` defaults are relative to it, not to the working directory.
REPO_ROOT = Path(__file__).resolve().parents[1]

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "example", "todo"}


class Settings(BaseSettings):
    """All gateway settings; env prefix `GISGW_`."""

    model_config = SettingsConfigDict(
        env_prefix="GISGW_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- process ---
    env: Environment = Field("development", description="development, test or production")
    host: str = Field("127.0.0.1", description="address `gisgw serve` binds")
    port: int = Field(8000, description="port `gisgw serve` binds")
    log_level: str = Field("INFO", description="root log level")
    log_json: bool = Field(True, description="structured JSON logs (false: plain text for humans)")

    # --- persistence ---
    database_url: str = Field(
        "sqlite+aiosqlite:///./var/gisgw.db",
        description="SQLAlchemy async URL; PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )
    database_echo: bool = Field(False, description="log every SQL statement (development only)")

    # --- GIS ZhKKh formats ---
    schema_dir: Path = Field(
        Path("../shared/gis-schemas/16.3.0.0"),
        description="official GIS ZhKKh format package (WSDL/XSD); relative to the repository root",
    )

    # --- GIS connection ---
    gis_base_url: str = Field(
        "http://127.0.0.1:8081",
        description="GIS base URL: production, SIT-01/02, a local GOST TLS tunnel or the stand",
    )
    gis_host_header: str | None = Field(None, description="Host header to send (behind a stunnel sidecar)")
    gis_basic_user: str | None = Field(None, description="HTTP Basic user (SIT stands)")
    gis_basic_password: SecretStr | None = Field(None, description="HTTP Basic password (SIT stands)")
    gis_connect_timeout: float = Field(10.0, description="seconds to open a connection to GIS")
    gis_read_timeout: float = Field(180.0, description="seconds to wait for a GIS answer (60 s is too short)")
    gis_max_response_bytes: int = Field(64 * 1024 * 1024, description="larger GIS answers are refused")
    gis_poll_schedule: list[float] = Field(
        default_factory=lambda: [10.0, 60.0, 300.0, 900.0, 1800.0],
        description="seconds between getState polls; the last value repeats (official 10/60/300/900/1800)",
    )
    gis_give_up_after: float = Field(86400.0, description="seconds after which a pending exchange fails")
    gis_retry_max_attempts: int = Field(
        6, description="attempts for one message (transport and retryable codes)"
    )
    gis_retry_max_seconds: float = Field(900.0, description="total seconds spent retrying one message")
    gis_retry_initial_delay: float = Field(
        1.0, description="first back-off delay in seconds (exponential, jitter)"
    )
    gis_retry_max_delay: float = Field(120.0, description="largest back-off delay in seconds")
    gis_maintenance_delay: float = Field(900.0, description="back-off after INT002029 (maintenance)")
    gis_verify_responses: VerifyMode = Field(
        "log", description="check GIS signatures on getStateResult: off, log (warn) or reject"
    )
    gis_versions: dict[str, str] = Field(
        default_factory=dict,
        description='per-operation base:version overrides, JSON, e.g. {"exportDebtSubrequests": "15.3.0.0"}',
    )
    gis_retryable_codes: list[str] = Field(
        default_factory=lambda: ["EXP001000", "EXP002001", "EXP002002", "EXP002003", "INT002018"],
        description="GIS error codes answered by rebuilding and resending the message",
    )
    gis_issuer_style: Literal["rfc4514", "der"] = Field(
        "rfc4514", description="X509IssuerName format in signatures (GIS server style or DER order)"
    )
    workers_enabled: bool = Field(True, description="run the exchange and fetch workers inside `gisgw serve`")
    worker_poll_interval: float = Field(0.5, description="seconds between scans for due exchanges")

    # --- signing ---
    crypto_backend: Literal["auto", "openssl", "python"] = Field(
        "auto", description="GOST backend: OpenSSL gost engine (fast) or pure Python (gostcrypto)"
    )
    signing_key_path: Path | None = Field(None, description="PEM PKCS#8 GOST 2012-256 key of the IS")
    signing_cert_path: Path | None = Field(None, description="PEM certificate matching the key")
    remote_signer_url: str | None = Field(None, description="remote signing service (token/HSM), see docs")
    remote_signer_token: SecretStr | None = Field(None, description="bearer token for the remote signer")

    # --- journal ---
    journal_max_bytes: int = Field(2 * 1024 * 1024, description="XML kept per journal entry (rest truncated)")
    journal_retention_days: int = Field(365, description="days the exchange journal is kept")

    # --- embedded GIS stand ---
    stand_enabled: bool = Field(False, description="`gisgw serve` also starts the GIS stand (make run does)")
    stand_host: str = Field("127.0.0.1", description="address the stand binds")
    stand_port: int = Field(8081, description="port the stand binds")
    stand_database_url: str = Field(
        "sqlite+aiosqlite:///./var/stand.db", description="the stand's own database"
    )

    # --- business rules ---
    calendar_overrides: dict[date, bool] = Field(
        default_factory=dict,
        description='production-calendar overrides, JSON {"2027-01-02": true} (true = working day)',
    )
    fetch_interval_seconds: float = Field(
        3600.0, description="scheduled fetch of debt subrequests per organisation (0 = off)"
    )

    # --- access ---
    demo_key: SecretStr | None = Field(None, description="development only: a fixed demo API key to seed")
    metrics_token: SecretStr | None = Field(None, description="bearer token /metrics requires (unset: open)")

    @field_validator("schema_dir")
    @classmethod
    def _resolve_schema_dir(cls, value: Path) -> Path:
        return value if value.is_absolute() else (REPO_ROOT / value).resolve()

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env != "production":
            return self
        secrets: dict[str, Any] = {
            "GISGW_GIS_BASIC_PASSWORD": self.gis_basic_password,
            "GISGW_REMOTE_SIGNER_TOKEN": self.remote_signer_token,
        }
        for name, secret in secrets.items():
            if secret is not None and secret.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ValueError(f"{name} holds a placeholder value; set a real secret in production")
        if self.demo_key is not None:
            raise ValueError("GISGW_DEMO_KEY is for development only")
        if self.database_url.startswith("sqlite") and ":memory:" in self.database_url:
            raise ValueError(
                "GISGW_DATABASE_URL: an in-memory database loses data; not allowed in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        """Whether the gateway database is SQLite."""
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings read from the environment."""
    return Settings()
