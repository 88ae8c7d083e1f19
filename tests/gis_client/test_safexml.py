"""Safe XML parsing: XXE, entity expansion, DTDs and size limits fail cleanly and fast."""

from __future__ import annotations

import time

import pytest

from app.gis_client.errors import GisSchemaError
from app.gis_client.wire.safexml import HostileXmlError, XmlParseError, parse_xml


def test_parse_xml_plain_document_keeps_whitespace() -> None:
    root = parse_xml(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<a xmlns="urn:x"> <b>1</b>\n</a>', max_bytes=1000
    )
    assert root.tag == "{urn:x}a"
    assert root.text == " "
    assert root[0].tail == "\n"


@pytest.mark.parametrize(
    "doc",
    [
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "http://127.0.0.1:9/evil">]><a>&x;</a>',
        b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>',
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><a/>',
        b"<!DOCTYPE a><a/>",
    ],
    ids=["xxe-file", "xxe-network", "external-dtd", "parameter-entity", "bare-doctype"],
)
def test_parse_xml_rejects_doctype(doc: bytes) -> None:
    with pytest.raises(XmlParseError):
        parse_xml(doc, max_bytes=10_000)


def test_parse_xml_rejects_billion_laughs_fast() -> None:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    doc = f'<!DOCTYPE a [<!ENTITY l0 "lol">{entities}]><a>&l9;</a>'.encode()
    start = time.perf_counter()
    with pytest.raises(XmlParseError):
        parse_xml(doc, max_bytes=100_000)
    assert time.perf_counter() - start < 1.0


def test_parse_xml_rejects_file_xxe_without_reading_it() -> None:
    with pytest.raises(XmlParseError) as info:
        parse_xml(b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/hostname">]><a>&x;</a>', max_bytes=1000)
    assert "DOCTYPE" in str(info.value) or "entity" in str(info.value).lower()


def test_parse_xml_doctype_error_is_hostile() -> None:
    with pytest.raises(HostileXmlError):
        parse_xml(b"<!DOCTYPE a [<!ELEMENT a ANY>]><a/>", max_bytes=1000)


def test_parse_xml_rejects_oversized_body_before_parsing() -> None:
    big = b"<a>" + b"x" * (100 * 1024 * 1024) + b"</a>"
    start = time.perf_counter()
    with pytest.raises(XmlParseError, match="exceeds"):
        parse_xml(big, max_bytes=64 * 1024 * 1024)
    assert time.perf_counter() - start < 0.5


def test_parse_xml_malformed_is_typed_gis_error() -> None:
    with pytest.raises(GisSchemaError):
        parse_xml(b"<a><b></a>", max_bytes=1000)


def test_parse_xml_refuses_str() -> None:
    with pytest.raises(TypeError):
        parse_xml("<a/>", max_bytes=1000)  # type: ignore[arg-type]
