"""ExchangeEngine.read_state: one parse for parsing, XSD validation (off/log/reject) and the signature."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
from lxml import etree

from app.db.models.exchange import Exchange
from app.gis_client.crypto.backend import generate_test_key, get_backend
from app.gis_client.crypto.signer import LocalKeySigner
from app.gis_client.crypto.xmldsig import sign_element_sync
from app.gis_client.errors import GisSchemaError, GisSignatureError
from app.gis_client.exchange import ExchangeEngine
from app.gis_client.operations import NS, NS_SOAP
from app.gis_client.wire.envelope import serialize
from app.gis_client.wire.transport import HttpReply, Transport
from app.gis_stand.results_builder import build_dsr_export, build_state_result
from app.settings import Settings
from tests.factories import settings_values
from tests.gis_client.samples.data import dsr_page, schema_dir, schemas


def _engine(**overrides: Any) -> ExchangeEngine:
    backend = get_backend("auto")
    key, cert = generate_test_key("/CN=t/O=gisgw", "A", backend=backend)
    values = {
        "env": "test",
        "database_url": "sqlite+aiosqlite://",
        "schema_dir": schema_dir(),
        "log_json": False,
    }
    settings = Settings(**settings_values({**values, **overrides}))
    transport = Transport(httpx.AsyncClient(), max_response_bytes=settings.gis.max_response_bytes)
    signer = LocalKeySigner(key, cert, backend)
    return ExchangeEngine(
        settings=settings, transport=transport, signer=signer, backend=backend, schemas=schemas()
    )


def _reply(*, break_schema: bool = False, tamper: bool = False) -> HttpReply:
    backend = get_backend("auto")
    key, cert = generate_test_key("/CN=gis/O=stand", "A", backend=backend)
    gis = LocalKeySigner(key, cert, backend)
    document = build_state_result("debt-requests", 3, str(uuid.uuid4()), [build_dsr_export(dsr_page(3))])
    result = document.find(f"{{{NS_SOAP}}}Body")[0]  # type: ignore[index]
    if break_schema:
        # An element the XSD does not know, after the last one: parse_state ignores it, the XSD does not.
        etree.SubElement(result, f"{{{NS['drs']}}}unexpected").text = "Иванов 112-233-445 95"
    sign_element_sync(document, result, gis.sign_digest_sync, gis.certificate, backend=backend)
    data = serialize(document)
    if tamper:
        data = data.replace(b"<drs:address>", b"<drs:address>X", 1)
    return HttpReply(200, data, 1)


def _row() -> Exchange:
    return Exchange(
        id=uuid.uuid4(), organisation_id=uuid.uuid4(), operation="exportDebtSubrequests", payload={}
    )


def test_valid_result_is_parsed_and_checked() -> None:
    engine = _engine(gis_verify_responses="reject", gis_validate_responses="reject")
    state = engine.read_state(_row(), _reply())
    assert state.done and len(state.payload.subrequests) == 3  # type: ignore[union-attr]


def test_schema_mismatch_logged_without_values(caplog: pytest.LogCaptureFixture) -> None:
    engine = _engine(gis_validate_responses="log")
    with caplog.at_level(logging.WARNING, logger="app.gis_client.exchange"):
        state = engine.read_state(_row(), _reply(break_schema=True))
    assert state.done
    assert "does not match the XSD" in caplog.text
    assert "Иванов" not in caplog.text and "112-233" not in caplog.text


def test_schema_mismatch_rejected_or_ignored() -> None:
    with pytest.raises(GisSchemaError):
        _engine(gis_validate_responses="reject").read_state(_row(), _reply(break_schema=True))
    assert _engine(gis_validate_responses="off").read_state(_row(), _reply(break_schema=True)).done


def test_tampered_result_rejected_on_the_parsed_tree() -> None:
    with pytest.raises(GisSignatureError):
        _engine(gis_verify_responses="reject").read_state(_row(), _reply(tamper=True))
