"""The stand answers in GIS's own wire layout (gis-protocol.md §16) and is lenient and strict where GIS is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asn1crypto import pem
from lxml import etree

from app.gis_client.crypto.backend import _random_private_key, build_self_signed_certificate, get_backend
from app.gis_client.crypto.xmldsig import sign_element, verify
from app.gis_client.messages import ExportDSRsQuery, Period, build_export_dsrs
from app.gis_client.operations import NS
from app.gis_client.parse import parse_ack, parse_state
from app.gis_client.services import OPERATIONS
from app.gis_client.wire.envelope import build_envelope, new_guid, serialize
from app.gis_stand.runtime import StandRuntime
from tests.gis_stand.conftest import GisCaller, make_caller

DS_DECL = b'xmlns:ns3="http://www.w3.org/2000/09/xmldsig#"'
MOSCOW_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+03:00$")
WCF_ACTION = (
    '<Action xmlns="http://schemas.microsoft.com/ws/2005/05/addressing/none" '
    'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:mustUnderstand="1">'
    "urn:exportDebtSubrequests</Action>"
)


def _export_body() -> etree._Element:
    today = datetime.now(UTC).date()
    return build_export_dsrs(
        ExportDSRsQuery(period=Period(today - timedelta(days=60), today + timedelta(days=1)))
    )


def _header(root: etree._Element) -> tuple[str, str]:
    header = root.find("soap:Header/base:ResultHeader", NS)
    assert header is not None
    return header.findtext("base:Date", namespaces=NS) or "", header.findtext(
        "base:MessageGUID", namespaces=NS
    ) or ""


async def test_ack_in_gis_layout_echoes_requester_guid(caller: GisCaller) -> None:
    guid = new_guid()
    reply = await caller.send("exportDebtSubrequests", _export_body(), message_guid=guid)
    assert reply.status == 200, reply.raw[:500]
    assert reply.raw.startswith(b"<?xml") and b"<env:Envelope " in reply.raw and DS_DECL in reply.raw
    for n in range(4, 14):
        assert f"xmlns:ns{n}=".encode() in reply.raw
    assert b"<ns4:AckRequest>" in reply.raw and b"\n  <env:Header>" in reply.raw
    assert reply.root is not None
    date, echoed = _header(reply.root)
    assert echoed == guid and MOSCOW_STAMP.match(date), date
    assert parse_ack(reply.root).requester_message_guid == guid
    assert b"<ds:Signature" not in reply.raw  # acks go unsigned (§16)


async def test_state_result_in_gis_layout_signed_with_own_ds(caller: GisCaller) -> None:
    reply = await caller.send("exportDebtSubrequests", _export_body())
    assert reply.root is not None
    ack = parse_ack(reply.root)
    from app.gis_client.operations import Service, get_state_operation
    from app.gis_client.wire.envelope import build_get_state

    for _ in range(2):  # the stored result is re-stamped per call, its signature untouched
        guid = new_guid()
        root = build_get_state(Service.DEBT_REQUESTS, ack.message_guid, org_ppa_guid=caller.org_ppa_guid,
                               message_guid=guid)  # fmt: skip
        state = await caller.post(get_state_operation(Service.DEBT_REQUESTS), serialize(root))
        assert state.root is not None and state.status == 200
        assert parse_state(state.root).request_state == 3
        raw = state.raw
        assert DS_DECL in raw and b"<ns13:getStateResult " in raw and b'ns4:version="' in raw
        assert b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"' in raw
        date, echoed = _header(state.root)
        assert echoed == guid and MOSCOW_STAMP.match(date)
        report = verify(raw)
        assert report.valid, report.failed()
        assert (report.signing_time or "").endswith("+03:00")


async def test_fault_as_gis_sends_it(caller: GisCaller) -> None:
    from app.gis_client.operations import Service, get_state_operation
    from app.gis_client.wire.envelope import build_get_state

    root = build_get_state(Service.DEBT_REQUESTS, new_guid(), org_ppa_guid=caller.org_ppa_guid)
    reply = await caller.post(get_state_operation(Service.DEBT_REQUESTS), serialize(root))
    assert reply.status == 500 and reply.root is not None
    assert b"<env:Fault>" in reply.raw and b"<faultcode>env:Server</faultcode>" in reply.raw
    assert reply.root.findtext(".//faultstring", "").startswith("INT002013: ")
    assert b"<detail>" in reply.raw and b"<ns4:Fault>" in reply.raw and b"<ns4:ErrorMessage>" in reply.raw
    assert reply.fault_code == "INT002013"


async def test_accept_foreign_wcf_action_header(caller: GisCaller) -> None:
    op = OPERATIONS["exportDebtSubrequests"]
    body = _export_body()
    root = build_envelope(op, body, org_ppa_guid=caller.org_ppa_guid)
    header = root.find("soap:Header", NS)
    assert header is not None
    header.insert(0, etree.fromstring(WCF_ACTION))
    await sign_element(root, body, caller.signer)
    reply = await caller.post(op, serialize(root))
    assert reply.status == 200, reply.raw[:600]
    assert reply.root is not None and parse_ack(reply.root).message_guid


def _cert_pem(key_pem_holder: list[bytes], *, start: datetime, days: int) -> bytes:
    backend = get_backend("auto")
    key = _random_private_key("A")
    der = build_self_signed_certificate(key, "/CN=dated/O=Lab", backend=backend, days=days, now=lambda: start)
    key_pem_holder.append(key.pkcs8_pem())
    return bytes(pem.armor("CERTIFICATE", der))


@pytest.mark.parametrize(
    ("start_days", "days", "words"),
    [(-40, 10, "expired"), (+30, 365, "not valid before")],
)
async def test_refuse_certificate_outside_its_validity_with_own_code(
    stand: tuple[str, StandRuntime], admin: httpx.AsyncClient, start_days: int, days: int, words: str
) -> None:
    holder: list[bytes] = []
    cert = _cert_pem(holder, start=datetime.now(UTC) + timedelta(days=start_days), days=days)
    caller = await make_caller(stand[0], admin, (holder[0], cert))
    try:
        reply = await caller.send("exportDebtSubrequests", _export_body())
        assert reply.status == 500
        assert reply.fault_code == "AUT011004"
        assert reply.root is not None
        assert words in (reply.root.findtext(".//faultstring") or "")
    finally:
        await caller.http.aclose()
