"""Envelope + signature: signing applied last keeps the message XSD-valid and verifiable after parsing."""

from __future__ import annotations

from app.gis_client.crypto.backend import generate_test_key, get_backend
from app.gis_client.crypto.signer import LocalKeySigner
from app.gis_client.crypto.xmldsig import sign_element, verify
from app.gis_client.messages import build_import_dsr_responses
from app.gis_client.operations import NS
from app.gis_client.parse import body_element, parse_state
from app.gis_client.services import get_operation
from app.gis_client.wire.envelope import build_envelope, serialize
from app.gis_client.wire.safexml import parse_xml
from app.gis_stand.results_builder import build_dsr_export, build_state_result
from tests.gis_client.samples.data import dsr_page, g, schemas, send_action


async def test_sign_envelope_then_validate_and_verify() -> None:
    backend = get_backend("auto")
    key_pem, cert_pem = generate_test_key(backend=backend)
    env = build_envelope(
        get_operation("importResponses"), build_import_dsr_responses([send_action()]), org_ppa_guid=g()
    )
    body = body_element(env)
    await sign_element(env, body, LocalKeySigner(key_pem, cert_pem, backend))
    assert body[0].tag == f"{{{NS['ds']}}}Signature"
    data = serialize(env)
    received = parse_xml(data)
    schemas().validate_envelope(received)
    report = verify(data, trusted_certs=[cert_pem], backend=backend)
    assert report.valid, report.failed


async def test_sign_state_result_then_parse() -> None:
    backend = get_backend("auto")
    key_pem, cert_pem = generate_test_key(backend=backend)
    page = dsr_page(2)
    env = build_state_result("debt-requests", 3, g(), [build_dsr_export(page)])
    await sign_element(env, body_element(env), LocalKeySigner(key_pem, cert_pem, backend))
    data = serialize(env)
    report = verify(data, trusted_certs=[cert_pem], backend=backend)
    assert report.valid, report.failed
    received = parse_xml(data)
    schemas().validate_envelope(received)
    assert parse_state(received).payload == page
