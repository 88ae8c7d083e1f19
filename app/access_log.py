"""Access log of every process (gateway, stand): route template and parameter names, never their values.

uvicorn's own access log writes the raw request line, query string included, so a search by SNILS or name put
personal data in the log (152-ФЗ). Servers run with `access_log=False` and this middleware logs instead.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("gisgw.access")

# A parameter name is logged only when it looks like one of ours; anything else could be data in disguise.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\[\]-]{0,40}$")
_MAX_NAMES = 20


def parameter_names(query_string: bytes) -> str:
    """Return the distinct query parameter names, sorted and comma-separated, values dropped."""
    if not query_string:
        return ""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    except ValueError:
        return "?"
    names = sorted({name if _NAME.match(name) else "?" for name, _ in pairs})
    if len(names) > _MAX_NAMES:
        names = [*names[:_MAX_NAMES], "…"]
    return ",".join(names)


def route_template(scope: Scope) -> str:
    """Return the matched route's template (`/api/v1/accounts/{account_id}`) or `unmatched`."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "unmatched"


class AccessLogMiddleware:
    """Log one line per HTTP request: method, route template, query parameter names, status, milliseconds."""

    def __init__(self, app: ASGIApp, *, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.log = logger or log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            write_access_line(self.log, scope, route_template(scope), status, time.perf_counter() - start)


def write_access_line(
    logger: logging.Logger, scope: Scope, template: str, status: int, seconds: float
) -> None:
    """Log the access line of a request (also written by the account search's fast path, which skips us)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    names = parameter_names(scope.get("query_string", b""))
    logger.info(
        "%s %s%s %d %.1fms",
        scope.get("method", "GET"),
        template,
        f"?{names}" if names else "",
        status,
        seconds * 1000,
    )
