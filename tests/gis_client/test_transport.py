"""Transport over real HTTP: headers, auth, Faults, 5xx, dropped connections, timeouts, hostile answers."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator

import pytest

from app.gis_client.errors import GisFaultError, GisTimeoutError, GisTransportError
from app.gis_client.wire.envelope import serialize
from app.gis_client.wire.safexml import HostileXmlError, XmlParseError
from app.gis_client.wire.transport import (
    GisConnectError,
    GisHttpStatusError,
    GisResponseTooLarge,
    Transport,
    not_delivered,
)
from app.gis_stand import results_builder as rb
from tests.conftest import make_settings
from tests.gis_client.scripted_gis import DROP, Huge, ScriptedGis, Slow

PATH = "/ext-bus-debtreq-service/services/DebtRequestsAsync"
ACTION = '"urn:exportDebtSubrequests"'
BODY = b'<?xml version="1.0"?><x/>'


@pytest.fixture
async def gis() -> AsyncIterator[ScriptedGis]:
    async with ScriptedGis() as server:
        yield server


def _transport(url: str, **overrides: object) -> Transport:
    values: dict[str, object] = {"gis_base_url": url, "gis_connect_timeout": 1.0, "gis_read_timeout": 1.0}
    values.update(overrides)
    return Transport.from_settings(make_settings("sqlite+aiosqlite://", **values))


async def test_post_sends_soap_headers_auth_and_host(gis: ScriptedGis) -> None:
    transport = _transport(
        gis.url, gis_basic_user="sit", gis_basic_password="pw-123", gis_host_header="api.dom.gosuslugi.ru"
    )
    gis.queue("*", (200, serialize(rb.build_ack("11111111-1111-1111-1111-111111111111", "x"))))
    document = await transport.call(PATH, ACTION, BODY)
    assert document.tag.endswith("Envelope")
    seen = gis.requests[0]
    assert seen.path == PATH and seen.body == BODY
    assert seen.headers["content-type"] == "text/xml; charset=utf-8"
    assert seen.headers["soapaction"] == ACTION
    assert seen.headers["host"] == "api.dom.gosuslugi.ru"
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"sit:pw-123").decode()
    await transport.aclose()


FAULTS = [
    (500, "EXP001000", True),
    (400, "FMT001300", False),
    (500, "INT002029", True),
    (200, "AUT011003", False),
]
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><a>&d;</a>'
)


@pytest.mark.parametrize(("status", "code", "retryable"), FAULTS)
async def test_soap_fault_becomes_typed_fault(
    gis: ScriptedGis, status: int, code: str, retryable: bool
) -> None:
    transport = _transport(gis.url)
    gis.queue("*", (status, serialize(rb.build_fault(code, "сообщение"))))
    with pytest.raises(GisFaultError) as info:
        await transport.call(PATH, ACTION, BODY)
    assert info.value.code == code and info.value.retryable is retryable
    assert not_delivered(info.value)
    await transport.aclose()


async def test_5xx_without_fault_is_a_transport_error(gis: ScriptedGis) -> None:
    transport = _transport(gis.url)
    gis.queue("*", (502, b"<html>Bad Gateway</html>"))
    with pytest.raises(GisHttpStatusError) as info:
        await transport.call(PATH, ACTION, BODY)
    assert info.value.status == 502
    await transport.aclose()


async def test_dropped_connection_is_a_transport_error_of_unknown_delivery(gis: ScriptedGis) -> None:
    transport = _transport(gis.url)
    gis.queue("*", DROP)
    with pytest.raises(GisTransportError) as info:
        await transport.call(PATH, ACTION, BODY)
    assert not not_delivered(info.value)
    await transport.aclose()


async def test_read_timeout_is_a_timeout_error(gis: ScriptedGis) -> None:
    transport = _transport(gis.url, gis_read_timeout=0.2)
    gis.queue("*", Slow(1.0, (200, b"<x/>")))
    with pytest.raises(GisTimeoutError):
        await transport.call(PATH, ACTION, BODY)
    await transport.aclose()


async def test_connection_refused_is_not_delivered() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    transport = _transport(f"http://127.0.0.1:{port}")
    with pytest.raises(GisConnectError) as info:
        await transport.call(PATH, ACTION, BODY)
    assert not_delivered(info.value)
    await transport.aclose()


async def test_100_mb_answer_is_cut_off(gis: ScriptedGis) -> None:
    transport = _transport(gis.url, gis_max_response_bytes=1_000_000)
    gis.queue("*", Huge(100 * 1024 * 1024))
    with pytest.raises(GisResponseTooLarge):
        await transport.call(PATH, ACTION, BODY)
    await transport.aclose()


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        BOMB,
    ],
    ids=["xxe", "entity-bomb"],
)
async def test_hostile_xml_is_refused(gis: ScriptedGis, body: bytes) -> None:
    transport = _transport(gis.url)
    gis.queue("*", (200, body))
    with pytest.raises(HostileXmlError):
        await transport.call(PATH, ACTION, BODY)
    await transport.aclose()


async def test_malformed_answer_is_a_parse_error(gis: ScriptedGis) -> None:
    transport = _transport(gis.url)
    gis.queue("*", (200, b"<not-closed>"))
    with pytest.raises(XmlParseError):
        await transport.call(PATH, ACTION, BODY)
    await transport.aclose()
