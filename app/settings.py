"""Gateway settings: every knob is a `GISGW_*` environment variable (or a `.env` line).

Settings come in groups (`settings.gis.base_url`, `settings.court.claim_limit`, ...) while the variables keep
their flat names (`GISGW_GIS_BASE_URL`, `GISGW_COURT_CLAIM_LIMIT`): a group's field `x` is read from
`GISGW_<group prefix>X`, or from the variable its `validation_alias` names. Adding a setting is one field line
in its group. README.md lists the variables as a table with the field each fills; keep it in step.

Long (about 700 lines) because it is one declarative table: every setting with its description, grouped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

log = logging.getLogger(__name__)

Environment = Literal["development", "test", "production"]
VerifyMode = Literal["off", "log", "reject"]

#: Repository root: `../shared/...` defaults are relative to it, not to the working directory.
REPO_ROOT = Path(__file__).resolve().parents[1]

_PREFIX = "GISGW_"
_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "example", "todo"}


class Group(BaseModel):
    """A settings group: field `x` is read from `GISGW_<env_prefix>X` or the variable its alias names."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, validate_default=True)

    env_prefix: ClassVar[str] = ""

    @classmethod
    def variable(cls, name: str) -> str:
        """Return the environment variable field `name` is read from."""
        alias = cls.model_fields[name].validation_alias
        return alias if isinstance(alias, str) else f"{_PREFIX}{cls.env_prefix}{name.upper()}"


def _group_of(field: FieldInfo) -> type[Group] | None:
    annotation = field.annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, Group) else None


class _GroupedEnv(PydanticBaseSettingsSource):
    """Fill the groups from flat variables, reusing pydantic-settings' env or `.env` source for parsing.

    pydantic-settings reads nested models only from `GISGW_GIS__BASE_URL`-style names; the variables are a
    published interface, so each group field is looked up under its own flat name instead.
    """

    def __init__(self, flat: EnvSettingsSource) -> None:
        super().__init__(flat.settings_cls)
        self.flat = flat

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002
        """Unused: `__call__` reads whole groups."""
        return None, field_name, False

    def _read(self, group: type[Group]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in group.model_fields.items():
            inner = _group_of(field)
            if inner is not None:
                if nested := self._read(inner):
                    values[name] = nested
                continue
            variable = group.variable(name)
            raw = self.flat.env_vars.get(variable if self.flat.case_sensitive else variable.lower())
            if raw is not None:
                try:
                    values[name] = self.flat.prepare_field_value(name, field, raw, False)
                except ValueError as exc:  # bad JSON: name the variable, as pydantic-settings names a field
                    raise SettingsError(f"error parsing {variable}: {exc}") from exc
        return values

    def __call__(self) -> dict[str, Any]:
        data = self.flat()
        for name, field in self.settings_cls.model_fields.items():
            group = _group_of(field)
            if group is not None and (values := self._read(group)):
                data[name] = values
        return data


class ServerSettings(Group):
    """Settings of where `gisgw serve` listens and how its process is tuned."""

    env_prefix: ClassVar[str] = ""

    host: str = Field("127.0.0.1", description="address `gisgw serve` binds")
    port: int = Field(8000, description="port `gisgw serve` binds")
    gc_tuning: bool = Field(
        True,
        description="freeze the objects built at startup and collect young garbage less often "
        "(shorter request latency tails; turned off by the test suite)",
    )
    json_body_max_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="largest JSON or form body a route reads (413 past it); uploads have their own caps",
    )
    operations_max_pending_per_key: int = Field(
        100, ge=0, description="operations one API key may have waiting (429 past it; 0: no cap)"
    )
    operations_max_pending_per_organisation: int = Field(
        200, ge=0, description="operations one organisation may have waiting (429 past it; 0: no cap)"
    )
    write_rate_per_minute: int = Field(
        600, ge=0, description="changing requests (POST, PUT, PATCH, DELETE) per API key and minute (0: off)"
    )
    write_burst: int = Field(
        60, ge=1, description="changing requests a key may make at once before the rate applies"
    )


class LogSettings(Group):
    """Settings of logging."""

    env_prefix: ClassVar[str] = "LOG_"

    level: str = Field("INFO", description="root log level")
    json_logs: bool = Field(
        True,
        validation_alias="GISGW_LOG_JSON",
        description="structured JSON logs (false: plain text for humans)",
    )


