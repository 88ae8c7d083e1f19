"""One error model: every failure leaves as `application/problem+json` (RFC 9457) with `errors[]`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.kernel import errors as d
from app.gis_client.errors import ExchangeUncertain, GisError, GisLimitError, GisTimeoutError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://gisgw.local/problems/"


class FieldError(BaseModel):
    """One offending field."""

    path: str = Field(description="dotted path of the field, e.g. body.answers.0.snils")
    rule: str = Field(description="rule that failed, e.g. snils_checksum, missing, max_length")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[TYPE_BASE + "validation"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


# Domain and GIS exceptions → (status, problem type slug); the most specific class wins (MRO order).
ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    d.NotFoundError: (404, "not-found"),
    d.ConflictError: (409, "conflict"),
    d.RuleViolation: (422, "rule-violation"),
    d.PermissionDenied: (403, "forbidden"),
    d.AuthenticationRequired: (401, "unauthenticated"),
    d.UpstreamUnavailable: (502, "upstream-unavailable"),
    # Upstream failures are 502, timeouts 504 (house-style); a GIS-side limit or schema error is our
    # request's fault and stays 422 through the domain's RuleViolation, so only these are mapped.
    GisError: (502, "gis-upstream"),
    GisTimeoutError: (504, "gis-timeout"),
    GisLimitError: (422, "gis-limit"),
    ExchangeUncertain: (409, "gis-uncertain"),
    d.TooManyRequests: (429, "too-many-requests"),
}


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str | None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response."""
    problem = Problem(
        type=TYPE_BASE + slug,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=errors or [],
    )
    return JSONResponse(
        problem.model_dump(mode="json"), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _loc_to_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


#: Rules whose refused input is a short code, safe and useful to echo (never a free-text field's value).
_ECHO_INPUT = frozenset({"literal_error", "enum"})


def _message(err: Any) -> str:
    value = err.get("input")
    if err.get("type") in _ECHO_INPUT and isinstance(value, str) and len(value) <= 40:
        return f"{err['msg']}, not {value!r}"
    return str(err["msg"])


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            path=_loc_to_path(err.get("loc", ())), rule=str(err.get("type", "invalid")), message=_message(err)
        )
        for err in exc.errors()
    ]
    return problem_response(request, 422, "validation", "The request does not match the schema.", errors)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthenticated", 403: "forbidden"}.get(
        exc.status_code, "http"
    )
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route or resource at {request.url.path}."
    return problem_response(request, exc.status_code, slug, detail, headers=getattr(exc, "headers", None))


def _lookup(exc: Exception) -> tuple[int, str] | None:
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return None


async def _mapped_handler(request: Request, exc: Exception) -> JSONResponse:
    found = _lookup(exc)
    if found is None:
        return await _unhandled_handler(request, exc)
    status, slug = found
    errors: list[FieldError] = []
    if isinstance(exc, d.DomainError):
        errors = [FieldError(path=e.path, rule=e.rule, message=e.message) for e in exc.errors]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, d.TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    if status >= 500:
        log.warning("upstream failure: %s", type(exc).__name__)
    return problem_response(request, status, slug, str(exc), errors, headers=headers)


#: Seconds a client should wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = "The database is unavailable; retry shortly."


def database_unavailable(exc: BaseException) -> bool:
    """Whether an exception means the database cannot be reached (an outage, not a bug)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    # asyncpg raises its own errors (and ConnectionRefusedError on connect) through SQLAlchemy's pool
    # unwrapped; other OSErrors (a missing upload file) are not an outage.
    return isinstance(
        exc, ConnectionError | asyncpg.exceptions.PostgresConnectionError | asyncpg.InterfaceError
    ) or (isinstance(exc, asyncpg.exceptions.OperatorInterventionError))


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        return problem_response(
            request,
            503,
            "database-unavailable",
            DATABASE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, sa_exc.DataError):
        # A value the database cannot hold that the schema let through: the input is wrong, not the server.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        detail = "A value is outside what the database can hold."
        return problem_response(request, 422, "invalid-input", detail)
    log.exception("unhandled error", exc_info=exc)
    return problem_response(request, 500, "internal", "Internal error; quote the request id to support.")


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on the app."""
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    for exc_type in ERROR_TABLE:
        app.add_exception_handler(exc_type, _mapped_handler)
    # Database failures are answered by a handler of their own: a handler for `Exception` answers and then
    # re-raises, and the server closes the connection, so a client's next request on it failed with a
    # read error during an outage instead of another 503.
    for exc_type in (
        sa_exc.DBAPIError,
        sa_exc.TimeoutError,
        ConnectionError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ):
        app.add_exception_handler(exc_type, _unhandled_handler)
    # Starlette re-raises after answering an unmapped exception, so the server log keeps the traceback.
    app.add_exception_handler(Exception, _unhandled_handler)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given problem statuses."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": HTTPStatus(status).phrase,
        }
        for status in statuses
    }
