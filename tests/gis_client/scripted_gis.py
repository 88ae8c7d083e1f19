"""A tiny scripted GIS over real HTTP (asyncio server on a free port) for transport, retry and restart tests.

By default it behaves like GIS: a business request gets an Ack, getState answers RequestState 1, 2, then 3
with a result built by app.gis_stand.results_builder. Tests queue exceptions to that (faults, 503, dropped
connections, hostile bodies, huge bodies) and count what the gateway sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.gis_client.messages import CommonResult, ErrorInfo
from app.gis_client.operations import NS, Service
from app.gis_client.services import OPERATIONS
from app.gis_client.wire.envelope import serialize
from app.gis_stand import results_builder as rb
from tests.gis_client.samples.data import dsr_page

DROP = "drop"


@dataclass
class Huge:
    """Stream `size` bytes of an endless XML document (no Content-Length)."""

    size: int


@dataclass
class Slow:
    """Answer after `seconds` (to provoke read timeouts)."""

    seconds: float
    reply: Any = None


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def action(self) -> str:
        """Return the SOAPAction without quotes (`urn:getState`)."""
        return self.headers.get("soapaction", "").strip('"')

    @property
    def operation(self) -> str:
        """Return the operation name (`getState`, `exportDebtSubrequests`, ...)."""
        return self.action.removeprefix("urn:")

    @property
    def document(self) -> etree._Element:
        """Return the parsed envelope."""
        return etree.fromstring(self.body)

    @property
    def message_guid(self) -> str:
        """Return the RequestHeader MessageGUID."""
        return str(self.document.findtext(".//base:MessageGUID", namespaces=NS))

    @property
    def state_guid(self) -> str:
        """Return the GIS MessageGUID asked for in a getState body."""
        return str(self.document.findtext(".//base:getStateRequest/base:MessageGUID", namespaces=NS))


def default_payload(operation: str, request: Seen) -> list[etree._Element]:
    """Return a plausible result for an operation (one CommonResult per TransportGUID for imports)."""
    if operation == "exportDebtSubrequests":
        return [rb.build_dsr_export(dsr_page(2))]
    if operation in ("importResponses", "importDebt"):
        service = OPERATIONS[operation].service
        guids = [t.text or "" for t in request.document.iter(f"{{{NS['base']}}}TransportGUID")]
        results = [CommonResult(transport_guid=g, guid=str(uuid.uuid4()), unique_number="1") for g in guids]
        return rb.build_common_results(service, results)
    return []


@dataclass
class ScriptedGis:
    """Scripted GIS server; use as `async with ScriptedGis() as gis:` then point the transport at gis.url."""

    states: tuple[int, ...] = (1, 2, 3)
    payload: Callable[[str, Seen], list[etree._Element]] = default_payload
    requests: list[Seen] = field(default_factory=list)
    #: Replies queued per operation name ("*" = any): (status, bytes) | DROP | Huge | Slow | ErrorInfo.
    script: dict[str, deque[Any]] = field(default_factory=dict)
    _pending: dict[str, tuple[str, Seen, deque[int]]] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    url: str = ""
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> ScriptedGis:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def queue(self, operation: str, *replies: Any) -> None:
        """Queue replies for the next requests of an operation (or "*")."""
        self.script.setdefault(operation, deque()).extend(replies)

    def sent(self, operation: str | None = None) -> list[Seen]:
        """Return the requests received (of one operation)."""
        return [r for r in self.requests if operation is None or r.operation == operation]

    def business(self) -> list[Seen]:
        """Return the non-getState requests."""
        return [r for r in self.requests if r.operation != "getState"]

    # --- GIS behaviour -----------------------------------------------------------------------------

    def _default(self, request: Seen) -> Any:
        if request.operation == "getState":
            entry = self._pending.get(request.state_guid)
            if entry is None:
                return 500, serialize(rb.build_fault("INT002013", "Request not found"))
            operation, original, states = entry
            state = states.popleft() if len(states) > 1 else states[0]
            service = OPERATIONS[operation].service
            if state != 3:
                return 200, serialize(rb.build_state_result(service, state, request.state_guid))
            return 200, serialize(
                rb.build_state_result(service, 3, request.state_guid, self.payload(operation, original))
            )
        gis_guid = str(uuid.uuid4())
        self._pending[gis_guid] = (request.operation, request, deque(self.states))
        self.acked.set()
        return 200, serialize(rb.build_ack(gis_guid, request.message_guid))

    def _scripted(self, request: Seen) -> Any:
        for key in (request.operation, "*"):
            queue = self.script.get(key)
            if queue:
                return queue.popleft()
        return None

    def _error_state(self, request: Seen, error: ErrorInfo) -> tuple[int, bytes]:
        entry = self._pending.get(request.state_guid)
        service = OPERATIONS[entry[0]].service if entry else Service.DEBT_REQUESTS
        return 200, serialize(rb.build_state_result(service, 3, request.state_guid, error=error))

    # --- HTTP ----------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            if not request_line:
                return
            _method, path, _version = request_line.decode().split(" ", 2)
            headers: dict[str, str] = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            seen = Seen(path, headers, body)
            self.requests.append(seen)
            reply = self._scripted(seen)
            if isinstance(reply, Slow):
                await asyncio.sleep(reply.seconds)
                reply = reply.reply
            if reply is None:
                reply = self._default(seen)
            if isinstance(reply, ErrorInfo):
                reply = self._error_state(seen, reply)
            if reply == DROP:
                return
            if isinstance(reply, Huge):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n<a>")
                chunk = b"<b>" + b"x" * 65536 + b"</b>"
                sent = 0
                while sent < reply.size:
                    writer.write(chunk)
                    await writer.drain()
                    sent += len(chunk)
                return
            status, content = reply
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: text/xml; charset=utf-8\r\n"
                f"Content-Length: {len(content)}\r\nConnection: close\r\n\r\n".encode()
                + content
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