class DatabaseSettings(Group):
    """Settings of the gateway's database."""

    env_prefix: ClassVar[str] = "DATABASE_"

    url: str = Field(
        "sqlite+aiosqlite:///./var/gisgw.db",
        description="SQLAlchemy async URL; PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )
    echo: bool = Field(False, description="log every SQL statement (development only)")
    pool_pre_ping: bool = Field(
        False,
        description="test a pooled PostgreSQL connection with a round trip before every checkout "
        "(off: a connection killed by a database restart fails one request, then is replaced)",
    )


class GisSettings(Group):
    """Settings of GIS ZhKKh: the format package, the connection, polling and retries."""

    env_prefix: ClassVar[str] = "GIS_"

    schema_dir: Path = Field(
        Path("../shared/gis-schemas/16.3.0.0"),
        validation_alias="GISGW_SCHEMA_DIR",
        description="official GIS ZhKKh format package (WSDL/XSD); relative to the repository root",
    )
    base_url: str = Field(
        "http://127.0.0.1:8081",
        description="GIS base URL: production, SIT-01/02, a local GOST TLS tunnel or the stand",
    )
    host_header: str | None = Field(None, description="Host header to send (behind a stunnel sidecar)")
    tls: Literal["gost", "standard", "off"] | None = Field(
        None,
        description="TLS to GIS: gost (GOST suites through the OpenSSL gost engine, client certificate), "
        "standard (ordinary TLS), off (plain HTTP); unset: gost for https URLs, off for http",
    )
    tls_cert_path: Path | None = Field(
        None, description="PEM client certificate for TLS to GIS (unset: GISGW_SIGNING_CERT_PATH)"
    )
    tls_key_path: Path | None = Field(
        None, description="PEM PKCS#8 key of the TLS client certificate (unset: GISGW_SIGNING_KEY_PATH)"
    )
    tls_ca_file: Path | None = Field(
        None, description="PEM chain the GIS server certificate must chain to (unset: not verified, warned)"
    )
    basic_user: str | None = Field(None, description="HTTP Basic user (SIT stands)")
    basic_password: SecretStr | None = Field(None, description="HTTP Basic password (SIT stands)")
    connect_timeout: float = Field(10.0, description="seconds to open a connection to GIS")
    read_timeout: float = Field(180.0, description="seconds to wait for a GIS answer (60 s is too short)")
    max_response_bytes: int = Field(64 * 1024 * 1024, description="larger GIS answers are refused")
    poll_schedule: list[float] = Field(
        default_factory=lambda: [10.0, 60.0, 300.0, 900.0, 1800.0],
        description="seconds between getState polls; the last value repeats (official 10/60/300/900/1800)",
    )
    give_up_after: float = Field(86400.0, description="seconds after which a pending exchange fails")
    retry_max_attempts: int = Field(
        0,
        ge=0,
        description="attempts for one message (transport and retryable codes); 0: no count limit, "
        "retrying ends after retry_max_seconds of back-off",
    )
    retry_max_seconds: float = Field(900.0, description="total seconds spent retrying one message")
    retry_initial_delay: float = Field(
        1.0, description="first back-off delay in seconds (exponential, jitter)"
    )
    retry_max_delay: float = Field(120.0, description="largest back-off delay in seconds")
    maintenance_delay: float = Field(900.0, description="back-off after INT002029 (maintenance)")
    verify_responses: VerifyMode = Field(
        "log", description="check GIS signatures on getStateResult: off, log (warn) or reject"
    )
    validate_responses: VerifyMode = Field(
        "log", description="check finished getStateResult bodies against the XSD: off, log (warn) or reject"
    )
    versions: dict[str, str] = Field(
        default_factory=dict,
        description='per-operation base:version overrides, JSON, e.g. {"exportDebtSubrequests": "15.3.0.0"}',
    )
    retryable_codes: list[str] = Field(
        default_factory=lambda: ["EXP001000", "EXP002001", "EXP002002", "EXP002003", "INT002018"],
        description="GIS error codes answered by rebuilding and resending the message",
    )
    issuer_style: Literal["rfc4514", "der"] = Field(
        "rfc4514", description="X509IssuerName format in signatures (GIS server style or DER order)"
    )

    @field_validator("schema_dir")
    @classmethod
    def _resolve_schema_dir(cls, value: Path) -> Path:
        return value if value.is_absolute() else (REPO_ROOT / value).resolve()


class SigningSettings(Group):
    """Settings of signing messages: the GOST backend, a local key or a remote signer."""

    env_prefix: ClassVar[str] = "SIGNING_"

    crypto_backend: Literal["auto", "openssl", "python"] = Field(
        "auto",
        validation_alias="GISGW_CRYPTO_BACKEND",
        description="GOST backend: OpenSSL gost engine (fast) or pure Python (gostcrypto)",
    )
    key_path: Path | None = Field(None, description="PEM PKCS#8 GOST 2012-256 key of the IS")
    cert_path: Path | None = Field(None, description="PEM certificate matching the key")
    remote_signer_url: str | None = Field(
        None,
        validation_alias="GISGW_REMOTE_SIGNER_URL",
        description="remote signing service (token/HSM), see docs",
    )
    remote_signer_token: SecretStr | None = Field(
        None, validation_alias="GISGW_REMOTE_SIGNER_TOKEN", description="bearer token for the remote signer"
    )


class WorkersSettings(Group):
    """Settings of background workers inside `gisgw serve`."""

    env_prefix: ClassVar[str] = "WORKERS_"

    enabled: bool = Field(True, description="run the exchange and fetch workers inside `gisgw serve`")
    poll_interval: float = Field(
        0.5,
        validation_alias="GISGW_WORKER_POLL_INTERVAL",
        description="seconds between scans for due exchanges",
    )


class JournalSettings(Group):
    """Settings of the exchange journal."""

    env_prefix: ClassVar[str] = "JOURNAL_"

    max_bytes: int = Field(2 * 1024 * 1024, description="XML kept per journal entry (rest truncated)")
    retention_days: int = Field(365, description="days the exchange journal is kept")


class StandFaultSettings(Group):
    """Settings of fault injection of the stand."""

    env_prefix: ClassVar[str] = "STAND_FAULT_"

    exp001000: float = Field(0.0, description="stand: share of SOAP calls answered with EXP001000")
    http503: float = Field(0.0, description="stand: share of calls answered with HTTP 503")
    drop: float = Field(0.0, description="stand: share of calls whose connection is dropped")
    slow: float = Field(0.0, description="stand: share of calls answered slowly")
    slow_seconds: float = Field(2.0, description="stand: delay of a slow answer in seconds")
    stuck: float = Field(0.0, description="stand: share of messages stuck in RequestState 2")
    seed: int = Field(0, description="stand: random seed of fault injection (deterministic runs)")


class StandSettings(Group):
    """Settings of the embedded GIS stand."""

    env_prefix: ClassVar[str] = "STAND_"

    enabled: bool = Field(False, description="`gisgw serve` also starts the GIS stand (make run does)")
    host: str = Field("127.0.0.1", description="address the stand binds")
    port: int = Field(8081, description="port the stand binds")
    database_url: str = Field("sqlite+aiosqlite:///./var/stand.db", description="the stand's own database")
    state_delays: list[float] = Field(
        default_factory=lambda: [1.0, 2.0],
        description="stand: seconds in RequestState 1, then in 2, before a result is made (0,0: at once)",
    )
    trust_any_signature: bool = Field(
        False, description="stand: accept any valid signature, registering unknown organisations on the fly"
    )
    key_path: Path | None = Field(None, description="stand: PEM key signing getStateResult (else generated)")
    cert_path: Path | None = Field(None, description="stand: PEM certificate of that key")
    tls: bool = Field(
        False, description="stand: serve GOST TLS and require a registered client certificate, like GIS"
    )
    tls_cert_path: Path | None = Field(
        None, description="stand: PEM GOST server certificate for TLS (generated when unset)"
    )
    tls_key_path: Path | None = Field(None, description="stand: PEM key of the TLS server certificate")
    faults: StandFaultSettings = Field(default_factory=StandFaultSettings)


class CalendarSettings(Group):
    """Settings of the production calendar."""

    env_prefix: ClassVar[str] = "CALENDAR_"

    overrides: dict[date, bool] = Field(
        default_factory=dict,
        description='production-calendar overrides, JSON {"2027-01-02": true} (true = working day)',
    )


class DebtSettings(Group):
    """Settings of debt requests (domain-rules §1-§2)."""

    env_prefix: ClassVar[str] = "DEBT_"

    fetch_interval_seconds: float = Field(
        3600.0,
        validation_alias="GISGW_FETCH_INTERVAL_SECONDS",
        description="scheduled fetch of debt subrequests per organisation (0 = off)",
    )
    fetch_initial_days: int = Field(
        180,
        description="first fetch of an organisation looks this many days back (later fetches: incremental)",
    )
    fetch_overlap_days: int = Field(
        2, description="incremental fetches start this many days before the last fetched day (late arrivals)"
    )
    fetch_daily_windows: int = Field(
        10,
        ge=0,
        le=180,
        description="the most recent days fetched one window a day, as parallel page chains (older days: "
        "windows of up to 6 months; 0: no daily windows)",
    )
    fetch_concurrency: int = Field(8, ge=1, le=64, description="fetch windows in flight at once")
    fetch_only_unanswered: bool = Field(
        False, description="scheduled fetches ask only for unanswered subrequests (responseStatus NotSent)"
    )
    match_scope: Literal["organisation", "address"] = Field(
        "organisation",
        description="match subrequests to the answering organisation's accounts or to any at the address",
    )
    match_exact_only: bool = Field(
        False, description="accept only exact premises matches; others are left for manual review"
    )
    prefill: bool = Field(
        True, description="matching drafts answers from court-confirmed debts of the matched accounts"
    )
    agreement_answer: Literal["no_debt", "debt"] = Field(
        "no_debt", description="answer for a debtor complying with a repayment agreement (unconfirmed rule)"
    )
    revoke_after_deadline: bool = Field(
        False, description="allow revoking a sent answer after its responseDate (GIS behaviour unconfirmed)"
    )
    send_batch_size: int = Field(
        100, ge=1, le=100, description="answers per importDSRResponses message (GIS allows at most 100)"
    )
    send_wait_seconds: float = Field(
        900.0,
        description="how long a send operation waits for GIS results before reporting (results still apply)",
    )
    document_max_bytes: int = Field(
        50 * 1024 * 1024, description="largest answer document accepted, in bytes"
    )
    nsi95: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="NSI 95 identity-document types added to those loaded from GIS "
        '(nsi-common exportNsiItem), JSON {"code": {"guid": .., "name": ..}}',
    )
    nsi358: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="NSI 358 document types added to those loaded from GIS (nsi-common exportNsiItem), "
        'JSON {"code": {"guid": .., "name": ..}}',
    )


