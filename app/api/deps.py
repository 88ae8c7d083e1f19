"""FastAPI dependencies: settings, the request's transaction, the caller's key and scopes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal, Scope, authenticate
from app.domain.kernel.gis_port import GisPort
from app.settings import Settings

log = logging.getLogger(__name__)


def get_app_settings(request: Request) -> Settings:
    """Return the settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session: commit on success, roll back on error (a refused change is audited)."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException as exc:
            await session.rollback()
            refusal = _refusal(request, exc)
            if refusal is not None:
                await audit_refusal(session, request, *refusal)
            raise


def get_gis(request: Request) -> GisPort:
    """Return the GIS port the lifespan opened."""
    gis: GisPort | None = request.app.state.ctx.gis
    if gis is None:
        raise RuntimeError("the GIS client is not open (outside the app's lifespan)")
    return gis


#: Largest serial id the database holds (PostgreSQL `integer`): a larger one is a 422, not a database error.
MAX_SERIAL_ID = 2**31 - 1

#: Refusals worth a line in the audit journal: an attempt to change something that was turned away.
_REFUSED = ((d.AuthenticationRequired, 401), (d.PermissionDenied, 403), (d.RuleViolation, 422))
_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _refusal(request: Request, exc: BaseException) -> tuple[int, list[str]] | None:
    """Return (status, the offending fields and rules) when a changing request was refused, else None."""
    if request.method not in _CHANGING:
        return None
    if isinstance(exc, RequestValidationError):
        fields = [".".join(str(x) for x in e.get("loc", ())) + f" {e.get('type', '')}" for e in exc.errors()]
        return 422, fields
    for cls, status in _REFUSED:
        if isinstance(exc, cls):
            return status, [f"{e.path} {e.rule}" for e in exc.errors] or [exc.rule or ""]
    return None


async def audit_refusal(session: AsyncSession, request: Request, status: int, fields: list[str]) -> None:
    """Record a refused attempt to change something (the route, status and offending fields, never values)."""
    # Field paths and rules only: the refused values may be personal data.
    principal = getattr(request.state, "principal", None) or Principal(
        key_id=None, name="anonymous", scopes=frozenset()
    )
    try:
        await audit.record(
            session=session,
            principal=principal,
            action="request.refused",
            resource_type="http",
            resource_id=f"{request.method} {request.url.path}"[:200],
            outcome="refused",
            details={"status": status, "errors": fields[:20]},
        )
        await session.commit()
    except Exception:  # the refusal itself must reach the client even if the journal cannot take it
        await session.rollback()
        log.warning("could not audit a refused %s %s", request.method, request.url.path)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
GisDep = Annotated[GisPort, Depends(get_gis)]
# scope="function": commit before the response is sent, so a client never sees a 2xx (or a 202 operation)
# that is not yet committed, nor a 2xx for a transaction whose commit then fails.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer gk_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key, alternative header")


async def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> Principal:
    """Authenticate the caller by API key (401 without a valid one)."""
    token = bearer.credentials if bearer is not None else header_key
    if not token:
        raise d.AuthenticationRequired("An API key is required: send `Authorization: Bearer <key>`.")
    principal = await authenticate(session=session, token=token)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def scoped(*scopes: Scope) -> Any:
    """Dependency marker: the caller's key must hold every scope given (use inside `Annotated`)."""

    async def _check(principal: PrincipalDep) -> Principal:
        principal.require(*scopes)
        return principal

    return Depends(_check)


Reader = Annotated[Principal, scoped("read")]
Answerer = Annotated[Principal, scoped("answer")]
Sender = Annotated[Principal, scoped("send")]
CourtUser = Annotated[Principal, scoped("court")]
Admin = Annotated[Principal, scoped("admin")]


M = TypeVar("M", bound=BaseModel)


def query_model(model: type[M]) -> Callable[[Request], Coroutine[Any, Any, M]]:
    """Dependency: the query string validated into `model` with one pydantic call.

    FastAPI's own query models (`Annotated[Model, Query()]`) extract and check each field separately on every
    request, which was the largest single cost of a search request (docs/benchmarks.md "## Accounts"). Errors
    keep FastAPI's shape (422, `query.<field>`); pair with `openapi_extra=query_parameters(model)` so the spec
    still lists the parameters. Repeated keys take the last value, as FastAPI does for scalar parameters.
    """

    async def _parse(request: Request) -> M:
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False)
            raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in errors]) from None

    return _parse


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI `parameters` of a `query_model` route: one query parameter per field of `model`."""
    schema = model.model_json_schema()
    if "$defs" in schema:  # keep query models flat: parameters cannot reference the model's definitions
        raise TypeError(f"{model.__name__}: query models must not nest models")
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameter["schema"] = prop
        parameters.append(parameter)
    return {"parameters": parameters}
