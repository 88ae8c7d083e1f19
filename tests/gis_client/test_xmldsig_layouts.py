"""Verification never mutates what it verifies: GIS's wire layout (gis-protocol.md §16), prefix layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from typer.testing import CliRunner

from app.gis_client.cli import gis_app
from app.gis_client.crypto import xmldsig
from app.gis_client.crypto.backend import get_backend
from app.gis_client.crypto.keys import CertificateInfo, GostPrivateKey, load_certificate, load_private_key

from .conftest import KeyFiles

DS_URI = "http://www.w3.org/2000/09/xmldsig#"
BASE_URI = "http://dom.gosuslugi.ru/schema/integration/base/"
DRS_URI = "http://dom.gosuslugi.ru/schema/integration/drs/"
SOAP_URI = "http://schemas.xmlsoap.org/soap/envelope/"
# ns5…ns12 of §16: the base namespaces GIS declares on every Envelope whether used or not.
GIS_BASES = [
    "http://dom.gosuslugi.ru/schema/integration/account-base/",
    "http://dom.gosuslugi.ru/schema/integration/nsi-base/",
    "http://dom.gosuslugi.ru/schema/integration/individual-registry-base/",
    "http://dom.gosuslugi.ru/schema/integration/metering-device-base/",
    "http://dom.gosuslugi.ru/schema/integration/organizations-registry-base/",
    "http://dom.gosuslugi.ru/schema/integration/organizations-base/",
    "http://dom.gosuslugi.ru/schema/integration/payments-base/",
    "http://dom.gosuslugi.ru/schema/integration/bills-base/",
]

runner = CliRunner()


def _result(base: str, drs: str) -> str:
    return (
        f'<{drs}:getStateResult {base}:version="14.0.0.0" Id="signed-data-container">\n'
        f"    <{base}:RequestState>3</{base}:RequestState>\n"
        f"    <{base}:MessageGUID>4b2f7c1e-0000-4000-8000-000000000001</{base}:MessageGUID>\n"
        f"    <{drs}:pagedOutput><{drs}:lastPage>true</{drs}:lastPage></{drs}:pagedOutput>\n"
        f"  </{drs}:getStateResult>"
    )


def _sign_then_declare(
    key: GostPrivateKey, cert: CertificateInfo, envelope: str, extra_declarations: str
) -> bytes:
    """Sign getStateResult, then declare namespaces on the Envelope start tag (no signed byte changes)."""
    backend = get_backend("auto")
    root = etree.fromstring(envelope.encode())
    element = root.find(".//{*}getStateResult")
    assert element is not None
    xmldsig.sign_element_sync(root, element, lambda d: backend.sign_digest(key, d), cert, backend=backend)
    signed = bytes(etree.tostring(root))
    # The Signature declares its own xmlns:ds because no ancestor binds the xmldsig URI while signing; GIS's
    # Java stack adds the Envelope's numbered row on top (§16), which is what is reproduced here.
    head, sep, rest = signed.partition(b" ")
    assert head.startswith(b"<") and sep
    return head + b" " + extra_declarations.encode() + b" " + rest


def gis_layout_result(key_files: KeyFiles) -> bytes:
    """Return a getStateResult signed the way GIS answers: env:, ns3 = xmldsig … ns13 = drs, own xmlns:ds."""
    key, cert = load_private_key(key_files.key_pem), load_certificate(key_files.cert_pem)
    bases = " ".join(f'xmlns:ns{5 + i}="{uri}"' for i, uri in enumerate(GIS_BASES))
    envelope = (
        f'<env:Envelope xmlns:env="{SOAP_URI}" xmlns:ns4="{BASE_URI}" {bases} xmlns:ns13="{DRS_URI}">\n'
        f"<env:Header>\n  <ns4:ResultHeader>\n    <ns4:Date>2025-03-03T10:15:00.123+03:00</ns4:Date>\n"
        f"    <ns4:MessageGUID>4b2f7c1e-0000-4000-8000-000000000002</ns4:MessageGUID>\n"
        f"  </ns4:ResultHeader>\n</env:Header>\n<env:Body>\n  {_result('ns4', 'ns13')}\n</env:Body>\n"
        f"</env:Envelope>"
    )
    return _sign_then_declare(key, cert, envelope, f'xmlns:ns3="{DS_URI}"')


def test_verify_gis_layout_result(python_key: KeyFiles) -> None:
    data = gis_layout_result(python_key)
    assert b'xmlns:ns3="http://www.w3.org/2000/09/xmldsig#"' in data
    assert b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"' in data
    report = xmldsig.verify(data, trusted_certs=[python_key.cert_pem])
    assert report.valid, report.failed()


def test_verify_tree_leaves_tree_unchanged(python_key: KeyFiles) -> None:
    data = gis_layout_result(python_key)
    root = etree.fromstring(data)
    before = etree.tostring(root)
    assert xmldsig.verify_tree(root).valid
    assert etree.tostring(root) == before
    # Verifying twice on the same tree gives the same answer (the first pass changed nothing).
    assert xmldsig.verify_tree(root).valid


@pytest.mark.parametrize(
    ("old", "new", "failing"),
    [
        (b"<ns4:RequestState>3<", b"<ns4:RequestState>2<", "reference-1"),
        (b"<ns13:lastPage>true<", b"<ns13:lastPage>false<", "reference-1"),
        (b"+03:00</xades:SigningTime>", b"+04:00</xades:SigningTime>", "signed-properties"),
    ],
)
def test_verify_gis_layout_tampered(python_key: KeyFiles, old: bytes, new: bytes, failing: str) -> None:
    data = gis_layout_result(python_key)
    assert old in data
    report = xmldsig.verify(data.replace(old, new, 1))
    assert not report.valid
    check = report.check(failing)
    assert check is not None and not check.ok


def test_verify_gis_layout_signature_value_tampered(python_key: KeyFiles) -> None:
    data = gis_layout_result(python_key)
    root = etree.fromstring(data)
    value = root.find(f".//{{{DS_URI}}}SignatureValue")
    assert value is not None and value.text
    flipped = ("B" if value.text[0] != "B" else "C") + value.text[1:]
    report = xmldsig.verify(data.replace(value.text.encode(), flipped.encode()))
    check = report.check("signature-value")
    assert check is not None and not check.ok


def test_gis_verify_command_gis_layout(python_key: KeyFiles, tmp_path: Path) -> None:
    good = tmp_path / "result.xml"
    good.write_bytes(gis_layout_result(python_key))
    result = runner.invoke(gis_app, ["verify", str(good), "--trusted", str(python_key.cert)])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output
    bad = tmp_path / "tampered.xml"
    bad.write_bytes(good.read_bytes().replace(b"<ns4:RequestState>3<", b"<ns4:RequestState>2<"))
    result = runner.invoke(gis_app, ["verify", str(bad), "--trusted", str(python_key.cert)])
    assert result.exit_code == 1, result.output
    assert "FAIL  reference-1" in result.output and "INVALID" in result.output


# Prefix layouts: the body's own prefixes, and declarations on its ancestors bound to the xmldsig URI, to a
# service URI, to unrelated URIs, default namespaces, all unused by the signed data.
_PREFIXES = st.sampled_from(["ns3", "ns4", "ns13", "ds", "base", "drs", "xades", "a", "s"])
_URIS = st.sampled_from([DS_URI, BASE_URI, DRS_URI, SOAP_URI, "urn:unused", *GIS_BASES[:2]])
_DECLARATIONS = st.dictionaries(st.one_of(_PREFIXES, st.just("")), _URIS, max_size=6)


def _declare(mapping: dict[str, str]) -> str:
    return " ".join(f'xmlns:{p}="{u}"' if p else f'xmlns="{u}"' for p, u in mapping.items())


@pytest.fixture(scope="module")
def layout_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[GostPrivateKey, CertificateInfo]:
    from app.gis_client.crypto.backend import generate_test_key

    key_pem, cert_pem = generate_test_key("/CN=layouts/O=Lab")
    del tmp_path_factory
    return load_private_key(key_pem), load_certificate(cert_pem)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body_prefixes=st.tuples(
        st.sampled_from(["ns4", "base", "b", "ns3"]), st.sampled_from(["ns13", "drs", "d"])
    ),
    on_envelope=_DECLARATIONS,
    on_body=_DECLARATIONS,
)
def test_verify_any_prefix_layout(
    layout_key: tuple[GostPrivateKey, CertificateInfo],
    body_prefixes: tuple[str, str],
    on_envelope: dict[str, str],
    on_body: dict[str, str],
) -> None:
    key, cert = layout_key
    base, drs = body_prefixes
    # The result declares its own prefixes; "env" stays the SOAP prefix so the Envelope parses.
    on_envelope.pop("env", None)
    on_body.pop("env", None)
    envelope = (
        f'<env:Envelope xmlns:env="{SOAP_URI}">\n<env:Body {_declare(on_body)}>\n  '
        + _result(base, drs).replace(
            "getStateResult ", f'getStateResult xmlns:{base}="{BASE_URI}" xmlns:{drs}="{DRS_URI}" ', 1
        )
        + "\n</env:Body></env:Envelope>"
    )
    data = _sign_then_declare(key, cert, envelope, _declare(on_envelope))
    root = etree.fromstring(data)
    before = etree.tostring(root)
    report = xmldsig.verify_tree(root)
    assert report.valid, (report.failed(), data[:400])
    assert etree.tostring(root) == before
    _assert_cut_equals_copy(root)
    tampered = data.replace(b">3</", b">2</", 1)
    assert not xmldsig.verify(tampered).valid


def _assert_cut_equals_copy(root: etree._Element) -> bytes | None:
    """The enveloped transform cut from the whole exc-c14n form equals the one on a copy, when it is used."""
    signature = next(root.iter(f"{{{DS_URI}}}Signature"))
    target = signature.getparent()
    assert target is not None
    cut = xmldsig._exc_c14n_without_first_child(target, signature)
    assert cut is None or cut == xmldsig._c14n_without(target, signature, xmldsig.EXC_C14N, None)
    return cut


def test_enveloped_cut_used_for_gis_layout(python_key: KeyFiles) -> None:
    assert _assert_cut_equals_copy(etree.fromstring(gis_layout_result(python_key))) is not None


def test_enveloped_cut_declines_when_target_renders_signature_namespace(
    layout_key: tuple[GostPrivateKey, CertificateInfo],
) -> None:
    # The signed element itself uses the xmldsig prefix, so it renders xmlns:ds and the Signature inside
    # does not: the Signature canonicalised alone differs from its rendering in place, and the copy is used.
    key, cert = layout_key
    envelope = (
        f'<env:Envelope xmlns:env="{SOAP_URI}"><env:Body>'
        + _result("ns4", "ns13").replace(
            "getStateResult ",
            f'getStateResult xmlns:ns4="{BASE_URI}" xmlns:ns13="{DRS_URI}" xmlns:ds="{DS_URI}" ds:x="1" ',
            1,
        )
        + "</env:Body></env:Envelope>"
    )
    root = etree.fromstring(_sign_then_declare(key, cert, envelope, ""))
    assert _assert_cut_equals_copy(root) is None
    assert xmldsig.verify_tree(root).valid


def test_date_and_signing_time_in_moscow_whatever_the_host_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from app.gis_client.wire.envelope import format_datetime, now_local

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert xmldsig.local_signing_time().endswith("+03:00")
        assert format_datetime(now_local()).endswith("+03:00")
    finally:
        monkeypatch.undo()
        time.tzset()
