"""Configuration of the GIS stand, built from the gateway settings or directly in tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.gis_client.wire.schemas import default_schema_dir
from app.settings import Settings

#: exportDSRs pages (gis-protocol.md §9) and exportDebt pages (§11).
DSR_PAGE_SIZE = 100
DEBT_PAGE_SIZE = 1000


@dataclass(frozen=True)
class FaultConfig:
    """Shares (0..1) of calls that fail in each way; deterministic with `seed`."""

    exp001000: float = 0.0
    http503: float = 0.0
    drop: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 2.0
    stuck: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("exp001000", "http503", "drop", "slow", "stuck"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault share {name} must be within 0..1, got {value}")
        if self.exp001000 + self.http503 + self.drop > 1.0:
            raise ValueError("exp001000 + http503 + drop shares exceed 1")


@dataclass(frozen=True)
class StandConfig:
    """Everything the stand app needs: its database, XSD package, delays, keys, trust and faults."""

    database_url: str = "sqlite+aiosqlite:///./var/stand.db"
    schema_dir: Path = field(default_factory=default_schema_dir)
    #: Seconds a message stays in RequestState 1, then in 2, before its result is produced.
    state_delays: tuple[float, float] = (1.0, 2.0)
    trust_any_signature: bool = False
    key_path: Path | None = None
    cert_path: Path | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Largest SOAP body accepted (GIS has no published limit; 100 actions with files fit well below).
    max_body_bytes: int = 16 * 1024 * 1024
    #: Validate every result built against the XSD before signing it (catches emulator bugs early).
    validate_results: bool = True
    crypto_backend: str = "auto"
    #: Serve GOST TLS and require a registered client certificate (`gisgw stand --tls`).
    tls: bool = False
    tls_cert_path: Path | None = None
    tls_key_path: Path | None = None
    #: Host name written into a generated TLS server certificate (besides 127.0.0.1 and localhost).
    tls_host: str = "127.0.0.1"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> StandConfig:
        """Build the stand configuration from `GISGW_STAND_*` settings."""
        delays = list(settings.stand.state_delays) + [0.0, 0.0]
        values: dict[str, object] = {
            "database_url": settings.stand.database_url,
            "schema_dir": settings.gis.schema_dir,
            "state_delays": (float(delays[0]), float(delays[1])),
            "trust_any_signature": settings.stand.trust_any_signature,
            "key_path": settings.stand.key_path,
            "cert_path": settings.stand.cert_path,
            "crypto_backend": settings.signing.crypto_backend,
            "tls": settings.stand.tls,
            "tls_cert_path": settings.stand.tls_cert_path,
            "tls_key_path": settings.stand.tls_key_path,
            "tls_host": settings.stand.host,
            "faults": FaultConfig(
                exp001000=settings.stand.faults.exp001000,
                http503=settings.stand.faults.http503,
                drop=settings.stand.faults.drop,
                slow=settings.stand.faults.slow,
                slow_seconds=settings.stand.faults.slow_seconds,
                stuck=settings.stand.faults.stuck,
                seed=settings.stand.faults.seed,
            ),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
