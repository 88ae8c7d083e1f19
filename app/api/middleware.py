"""Request ids: taken from `X-Request-ID` when sane, else generated; echoed in the response and the logs."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id_var

_SANE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_request_id(scope: Scope) -> str:
    """The request's id (a sane `X-Request-ID`, else a new one), kept in the scope for later hops."""
    # In the scope itself, not its `state`: a server may hand every request the same state dict.
    request_id: str | None = scope.get("gisgw.request_id")
    if request_id is None:
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")  # the last one, as dict(headers) takes it
        request_id = scope["gisgw.request_id"] = incoming if _SANE.match(incoming) else uuid.uuid4().hex
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id


class RequestIdMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A request the account search's fast path passed on has its id already (it may have logged with it).
        request_id = new_request_id(scope)
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
