"""`gisgw gis` commands: test keys, signing, signature verification and XSD validation of GIS messages."""

from __future__ import annotations

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()  # OPENSSL_CONF must be set before anything below initialises OpenSSL

import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402
from lxml import etree  # noqa: E402

from app.gis_client.crypto.backend import generate_test_key, get_backend  # noqa: E402
from app.gis_client.crypto.keys import GostCryptoError, IssuerStyle, load_certificate, load_private_key  # noqa: E402
from app.gis_client.crypto.xmldsig import (  # noqa: E402
    DEFAULT_CONTAINER_ID,
    UnusableSignatureError,
    sign_element_sync,
    verify,
)
from app.gis_client.errors import GisError  # noqa: E402
from app.gis_client.wire.safexml import XmlParseError, parse_xml  # noqa: E402

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_INPUT = 64 * 1024 * 1024

gis_app = typer.Typer(
    help="GIS ZhKKh messages: GOST keys, XAdES-BES signatures, XSD validation.", no_args_is_help=True
)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None


@gis_app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="directory for key.pem and cert.pem")],
    subject: Annotated[
        str, typer.Option(help='certificate subject, e.g. "/CN=test/O=Lab"')
    ] = "/CN=gisgw test/O=gisgw",
    paramset: Annotated[str, typer.Option(help="A, B, C, XA, XB, TCA..TCD")] = "A",
    backend: Annotated[str, typer.Option(help="auto, openssl or python")] = "auto",
) -> None:
    """Generate a GOST 2012-256 test key and a self-signed certificate."""
    try:
        key_pem, cert_pem = generate_test_key(subject, paramset, backend=get_backend(backend))
    except (GostCryptoError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    key_path = out / "key.pem"
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.chmod(0o600)  # a private key: owner only
    key_path.write_bytes(key_pem)
    (out / "cert.pem").write_bytes(cert_pem)
    cert = load_certificate(cert_pem)
    typer.echo(f"wrote {key_path} and {out / 'cert.pem'} (paramset {cert.paramset}, serial {cert.serial})")


def _target(root: etree._Element) -> etree._Element:
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("Id") == DEFAULT_CONTAINER_ID:
            return el
    body = root.find(f"{{{SOAP_NS}}}Body")
    if body is None or not len(body):
        typer.echo(f'error: no element with Id="{DEFAULT_CONTAINER_ID}" and no SOAP Body element', err=True)
        raise typer.Exit(2)
    first: etree._Element = body[0]
    first.set("Id", DEFAULT_CONTAINER_ID)
    return first


@gis_app.command()
def sign(
    document: Annotated[Path, typer.Argument(help="XML file to sign")],
    key: Annotated[Path, typer.Option("--key", help="PKCS#8 PEM private key")],
    cert: Annotated[Path, typer.Option("--cert", help="PEM or DER certificate")],
    issuer_style: Annotated[str, typer.Option(help="X509IssuerName style: server or der")] = "server",
    backend: Annotated[str, typer.Option(help="auto, openssl or python")] = "auto",
) -> None:
    """Sign the Id="signed-data-container" element (or the first SOAP Body element); print the result."""
    if issuer_style not in ("server", "der"):
        typer.echo("error: --issuer-style must be server or der", err=True)
        raise typer.Exit(2)
    style: IssuerStyle = "server" if issuer_style == "server" else "der"
    try:
        root = parse_xml(_read(document), max_bytes=MAX_INPUT)
        crypto = get_backend(backend)
        private_key = load_private_key(_read(key))
        certificate = load_certificate(_read(cert))
        if crypto.public_key(private_key) != certificate.public_key:
            raise GostCryptoError("the key does not match the certificate")
        sign_element_sync(
            root,
            _target(root),
            lambda digest: crypto.sign_digest(private_key, digest),
            certificate,
            issuer_style=style,
            backend=crypto,
        )
    except (GisError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # Serialise once: these bytes are what was signed.
    sys.stdout.buffer.write(etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8"))
    sys.stdout.buffer.flush()


@gis_app.command("verify")
def verify_command(
    document: Annotated[Path, typer.Argument(help="signed XML file (checked byte for byte as stored)")],
    trusted: Annotated[
        list[Path] | None, typer.Option("--trusted", help="trusted CA/certificate (repeat)")
    ] = None,
    backend: Annotated[str, typer.Option(help="auto, openssl or python")] = "auto",
) -> None:
    """Verify the XAdES-BES signature; exit 0 valid, 1 invalid, 2 unusable input."""
    try:
        anchors = [_read(p) for p in trusted] if trusted else None
        report = verify(
            _read(document), trusted_certs=anchors, backend=get_backend(backend), max_bytes=MAX_INPUT
        )
    except (UnusableSignatureError, XmlParseError, GisError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for check in report.checks:
        typer.echo(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.reason}")
    if report.signer_subject:
        typer.echo(
            f"signer: {report.signer_subject} (serial {report.signer_serial}), signed {report.signing_time}"
        )
    typer.echo("VALID" if report.valid else "INVALID")
    raise typer.Exit(0 if report.valid else 1)


@gis_app.command()
def doctor(
    offline: Annotated[bool, typer.Option(help="skip the network checks (TLS, clock, getState)")] = False,
    org_ppa_guid: Annotated[
        str | None, typer.Option(help="orgPPAGUID for the getState round trip (default: a random one)")
    ] = None,
) -> None:
    """Check keys, certificate, crypto, schemas, TLS, clock and a getState round trip; exit 1 on a FAIL."""
    from app.gis_client.doctor import run_doctor
    from app.settings import get_settings

    checks = run_doctor(
        get_settings(), network=not offline, org_ppa_guid=org_ppa_guid, emit=lambda c: typer.echo(c.line())
    )
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


@gis_app.command()
def validate(
    document: Annotated[Path, typer.Argument(help="SOAP envelope or GIS business element")],
    schema_dir: Annotated[Path | None, typer.Option(help="official XSD package (default: settings)")] = None,
) -> None:
    """Validate a message against the official GIS XSD; exit 0 valid, 1 invalid, 2 unusable."""
    try:
        from app.gis_client.wire.schemas import SchemaSet
    except ImportError:
        typer.echo("schema validation not available", err=True)
        raise typer.Exit(2) from None
    try:
        root = parse_xml(_read(document), max_bytes=MAX_INPUT)
        schemas = SchemaSet.load(schema_dir)
    except GisError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        if root.tag == f"{{{SOAP_NS}}}Envelope":
            schemas.validate_envelope(root)
        else:
            schemas.validate(root)
    except GisError as exc:
        typer.echo(f"INVALID: {exc}")
        for line in getattr(exc, "details", ())[1:]:
            typer.echo(f"  {line}")
        raise typer.Exit(1) from None
    typer.echo("VALID")
