"""Gateway settings: every knob is a `GISGW_*` environment variable (or a `.env` line).

README.md lists them as a table; keep that table in step with this module.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
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
    database_pool_pre_ping: bool = Field(
        False,
        description="test a pooled PostgreSQL connection with a round trip before every checkout "
        "(off: a connection killed by a database restart fails one request, then is replaced)",
    )
    accounts_search_fast_path: bool = Field(
        True,
        description="answer valid account searches without FastAPI's routing and dependency machinery "
        "(same responses; off: every search goes through the route)",
    )
    gc_tuning: bool = Field(
        True,
        description="freeze the objects built at startup and collect young garbage less often "
        "(shorter request latency tails; turned off by the test suite)",
    )

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
    gis_validate_responses: VerifyMode = Field(
        "log", description="check finished getStateResult bodies against the XSD: off, log (warn) or reject"
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
    stand_state_delays: list[float] = Field(
        default_factory=lambda: [1.0, 2.0],
        description="stand: seconds in RequestState 1, then in 2, before a result is made (0,0: at once)",
    )
    stand_trust_any_signature: bool = Field(
        False, description="stand: accept any valid signature, registering unknown organisations on the fly"
    )
    stand_key_path: Path | None = Field(
        None, description="stand: PEM key signing getStateResult (else generated)"
    )
    stand_cert_path: Path | None = Field(None, description="stand: PEM certificate of that key")
    stand_fault_exp001000: float = Field(
        0.0, description="stand: share of SOAP calls answered with EXP001000"
    )
    stand_fault_http503: float = Field(0.0, description="stand: share of calls answered with HTTP 503")
    stand_fault_drop: float = Field(0.0, description="stand: share of calls whose connection is dropped")
    stand_fault_slow: float = Field(0.0, description="stand: share of calls answered slowly")
    stand_fault_slow_seconds: float = Field(2.0, description="stand: delay of a slow answer in seconds")
    stand_fault_stuck: float = Field(0.0, description="stand: share of messages stuck in RequestState 2")
    stand_fault_seed: int = Field(0, description="stand: random seed of fault injection (deterministic runs)")

    # --- business rules ---
    calendar_overrides: dict[date, bool] = Field(
        default_factory=dict,
        description='production-calendar overrides, JSON {"2027-01-02": true} (true = working day)',
    )
    fetch_interval_seconds: float = Field(
        3600.0, description="scheduled fetch of debt subrequests per organisation (0 = off)"
    )

    # --- court orders (domain-rules §3-§7; every [U] item is a setting) ---
    court_experiment_start: date = Field(
        date(2025, 7, 1), description="first day of the 2025-2026 court-order experiment"
    )
    court_experiment_end: date = Field(
        date(2026, 6, 30), description="last day of the 2025-2026 court-order experiment"
    )
    court_pilot_regions: list[str] = Field(
        default_factory=list,
        description='pilot region codes of the experiment (list not published), JSON ["16","52"]',
    )
    court_participant_thresholds: dict[str, int] = Field(
        default_factory=lambda: {
            "management_company": 20_000,
            "resource_supplier": 100_000,
            "waste_operator": 100_000,
            "capital_repair_operator": 100_000,
            "settlement_centre": 200_000,
        },
        description="experiment: minimum residential premises in GIS in any month of the year, by org type",
    )
    court_premises_year: int = Field(
        2025, description="experiment: year whose monthly premises maximum counts"
    )
    court_capabilities: list[str] = Field(
        default_factory=lambda: ["readiness", "packages", "cases", "registry"],
        description="court-collection capabilities switched on (readiness, packages, cases, registry)",
    )
    court_min_claim_enabled: bool = Field(
        False, description='experiment: only debts over court_min_claim ("over 20,000 ₽", one report)'
    )
    court_min_claim: Decimal = Field(Decimal("20000"), description="experiment: minimum claim when enabled")
    court_claim_limit: Decimal = Field(Decimal("500000"), description="court-order claim limit, ГПК ст. 121")
    court_claim_limit_includes_penalties: bool = Field(
        True, description="whether penalties count towards the 500,000 ₽ limit"
    )
    court_objection_mode: Literal["working", "calendar"] = Field(
        "working", description="objection term (ГПК ст. 128): 10 working or calendar days"
    )
    court_objection_days: int = Field(10, description="objection term in days (ГПК ст. 128)")
    court_penalty_cap_rate: Decimal = Field(Decimal("0.095"), description="key-rate cap for penalties")
    court_penalty_cap_periods: list[tuple[date, date]] = Field(
        default_factory=lambda: [
            (date(2022, 2, 28), date(2022, 12, 31)),
            (date(2023, 1, 1), date(2024, 12, 31)),
            (date(2025, 1, 1), date(2026, 12, 31)),
        ],
        description='periods the cap applies, JSON [["2025-01-01","2026-12-31"]] (last day inclusive)',
    )
    court_key_rate: Decimal | None = Field(
        None, description="key rate on the calculation day as a fraction (unset: the cap rate)"
    )
    court_moratoria: list[dict[str, date | None]] = Field(
        default_factory=lambda: [  # type: ignore[arg-type]
            {"start": date(2020, 4, 6), "end": date(2021, 1, 1), "debts_before": None},
            {"start": date(2022, 4, 1), "end": date(2022, 10, 1), "debts_before": date(2022, 4, 1)},
        ],
        description='penalty moratoria, JSON [{"start":..,"end":..,"debts_before":..|null}]',
    )
    court_moratorium_end_inclusive: bool = Field(
        True, description="whether a moratorium's end date is itself penalty-free"
    )
    court_feb_2026_due_day: int = Field(
        10, description="due day in March 2026 of February 2026 bills (10 or 15)"
    )
    court_duty_effective_date: date = Field(
        date(2024, 9, 9), description="first filing day of the 259-ФЗ state-duty bands"
    )
    court_duty_rounding: Literal["rouble", "kopeck"] = Field("rouble", description="state-duty rounding")
    court_bankruptcy_mode: Literal["block", "warn"] = Field(
        "block", description="a bankruptcy flag blocks the court order (block) or only warns (warn)"
    )
    court_courts_file: Path | None = Field(
        None, description="JSON file: address → magistrate's court table (see docs/court-orders.md)"
    )
    court_courts: list[dict[str, Any]] = Field(
        default_factory=list, description="inline address → magistrate's court table (same shape as the file)"
    )
    court_readiness_inline_limit: int = Field(
        1000, description="readiness for at most this many accounts is answered inline; more: an operation"
    )
    court_readiness_chunk: int = Field(2000, description="accounts loaded per query by readiness runs")
    court_file_store_context: str = Field(
        "debtreq", description="file-store context for court-act files (not documented for debts)"
    )

    # --- accounts registry ---
    upload_dir: Path = Field(
        Path("var/uploads"), description="folder where uploads wait for their operation (shared by workers)"
    )
    accounts_import_max_bytes: int = Field(
        4 * 1024**3, description="largest accounts import file accepted, in bytes"
    )

    # --- debt requests (domain-rules §1-§2) ---
    debt_fetch_initial_days: int = Field(
        180,
        description="first fetch of an organisation looks this many days back (later fetches: incremental)",
    )
    debt_fetch_overlap_days: int = Field(
        2, description="incremental fetches start this many days before the last fetched day (late arrivals)"
    )
    debt_fetch_only_unanswered: bool = Field(
        False, description="scheduled fetches ask only for unanswered subrequests (responseStatus NotSent)"
    )
    debt_match_scope: Literal["organisation", "address"] = Field(
        "organisation",
        description="match subrequests to the answering organisation's accounts or to any at the address",
    )
    debt_match_exact_only: bool = Field(
        False, description="accept only exact premises matches; others are left for manual review"
    )
    debt_prefill: bool = Field(
        True, description="matching drafts answers from court-confirmed debts of the matched accounts"
    )
    debt_agreement_answer: Literal["no_debt", "debt"] = Field(
        "no_debt", description="answer for a debtor complying with a repayment agreement (unconfirmed rule)"
    )
    debt_revoke_after_deadline: bool = Field(
        False, description="allow revoking a sent answer after its responseDate (GIS behaviour unconfirmed)"
    )
    debt_send_batch_size: int = Field(
        100, ge=1, le=100, description="answers per importDSRResponses message (GIS allows at most 100)"
    )
    debt_send_wait_seconds: float = Field(
        900.0,
        description="how long a send operation waits for GIS results before reporting (results still apply)",
    )
    debt_document_max_bytes: int = Field(
        50 * 1024 * 1024, description="largest answer document accepted, in bytes"
    )
    debt_nsi95: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="NSI 95 identity-document types added to those loaded from GIS "
        '(nsi-common exportNsiItem), JSON {"code": {"guid": .., "name": ..}}',
    )
    debt_nsi358: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="NSI 358 document types added to those loaded from GIS (nsi-common exportNsiItem), "
        'JSON {"code": {"guid": .., "name": ..}}',
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
