"""Guard in front of the routes: authenticate before reading a body, cap bodies, refuse NUL characters.

FastAPI reads (and for forms, spools) the whole body before it solves the dependencies that check the API
key, so without this a caller with no key could make the gateway buffer any number of 100 MB posts.
Pure ASGI, inside the request-id middleware so every refusal is problem+json with the request id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import audit_refusal, get_session
from app.api.errors import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    FieldError,
    database_unavailable,
    problem_response,
)
from app.domain.kernel import errors as d
from app.domain.kernel.access import authenticate
from app.domain.kernel.write_rate import WriteRate, take_write_token

log = logging.getLogger(__name__)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_API_PREFIX = "/api/v1/"

#: Route templates whose JSON bodies may be larger than `json_body_max_bytes` (lists of account ids).
ROUTE_BODY_CAPS: dict[str, int] = {
    "/api/v1/court-orders/readiness": 8 * 1_048_576,
    "/api/v1/court-orders/packages": 8 * 1_048_576,
}


class BodyTooLarge(Exception):
    """The body passed the route's cap while being read."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _token(scope: Scope) -> str | None:
    authorization = _header(scope, b"authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return _header(scope, b"x-api-key") or None


def nul_path(value: Any, path: tuple[str, ...] = ("body",)) -> tuple[str, ...] | None:
    """Return the path of the first string (or key) holding a NUL character in a parsed JSON value."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*path, "?")
            found = nul_path(item, (*path, str(key)))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, (*path, str(index)))
            if found:
                return found
    return None


def _nul_error(path: str) -> FieldError:
    # PostgreSQL text cannot hold NUL (SQLite truncates at it): refuse it at the edge, naming the field.
    return FieldError(path=path, rule="nul_character", message="The value must not contain a NUL character.")


class RequestGuardMiddleware:
    """Authenticate `/api/v1` writes before their body is read, cap bodies (413), refuse NUL (422)."""

    def __init__(self, app: ASGIApp, *, max_body: int, write_rate: WriteRate | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.write_rate = write_rate or WriteRate(per_minute=0, burst=1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        bad_query = self._nul_in_query(scope)
        if bad_query is not None:
            await self._refuse(request, send, "The request has a NUL character.", bad_query)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(_API_PREFIX):
            refusal = await self._authenticate(scope)
            if refusal is not None:
                status, slug, detail, headers = refusal
                if status == 401:
                    # A refused attempt to change something is journaled, also when refused this early.
                    async with _key_session(scope["app"]) as session:
                        await audit_refusal(session, request, status, ["authorization unauthenticated"])
                response = problem_response(request, status, slug, detail, headers=headers)
                await response(scope, receive, send)
                return
        content_type = (_header(scope, b"content-type") or "").lower()
        if content_type.startswith("multipart/form-data"):
            # Uploads stream to disk and check their own caps (accounts imports, documents, act files).
            await self.app(scope, receive, send)
            return
        cap = self._cap(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await self._too_large(request, send, cap)
            return
        try:
            body = await self._read(receive, cap)
        except BodyTooLarge:
            await self._too_large(request, send, cap)
            return
        if b"\\u0000" in body and "json" in content_type:
            path = self._nul_in_json(body)
            if path is not None:
                await self._refuse(request, send, "The body has a NUL character.", path)
                return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    def _nul_in_query(scope: Scope) -> str | None:
        if "\x00" in scope["path"]:
            return "path"
        query: bytes = scope.get("query_string", b"")
        if b"%00" not in query and b"\x00" not in query:
            return None
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return "query." + str(name).replace("\x00", "?")
        return None

    @staticmethod
    def _nul_in_json(body: bytes) -> str | None:
        try:
            found = nul_path(json.loads(body))
        except (ValueError, RecursionError):
            return "body"  # malformed or nested past our depth, and it holds a NUL: refuse it whole
        return ".".join(found) if found else None

    def _cap(self, scope: Scope) -> int:
        app = scope.get("app")
        if isinstance(app, FastAPI):
            for route in app.router.routes:
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    return ROUTE_BODY_CAPS.get(getattr(route, "path", ""), self.max_body)
        return self.max_body

    @staticmethod
    async def _read(receive: Receive, cap: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _authenticate(self, scope: Scope) -> tuple[int, str, str, dict[str, str]] | None:
        token = _token(scope)
        if not token:
            detail = "An API key is required: send `Authorization: Bearer <key>`."
            return 401, "unauthenticated", detail, {"WWW-Authenticate": "Bearer"}
        try:
            async with _key_session(scope["app"]) as session:
                principal = await authenticate(session=session, token=token)
                wait = 0.0
                if principal.key_id is not None and self.write_rate.enabled:
                    # Shared by the replicas: the bucket is a row, spent in one statement, committed at once.
                    key_id, rate = principal.key_id, self.write_rate
                    wait = await take_write_token(session=session, key_id=key_id, rate=rate)
                    await session.commit()
        except d.AuthenticationRequired as exc:
            return 401, "unauthenticated", str(exc), {"WWW-Authenticate": "Bearer"}
        except Exception as exc:
            # A database outage answers 503 here too, still without reading the body.
            if not database_unavailable(exc):
                raise
            retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return 503, "database-unavailable", DATABASE_UNAVAILABLE, retry
        if wait > 0:
            detail = "Too many changing requests from this API key; slow down."
            return 429, "too-many-requests", detail, {"Retry-After": str(math.ceil(wait))}
        return None

    async def _too_large(self, request: Request, send: Send, cap: int) -> None:
        response = problem_response(
            request,
            413,
            "body-too-large",
            f"The request body is larger than this route accepts ({cap} bytes).",
            [FieldError(path="body", rule="max_bytes", message=f"At most {cap} bytes.")],
            headers={"Connection": "close"},
        )
        await response(request.scope, _no_receive, send)

    @staticmethod
    async def _refuse(request: Request, send: Send, detail: str, path: str) -> None:
        response = problem_response(request, 422, "validation", detail, [_nul_error(path)])
        await response(request.scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


@contextlib.asynccontextmanager
async def _key_session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """The key check's session: the app's own, or the one a test put in place of `get_session`."""
    override = app.dependency_overrides.get(get_session)
    if override is None:
        async with app.state.sessionmaker() as session:
            yield session
        return
    sessions = override()
    try:
        yield await anext(sessions)
    finally:
        await sessions.aclose()