class CourtSettings(Group):
    """Settings of court orders (domain-rules §3-§7; every [U] item is a setting)."""

    env_prefix: ClassVar[str] = "COURT_"

    experiment_start: date = Field(
        date(2025, 7, 1), description="first day of the 2025-2026 court-order experiment"
    )
    experiment_end: date = Field(
        date(2026, 6, 30), description="last day of the 2025-2026 court-order experiment"
    )
    pilot_regions: list[str] = Field(
        default_factory=list,
        description='pilot region codes of the experiment (list not published), JSON ["16","52"]',
    )
    participant_thresholds: dict[str, int] = Field(
        default_factory=lambda: {
            "management_company": 20_000,
            "resource_supplier": 100_000,
            "waste_operator": 100_000,
            "capital_repair_operator": 100_000,
            "settlement_centre": 200_000,
        },
        description="experiment: minimum residential premises in GIS in any month of the year, by org type",
    )
    premises_year: int = Field(2025, description="experiment: year whose monthly premises maximum counts")
    premises_count_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="GIS exchanges a premises count (court-premises-count) runs at once",
    )
    capabilities: list[str] = Field(
        default_factory=lambda: ["readiness", "packages", "cases", "registry"],
        description="court-collection capabilities switched on (readiness, packages, cases, registry)",
    )
    min_claim_enabled: bool = Field(
        False, description='experiment: only debts over min_claim ("over 20,000 ₽", one report)'
    )
    min_claim: Decimal = Field(Decimal("20000"), description="experiment: minimum claim when enabled")
    claim_limit: Decimal = Field(Decimal("500000"), description="court-order claim limit, ГПК ст. 121")
    claim_limit_includes_penalties: bool = Field(
        True, description="whether penalties count towards the 500,000 ₽ limit"
    )
    objection_mode: Literal["working", "calendar"] = Field(
        "working", description="objection term (ГПК ст. 128): 10 working or calendar days"
    )
    objection_days: int = Field(10, description="objection term in days (ГПК ст. 128)")
    penalty_cap_rate: Decimal = Field(Decimal("0.095"), description="key-rate cap for penalties")
    penalty_cap_periods: list[tuple[date, date]] = Field(
        default_factory=lambda: [
            (date(2022, 2, 28), date(2022, 12, 31)),
            (date(2023, 1, 1), date(2024, 12, 31)),
            (date(2025, 1, 1), date(2026, 12, 31)),
        ],
        description='periods the cap applies, JSON [["2025-01-01","2026-12-31"]] (last day inclusive)',
    )
    key_rate: Decimal | None = Field(
        None, description="key rate on the calculation day as a fraction (unset: the cap rate)"
    )
    moratoria: list[dict[str, date | None]] = Field(
        default_factory=lambda: [  # type: ignore[arg-type]
            {"start": date(2020, 4, 6), "end": date(2021, 1, 1), "debts_before": None},
            {"start": date(2022, 4, 1), "end": date(2022, 10, 1), "debts_before": date(2022, 4, 1)},
        ],
        description='penalty moratoria, JSON [{"start":..,"end":..,"debts_before":..|null}]',
    )
    moratorium_end_inclusive: bool = Field(
        True, description="whether a moratorium's end date is itself penalty-free"
    )
    feb_2026_due_day: int = Field(10, description="due day in March 2026 of February 2026 bills (10 or 15)")
    duty_effective_date: date = Field(
        date(2024, 9, 9), description="first filing day of the 259-ФЗ state-duty bands"
    )
    duty_rounding: Literal["rouble", "kopeck"] = Field("rouble", description="state-duty rounding")
    bankruptcy_mode: Literal["block", "warn"] = Field(
        "block", description="a bankruptcy flag blocks the court order (block) or only warns (warn)"
    )
    courts_file: Path | None = Field(
        None, description="JSON file: address → magistrate's court table (see docs/court-orders.md)"
    )
    courts: list[dict[str, Any]] = Field(
        default_factory=list, description="inline address → magistrate's court table (same shape as the file)"
    )
    readiness_inline_limit: int = Field(
        1000, description="readiness for at most this many accounts is answered inline; more: an operation"
    )
    readiness_chunk: int = Field(2000, description="accounts loaded per query by readiness runs")
    readiness_require_notice_delivered: bool = Field(
        False,
        description="court readiness blocks a debtor without a delivered pre-court notice (delivery journal) "
        "and applications cite the delivered notice (domain-rules §12: not required by law)",
    )
    file_store_context: str = Field(
        "debtreq", description="file-store context for court-act files (not documented for debts)"
    )
    registry_auto: bool = Field(
        False,
        description="close the registry loop by itself: an order in force is placed in GIS's registry, "
        "payments covering it record the repayment, a cancelled order annuls it",
    )
    annulment_reason_code: str | None = Field(
        None, description="NSI 365 reason code sent when a cancelled order annuls its debt automatically"
    )
    annulment_reason_guid: str | None = Field(
        None, description="NSI 365 reason GUID sent with annulment_reason_code"
    )
    writeoff_reason_code: str | None = Field(
        None,
        description="NSI 365 reason code sent when a posted write-off act annuls a court-confirmed debt it "
        "writes off whole (unset: the debt is edited with a note and must be annulled by hand)",
    )
    writeoff_reason_guid: str | None = Field(
        None, description="NSI 365 reason GUID sent with writeoff_reason_code"
    )
    document_table_font: Path = Field(
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
        description="monospaced Cyrillic TTF font of the tables in court documents (the debt calculation)",
    )
    packages_dir: Path = Field(
        Path("var/court-packages"),
        description="folder of the court-package exports' ZIPs (shared by workers)",
    )
    package_processes: int = Field(
        2,
        ge=0,
        le=32,
        description="worker processes rendering PDFs of a large package export (0: in process)",
    )


