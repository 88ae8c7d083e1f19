"""`gisgw gis` commands through typer's CliRunner: keygen → sign → verify, tampering, bad input, validate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.gis_client.cli import gis_app

from .conftest import KeyFiles, run_openssl

runner = CliRunner()

UNSIGNED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:base="http://dom.gosuslugi.ru/schema/integration/base/" '
    b'xmlns:hm="http://dom.gosuslugi.ru/schema/integration/house-management/">'
    b"<s:Header><base:RequestHeader><base:Date>2025-03-03T10:15:00.123+03:00</base:Date>"
    b"<base:MessageGUID>4b2f7c1e-0000-4000-8000-000000000001</base:MessageGUID>"
    b"<base:orgPPAGUID>4b2f7c1e-0000-4000-8000-000000000009</base:orgPPAGUID></base:RequestHeader></s:Header>"
    b'<s:Body><hm:exportAccountRequest base:version="10.0.1.1">'
    b"<hm:FIASHouseGuid>4b2f7c1e-0000-4000-8000-00000000000a</hm:FIASHouseGuid>"
    b"</hm:exportAccountRequest></s:Body></s:Envelope>"
)


@pytest.fixture(scope="module")
def cli_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    out = tmp_path_factory.mktemp("cli-keys")
    result = runner.invoke(
        gis_app, ["keygen", "--out", str(out), "--subject", "/CN=cli test/O=Lab", "--paramset", "TCB"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "key.pem").stat().st_mode & 0o077 == 0
    return KeyFiles(out / "key.pem", out / "cert.pem")


@pytest.fixture(scope="module")
def signed_file(cli_keys: KeyFiles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cli-docs")
    (base / "in.xml").write_bytes(UNSIGNED)
    result = runner.invoke(
        gis_app, ["sign", "--key", str(cli_keys.key), "--cert", str(cli_keys.cert), str(base / "in.xml")]
    )
    assert result.exit_code == 0, result.output
    (base / "signed.xml").write_bytes(result.stdout_bytes)
    return base / "signed.xml"


def test_sign_adds_id_to_first_body_element(signed_file: Path) -> None:
    data = signed_file.read_bytes()
    assert (
        b'<hm:exportAccountRequest base:version="10.0.1.1" Id="signed-data-container"><ds:Signature' in data
    )


def test_verify_signed_document(signed_file: Path, cli_keys: KeyFiles) -> None:
    result = runner.invoke(gis_app, ["verify", str(signed_file), "--trusted", str(cli_keys.cert)])
    assert result.exit_code == 0, result.output
    assert "PASS  signature-value" in result.output
    assert result.output.rstrip().endswith("VALID")


def test_verify_tampered_document_exits_1(signed_file: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed_file.read_bytes().replace(b"00000000000a<", b"00000000000b<"))
    result = runner.invoke(gis_app, ["verify", str(tampered)])
    assert result.exit_code == 1
    assert "FAIL  reference-1" in result.output


@pytest.mark.parametrize("content", [b"not xml", b'<a xmlns="urn:x"/>', b"<!DOCTYPE a><a/>"])
def test_verify_unusable_input_exits_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    assert runner.invoke(gis_app, ["verify", str(path)]).exit_code == 2


def test_verify_missing_file_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(gis_app, ["verify", str(tmp_path / "missing.xml")]).exit_code == 2


@pytest.mark.openssl
def test_cli_key_usable_by_openssl(cli_keys: KeyFiles) -> None:
    res = run_openssl("verify", "-engine", "gost", "-CAfile", str(cli_keys.cert), str(cli_keys.cert))
    assert res.returncode == 0, res.stdout + res.stderr


def test_sign_with_mismatched_key_exits_2(cli_keys: KeyFiles, python_key: KeyFiles, tmp_path: Path) -> None:
    (tmp_path / "in.xml").write_bytes(UNSIGNED)
    result = runner.invoke(
        gis_app,
        ["sign", "--key", str(python_key.key), "--cert", str(cli_keys.cert), str(tmp_path / "in.xml")],
    )
    assert result.exit_code == 2


def test_validate_signed_document(signed_file: Path) -> None:
    result = runner.invoke(gis_app, ["validate", str(signed_file)])
    if result.exit_code == 2 and "not available" in result.output + str(result.stderr_bytes or b""):
        pytest.skip("schema validation not available")
    assert result.exit_code in (0, 1, 2)
    if result.exit_code == 2:
        pytest.skip(f"schema package unusable here: {result.output}")
    assert result.exit_code == 0, result.output
