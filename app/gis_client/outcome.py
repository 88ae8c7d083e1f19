"""What an exchange ends with (`Outcome`), its stored JSON forms, and the errors rebuilt from a stored row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import PydanticSchemaGenerationError, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.exchange import DONE, UNCERTAIN, Exchange
from app.gis_client.errors import (
    ExchangeUncertain,
    GisFaultError,
    GisProtocolError,
    GisSchemaError,
    GisSignatureError,
    GisTimeoutError,
    GisTransportError,
)
from app.gis_client.errors import (
    GisError as GisError,  # re-exported: the domain catches GIS failures by this base class
)
from app.gis_client.operations import adapter
from app.gis_client.services import OPERATIONS, get_operation


def encode_payload(operation: str, request: Any) -> dict[str, Any]:
    """Turn the typed request of an operation into the JSON payload stored on the exchange row."""
    return get_operation(operation).encode(request)


def encode_result(operation: str, payload: object, *, empty: bool = False) -> dict[str, Any]:
    """Return the JSON stored in `gis_exchanges.result` for a parsed payload."""
    if payload is None:
        return {"empty": empty, "data": None}
    op = OPERATIONS.get(operation)
    tp = op.result_type if op is not None and op.result_type is not None else type(payload)
    try:
        data = adapter(tp).dump_python(payload, mode="json")
    except (PydanticSchemaGenerationError, TypeError):
        # A result dataclass pydantic cannot describe (e.g. a field named like its type under slots=True):
        # store it schema-less; the live outcome still reaches hooks and `run` callers.
        data = to_jsonable_python(payload)
    return {"empty": empty, "data": data}


def decode_result(operation: str, result: Mapping[str, Any] | None) -> object:
    """Turn a stored JSON result back into the typed payload of messages.py."""
    if not result or result.get("data") is None:
        return None
    try:
        payload: object = adapter(OPERATIONS[operation].result_type).validate_python(result["data"])
    except (PydanticSchemaGenerationError, ValidationError, TypeError, KeyError) as exc:
        raise GisProtocolError(f"stored {operation} result cannot be decoded: {type(exc).__name__}") from None
    return payload


def is_import(operation: str) -> bool:
    """Return whether an operation changes data in GIS (resending it blindly could apply it twice)."""
    op = OPERATIONS.get(operation)
    return op is not None and op.is_import


# ------------------------------------------------------------------------------------------------ outcome


@dataclass(frozen=True)
class Outcome:
    """What a completion hook (and `run`) gets: the final status and the typed result or the error."""

    status: str
    """done | failed | uncertain"""
    payload: object = None
    """The typed result the operation declares (`result_type`), None when empty."""
    error: GisError | None = None
    empty: bool = False
    """True when GIS answered INT002012 (nothing to export): done with no payload."""

    @property
    def reconcile(self) -> bool:
        """Whether the owner must check GIS before anything is sent again (an `uncertain` import)."""
        return self.status == UNCERTAIN


#: Called in the transaction that finishes an exchange (must not commit). The composition root hands the
#: engine a mapping ref_kind → hook (each domain area exports its own) and one audit hook for every exchange.
CompletionHook = Callable[[AsyncSession, Exchange, Outcome], Awaitable[None]]


_ERROR_TYPES: dict[str, type[GisError]] = {
    "timeout": GisTimeoutError,
    "gave_up": GisTimeoutError,
    "transport": GisTransportError,
    "schema": GisSchemaError,
    "signature": GisSignatureError,
    "protocol": GisProtocolError,
    "uncertain": ExchangeUncertain,
}


def error_code_of(exc: BaseException) -> str:
    """Return the value stored in `error_code`: the GIS code, or the error class."""
    if isinstance(exc, GisFaultError) and exc.code:
        return exc.code
    for code, cls in (
        ("timeout", GisTimeoutError),
        ("transport", GisTransportError),
        ("signature", GisSignatureError),
        ("protocol", GisProtocolError),
        ("schema", GisSchemaError),
    ):
        if isinstance(exc, cls):
            return code
    return "error"


def error_of(exchange: Exchange) -> GisError:
    """Rebuild the typed error of a failed exchange from its row."""
    code = exchange.error_code or "error"
    message = exchange.error_message or code
    cls = _ERROR_TYPES.get(code)
    if cls is GisSchemaError:
        return GisSchemaError(message)
    if cls is not None:
        return cls(message)
    return GisFaultError(code, message)


def outcome_of(exchange: Exchange) -> Outcome:
    """Return the outcome of a finished exchange from its stored row."""
    if exchange.status == DONE:
        empty = bool((exchange.result or {}).get("empty"))
        return Outcome(DONE, decode_result(exchange.operation, exchange.result), empty=empty)
    if exchange.status == UNCERTAIN:
        reason = exchange.error_message or "delivery unknown"
        return Outcome(UNCERTAIN, error=ExchangeUncertain(f"reconcile with GIS before resending ({reason})"))
    return Outcome(exchange.status, error=error_of(exchange))