class AccountsSettings(Group):
    """Settings of the accounts registry."""

    env_prefix: ClassVar[str] = "ACCOUNTS_"

    search_fast_path: bool = Field(
        True,
        description="answer valid account searches without FastAPI's routing and dependency machinery "
        "(same responses; off: every search goes through the route)",
    )
    search_pool_size: int = Field(
        20,
        ge=0,
        description="PostgreSQL connections per process of the search fast path's own asyncpg pool, opened "
        "on demand beside the engine's pool (0: the fast path reads through the engine's pool)",
    )
    import_max_bytes: int = Field(4 * 1024**3, description="largest accounts import file accepted, in bytes")
    upload_dir: Path = Field(
        Path("var/uploads"),
        validation_alias="GISGW_UPLOAD_DIR",
        description="folder where uploads wait for their operation (shared by workers)",
    )


class WebhookTarget(BaseModel):
    """A change-feed subscriber: where to POST and the shared secret of the HMAC-SHA256 signature."""

    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: SecretStr = Field(min_length=16)


class HousesSettings(Group):
    """Settings of the GIS house data (app/domain/houses, docs/houses.md)."""

    env_prefix: ClassVar[str] = "HOUSES_"

    sync_concurrency: int = Field(
        4, ge=1, le=64, description="houses a house-data sync exports from GIS at the same time"
    )
    sync_interval_seconds: float = Field(
        0,
        ge=0,
        description="queue an incremental house-data sync of the current month for every organisation this "
        "often (0 = off; a sync skips houses already synced that month)",
    )
    area_tolerance: Decimal = Field(
        Decimal("1.0"),
        ge=0,
        description="m²: a premises area in GIS that differs from the area placed with its accounts by more "
        "counts in the data-quality figures",
    )
    webhooks: dict[str, list[WebhookTarget]] = Field(
        default_factory=dict,
        description="change-feed subscribers per organisation id, "
        'JSON {"<org id>": [{"url": .., "secret": ..}]}',
    )
    webhook_timeout: float = Field(10.0, gt=0, description="seconds a webhook receiver has to answer")
    webhook_max_attempts: int = Field(
        12, ge=1, description="attempts per event and URL before its delivery is marked failed"
    )
    webhook_retry_initial: float = Field(
        5.0, ge=0, description="seconds before the first retry; doubles on every further failure"
    )
    webhook_retry_max: float = Field(3600.0, ge=0, description="longest wait between two attempts")


