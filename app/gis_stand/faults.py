"""Fault injection: EXP001000 Faults, HTTP 503, dropped connections, slow answers, stuck RequestState.

Faults strike before the stand looks at the request, so a refused call changed nothing and a rebuilt resend is
always safe: that is exactly what GIS's own EXP001000 promises (gis-protocol.md §8) and what the gateway's
retry policy must prove. Draws come from one seeded `random.Random`, so a run is reproducible given the same
order of calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
from collections import Counter
from enum import StrEnum
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.gis_stand.config import FaultConfig
from app.gis_stand.results_builder import build_fault
from app.gis_stand.wire import serialize_gis, to_gis_layout

#: Paths the faults apply to: the emulated GIS services, never the stand's admin API.
GIS_PREFIX = "/ext-bus-"


class FaultKind(StrEnum):
    """What happens to one call."""

    NONE = "none"
    EXP001000 = "exp001000"
    HTTP503 = "http503"
    DROP = "drop"


class FaultInjector:
    """Decides, per call, whether and how it fails; counts what it did."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault shares and restart the random sequence from the config's seed."""
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self.counts: Counter[str] = Counter()

    def update(self, **changes: Any) -> FaultConfig:
        """Change some shares (validated), keeping the others; return the new config."""
        self.configure(dataclasses.replace(self.config, **changes))
        return self.config

    def draw(self, *, soap: bool) -> tuple[FaultKind, bool]:
        """Return the failure for one call and whether to answer slowly."""
        with self._lock:
            c = self.config
            r = self._rng.random()
            slow = self._rng.random() < c.slow
            self.counts["calls"] += 1
            if soap and r < c.exp001000:
                kind = FaultKind.EXP001000
            elif r < c.exp001000 + c.http503:
                kind = FaultKind.HTTP503
            elif r < c.exp001000 + c.http503 + c.drop:
                kind = FaultKind.DROP
            else:
                kind = FaultKind.NONE
            if kind is not FaultKind.NONE:
                self.counts[kind.value] += 1
            if slow:
                self.counts["slow"] += 1
            return kind, slow

    def stuck(self) -> bool:
        """Return whether a newly accepted message should never leave RequestState 2."""
        with self._lock:
            hit = self._rng.random() < self.config.stuck
            if hit:
                self.counts["stuck"] += 1
            return hit

    def snapshot(self) -> dict[str, Any]:
        """Return the current config and counters (admin API)."""
        with self._lock:
            return {"config": dataclasses.asdict(self.config), "counts": dict(self.counts)}


_EXP001000 = serialize_gis(
    to_gis_layout(
        build_fault(
            "EXP001000",
            "Произошла ошибка при передаче данных. Попробуйте осуществить передачу данных повторно",
            faultcode="env:Server",
        ),
        None,
    )
)


class FaultMiddleware:
    """ASGI middleware applying the injector to calls of the emulated services."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Fail the call as drawn, or pass it on (after a delay when slow)."""
        if scope["type"] != "http" or not scope["path"].startswith(GIS_PREFIX):
            await self.app(scope, receive, send)
            return
        soap = scope["method"] == "POST" and "/services/" in scope["path"]
        kind, slow = self.injector.draw(soap=soap)
        if slow:
            await asyncio.sleep(self.injector.config.slow_seconds)
        if kind is FaultKind.NONE:
            await self.app(scope, receive, send)
            return
        await _drain(receive)
        if kind is FaultKind.EXP001000:
            await _respond(send, 500, _EXP001000, b"text/xml; charset=utf-8")
        elif kind is FaultKind.HTTP503:
            await _respond(send, 503, b"Service Temporarily Unavailable", b"text/plain")
        else:
            # Promise a body and send only part of it: uvicorn closes the socket when the app returns with
            # the response incomplete, and the client sees the connection drop mid-answer.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/xml; charset=utf-8"), (b"content-length", b"4096")],
                }
            )
            await send({"type": "http.response.body", "body": b"<?xml version=", "more_body": True})


async def _drain(receive: Receive) -> None:
    more = True
    while more:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = bool(message.get("more_body", False))


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
