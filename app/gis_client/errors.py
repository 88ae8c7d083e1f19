"""Error hierarchy of the GIS ZhKKh client: nothing from httpx or lxml leaks past these."""

from __future__ import annotations

# Codes worth a rebuilt resend (gis-protocol.md §8: EXP001000, F's EXP002001/2/3 and INT002018, and the
# INT002029 maintenance window). The exchange layer may pass its own set from configuration.
DEFAULT_RETRYABLE_CODES: frozenset[str] = frozenset(
    {"EXP001000", "EXP002001", "EXP002002", "EXP002003", "INT002018", "INT002029"}
)

#: Lower-cased mark of GIS losing a next-page GUID it issued: the page is asked again (gis-protocol.md §8).
PAGE_RETRY_MARK = "content not found for guid"


class GisError(Exception):
    """Base class for every failure talking to GIS ZhKKh."""


class GisTransportError(GisError):
    """Connection, TLS or HTTP failure that carried no SOAP Fault."""


class GisTimeoutError(GisError):
    """The server did not answer in time."""


class GisFaultError(GisError):
    """SOAP Fault or ErrorMessage returned by GIS, with its error code."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.retryable = retryable


class GisSignatureError(GisError):
    """A signature could not be produced or did not verify."""


class GisSchemaError(GisError):
    """A message does not conform to the official XSD (or to a documented limit)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        rule: str | None = None,
        line: int | None = None,
        details: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.rule = rule
        self.line = line
        self.details = details

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.message}{where}{rule}"


class GisProtocolError(GisError):
    """A reply has an unexpected shape (missing element, unknown state)."""


class SchemaPackageMissing(GisError):
    """The official XSD package is not where the settings say it is."""


class GisLimitError(GisSchemaError, ValueError):
    """A documented protocol limit (batch size, period length, choice) is broken before building."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message, rule=limit)
        self.limit = limit


class ExchangeUncertain(GisError):
    """An import may or may not have reached GIS; its owner must reconcile before resending."""