class AgreementsSettings(Group):
    """Settings of repayment agreements."""

    env_prefix: ClassVar[str] = "AGREEMENTS_"

    breach_days: int = Field(
        10, ge=0, description="an instalment unpaid this many days after its date breaches the agreement"
    )
    refresh_interval_seconds: float = Field(
        3600, ge=0, description="seconds between matching ledger payments to instalments (0 = off)"
    )
    import_poll_seconds: float = Field(
        10,
        ge=0,
        description="seconds between looks for finished accounts imports, whose organisations' agreements "
        "are then matched at once (0 = off: only the interval's matching)",
    )


class MonitoringSettings(Group):
    """Settings of debt monitoring and the municipal report (domain-rules §11)."""

    env_prefix: ClassVar[str] = "MONITORING_"

    debtor_min: Decimal = Field(
        Decimal("0.01"), description="an account is a debtor when its overdue debt at month end exceeds this"
    )
    top_debtors: int = Field(20, ge=0, le=1000, description="largest debts kept in a snapshot")
    inline_limit: int = Field(
        5000, ge=0, description="snapshots of organisations up to this many accounts are computed at once"
    )
    notice_font: Path = Field(
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        description="TTF font with Cyrillic for notices",
    )
    notice_bold_font: Path = Field(
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"), description="bold TTF font for notices"
    )
    smtp_host: str | None = Field(None, description="SMTP server that sends notices by e-mail (unset: off)")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port")
    smtp_user: str | None = Field(None, description="SMTP login")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    smtp_from: str = Field("gisgw@localhost", description="sender address of notice e-mails")
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")
    smtp_timeout: float = Field(30, gt=0, description="seconds for one SMTP exchange")
    restriction_charge_method: Literal["average", "standard"] = Field(
        "average",
        description="monthly charge of the restriction rule: average of the last months (an approximation) "
        "or the standard consumption × tariff billing sends per account",
    )
    restriction_average_months: int = Field(
        6, ge=1, le=36, description="months averaged by the average method"
    )
    restriction_suspension_notice_days: int = Field(
        3, ge=0, le=60, description="days the suspension notice is delivered before suspension"
    )
    gis_batch_size: int = Field(
        100, ge=1, le=100, description="notices per importNotificationData message (the XSD allows 100)"
    )
    gis_wait_seconds: float = Field(
        900, gt=0, description="seconds a GIS notice operation waits for GIS's results before it reports"
    )
    gis_delivered_on_placement: bool = Field(
        True,
        description="a notice placed in the consumer's GIS account counts as delivered on the placement date "
        "(ПП 354 п. 119 а; whether GIS proves the reading is [U]); false: only a recorded delivery counts",
    )
    notice_inline_limit: int = Field(
        5000,
        ge=0,
        description="notice runs over organisations up to this many accounts are computed in the request; "
        "larger: an operation (202)",
    )
    notice_chunk: int = Field(
        2000, ge=1, le=100_000, description="accounts a notice run processes and commits per step"
    )
    notice_sms_max_length: int = Field(
        134,
        ge=1,
        le=1000,
        description="characters of a notice SMS with its placeholders at their longest (134: two Cyrillic "
        "segments)",
    )


