"""Parse untrusted XML (GIS answers, uploaded documents) without entities, DTDs, network or huge trees."""

from __future__ import annotations

from lxml import etree

from app.gis_client.errors import GisSchemaError

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class XmlParseError(GisSchemaError):
    """The bytes are not well-formed XML (or are too large)."""


class HostileXmlError(XmlParseError):
    """The document uses a DOCTYPE, entities or other constructs refused for safety."""


def _parser() -> etree.XMLParser:
    # lxml parsers are not thread-safe to share while parsing; a new one per call is cheap (microseconds).
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=False,  # whitespace is signed content: keep every byte as received
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
    )


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse bytes into an element tree, refusing DOCTYPEs, entities and oversized input."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_xml takes bytes, not str (the declared encoding must be honoured)")
    if len(data) > max_bytes:
        raise XmlParseError(f"XML document of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    try:
        tree = etree.fromstring(bytes(data), parser=_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise XmlParseError(f"malformed XML: {exc.msg}", line=exc.lineno) from None
    # No legitimate GIS message carries a DOCTYPE; one is the vehicle of XXE and entity-expansion attacks.
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:  # type: ignore[union-attr]
        raise HostileXmlError("DOCTYPE declarations are not allowed")
    root = tree.getroot()
    for node in root.iter(etree.Entity):
        raise HostileXmlError(f"entity reference {node.text} is not allowed")
    return root
