"""Stand fixtures: the stand over real HTTP on a free port, and a signing GIS client for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from app.gis_client.crypto.backend import generate_test_key, get_backend
from app.gis_client.crypto.signer import LocalKeySigner
from app.gis_client.crypto.xmldsig import sign_element
from app.gis_client.operations import SERVICES, Operation, Service
from app.gis_client.parse import parse_ack, parse_state, raise_for_fault
from app.gis_client.services import OPERATIONS
from app.gis_client.wire.envelope import build_envelope, build_get_state, new_guid, serialize
from app.gis_client.wire.safexml import parse_xml
from app.gis_stand.app import create_stand_app
from app.gis_stand.config import FaultConfig, StandConfig
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.server import free_port, serving
from tests.conftest import SCHEMA_DIR, new_database


@pytest.fixture(scope="session")
def client_keys() -> tuple[bytes, bytes]:
    """The gateway's (test) IS key and certificate."""
    return generate_test_key("/CN=gisgw stand test/O=Lab")


@dataclass
class Reply:
    """An HTTP answer of the stand, parsed when it is XML."""

    status: int
    root: etree._Element | None
    raw: bytes = b""

    @property
    def fault_code(self) -> str | None:
        """Return the base:Fault ErrorCode of a SOAP Fault answer."""
        if self.root is None:
            return None
        return self.root.findtext(".//{*}Fault/detail/{*}Fault/{*}ErrorCode")


@dataclass
class GisCaller:
    """A minimal GIS client for protocol-level tests: builds, signs, sends and polls."""

    http: httpx.AsyncClient
    org_ppa_guid: str
    signer: LocalKeySigner
    sent_guids: list[str] = field(default_factory=list)

    async def envelope(
        self, op: Operation, body: etree._Element, *, message_guid: str | None = None
    ) -> bytes:
        """Wrap and sign a body; return the bytes to send."""
        root = build_envelope(op, body, org_ppa_guid=self.org_ppa_guid, message_guid=message_guid)
        await sign_element(root, body, self.signer)
        return serialize(root)

    async def post(self, op: Operation, data: bytes) -> Reply:
        """POST bytes to the operation's endpoint."""
        response = await self.http.post(
            op.path,
            content=data,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": op.soap_action_header},
        )
        root = parse_xml(response.content) if response.content.startswith(b"<") else None
        return Reply(response.status_code, root, response.content)

    async def send(self, name: str, body: etree._Element, **kw: Any) -> Reply:
        """Sign and send one request."""
        op = OPERATIONS[name]
        return await self.post(op, await self.envelope(op, body, **kw))

    async def state(self, service: Service, gis_guid: str) -> Reply:
        """Send one getState."""
        root = build_get_state(service, gis_guid, org_ppa_guid=self.org_ppa_guid)
        from app.gis_client.operations import get_state_operation

        return await self.post(get_state_operation(service), serialize(root))

    async def call(self, name: str, body: etree._Element) -> etree._Element:
        """Send, then poll getState until RequestState 3; return the getStateResult envelope."""
        reply = await self.send(name, body)
        assert reply.root is not None and reply.status == 200, reply.raw[:500]
        ack = parse_ack(reply.root)
        service = OPERATIONS[name].service
        for _ in range(200):
            state = await self.state(service, ack.message_guid)
            assert state.root is not None and state.status == 200, state.raw[:500]
            raise_for_fault(state.root)
            if parse_state(state.root).request_state == 3:
                return state.root
            await asyncio.sleep(0.02)
        raise AssertionError("the stand never finished the message")


@pytest.fixture
async def stand_config(tmp_path: Path) -> StandConfig:
    """Stand configuration on a database of its own (SQLite file, or a fresh PostgreSQL database)."""
    url = await new_database(tmp_path, migrate=False)
    return StandConfig(database_url=url, schema_dir=SCHEMA_DIR, state_delays=(0.0, 0.0), faults=FaultConfig())


@pytest.fixture
async def stand(stand_config: StandConfig) -> AsyncIterator[tuple[str, StandRuntime]]:
    """The stand served by uvicorn on a free port; yields (base URL, runtime)."""
    app = create_stand_app(stand_config)
    port = free_port()
    async with serving(app, "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}", app.state.stand


@pytest.fixture
async def admin(stand: tuple[str, StandRuntime]) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client for the stand's admin API and file store."""
    async with httpx.AsyncClient(base_url=stand[0], timeout=30) as client:
        yield client


async def make_caller(
    base_url: str, admin: httpx.AsyncClient, keys: tuple[bytes, bytes], *, register: bool = True, **seed: Any
) -> GisCaller:
    """Seed the stand for a new organisation (registering the client certificate) and return a caller."""
    ppa = new_guid()
    body = {"org_ppa_guid": ppa, "accounts": 120, "subrequests": 10, "seed": 7, **seed}
    if register:
        body["cert_pem"] = keys[1].decode()
    response = await admin.post("/stand/admin/seed", json=body)
    assert response.status_code == 200, response.text
    http = httpx.AsyncClient(base_url=base_url, timeout=30)
    return GisCaller(http, ppa, LocalKeySigner(keys[0], keys[1], get_backend("auto")))


@pytest.fixture
async def caller(
    stand: tuple[str, StandRuntime], admin: httpx.AsyncClient, client_keys: tuple[bytes, bytes]
) -> AsyncIterator[GisCaller]:
    """A registered organisation with 120 accounts and 10 subrequests, and its client."""
    c = await make_caller(stand[0], admin, client_keys)
    yield c
    await c.http.aclose()


__all__ = ["SERVICES", "GisCaller", "Reply", "make_caller"]