class MetricsSettings(Group):
    """Settings of Prometheus metrics."""

    env_prefix: ClassVar[str] = "METRICS_"

    token: SecretStr | None = Field(None, description="bearer token /metrics requires (unset: open)")


class DemoSettings(Group):
    """Settings of the `make run` demo."""

    env_prefix: ClassVar[str] = "DEMO_"

    key: SecretStr | None = Field(None, description="development only: a fixed demo API key to seed")


class DashboardSettings(Group):
    """Settings of the ops dashboard page."""

    env_prefix: ClassVar[str] = "DASHBOARD_"

    lang: Literal["ru", "en"] = Field(
        "ru", description="language of the dashboard page: ru (Russian conventions) or en; `?lang=` overrides"
    )


class Settings(BaseSettings):
    """All gateway settings, by group; env prefix `GISGW_`."""

    model_config = SettingsConfigDict(
        env_prefix=_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    env: Environment = Field("development", description="development, test or production")
    server: ServerSettings = Field(default_factory=ServerSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    gis: GisSettings = Field(default_factory=GisSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    workers: WorkersSettings = Field(default_factory=WorkersSettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)
    stand: StandSettings = Field(default_factory=StandSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    debt: DebtSettings = Field(default_factory=DebtSettings)
    court: CourtSettings = Field(default_factory=CourtSettings)
    accounts: AccountsSettings = Field(default_factory=AccountsSettings)
    houses: HousesSettings = Field(default_factory=HousesSettings)
    agreements: AgreementsSettings = Field(default_factory=AgreementsSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read the groups' flat variables from the environment, then from `.env`."""
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, EnvSettingsSource)
        return init_settings, _GroupedEnv(env_settings), _GroupedEnv(dotenv_settings), file_secret_settings

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env != "production":
            return self
        secrets: dict[str, SecretStr | None] = {
            "GISGW_GIS_BASIC_PASSWORD": self.gis.basic_password,
            "GISGW_REMOTE_SIGNER_TOKEN": self.signing.remote_signer_token,
        }
        for name, secret in secrets.items():
            if secret is not None and secret.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ValueError(f"{name} holds a placeholder value; set a real secret in production")
        if self.demo.key is not None:
            raise ValueError("GISGW_DEMO_KEY is for development only")
        if self.database.url.startswith("sqlite") and ":memory:" in self.database.url:
            raise ValueError(
                "GISGW_DATABASE_URL: an in-memory database loses data; not allowed in production"
            )
        return self

    @classmethod
    def variables(cls) -> Iterator[tuple[str, str]]:
        """Yield each variable with the dotted field it fills (`GISGW_GIS_BASE_URL`, `gis.base_url`)."""
        yield f"{_PREFIX}ENV", "env"

        def walk(group: type[Group], path: str) -> Iterator[tuple[str, str]]:
            for name, field in group.model_fields.items():
                inner = _group_of(field)
                if inner is not None:
                    yield from walk(inner, f"{path}.{name}")
                else:
                    yield group.variable(name), f"{path}.{name}"

        for name, field in cls.model_fields.items():
            group = _group_of(field)
            if group is not None:
                yield from walk(group, name)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings read from the environment."""
    return Settings()
