"""TLS settings: the effective mode, refused combinations, the client certificate, typed handshake errors."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from app.gis_client.retry import is_retryable
from app.gis_client.tls import (
    GisTlsConfigError,
    GisTlsError,
    build_ssl_context,
    client_certificate,
    tls_error,
    tls_mode,
)
from app.gis_client.wire.transport import not_delivered
from app.settings import Settings
from tests.conftest import make_settings

from .conftest import KeyFiles


def _settings(**values: Any) -> Settings:
    return make_settings("sqlite+aiosqlite://", **values)


def test_tls_mode_defaults_by_scheme() -> None:
    assert tls_mode(_settings(gis_base_url="https://api.dom.gosuslugi.ru")) == "gost"
    assert tls_mode(_settings(gis_base_url="http://127.0.0.1:8081")) == "off"
    assert tls_mode(_settings(gis_base_url="https://x", gis_tls="standard")) == "standard"


@pytest.mark.parametrize(
    ("url", "mode"), [("https://api.dom.gosuslugi.ru", "off"), ("http://127.0.0.1:8081", "gost")]
)
def test_build_ssl_context_refuses_scheme_mismatch(url: str, mode: str) -> None:
    with pytest.raises(GisTlsConfigError):
        build_ssl_context(make_settings("sqlite+aiosqlite://", gis_base_url=url, gis_tls=mode))


def test_plain_http_has_no_context() -> None:
    assert build_ssl_context(make_settings("sqlite+aiosqlite://", gis_base_url="http://127.0.0.1:1")) is None


@pytest.mark.openssl
def test_gost_context_with_signing_pair_as_client_certificate(python_key: KeyFiles) -> None:
    settings = make_settings(
        "sqlite+aiosqlite://",
        gis_base_url="https://api.dom.gosuslugi.ru",
        signing_key_path=python_key.key,
        signing_cert_path=python_key.cert,
        gis_tls_ca_file=python_key.cert,
    )
    pair = client_certificate(settings)
    assert pair is not None and pair.cert_path == python_key.cert and pair.key_path == python_key.key
    context = build_ssl_context(settings)
    assert context is not None
    assert context.maximum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    names = {c["name"] for c in context.get_ciphers()}
    assert {"LEGACY-GOST2012-GOST8912-GOST8912", "IANA-GOST2012-GOST8912-GOST8912"} <= names


@pytest.mark.openssl
def test_unreadable_client_key_stops_the_start(python_key: KeyFiles, tmp_path: Path) -> None:
    (tmp_path / "broken.pem").write_text("not a key")
    settings = make_settings(
        "sqlite+aiosqlite://",
        gis_base_url="https://api.dom.gosuslugi.ru",
        gis_tls_cert_path=python_key.cert,
        gis_tls_key_path=tmp_path / "broken.pem",
    )
    with pytest.raises(GisTlsConfigError, match="TLS client certificate"):
        build_ssl_context(settings)


def test_tls_error_is_typed_final_and_not_delivered() -> None:
    raw = ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure")
    raw.reason = "SSLV3_ALERT_HANDSHAKE_FAILURE"
    wrapped = ConnectionError("connect failed")
    wrapped.__cause__ = raw
    typed = tls_error(wrapped)
    assert isinstance(typed, GisTlsError) and typed.cause == "no-common-cipher"
    assert not is_retryable(typed) and not_delivered(typed)
    assert tls_error(ConnectionError("refused")) is None
