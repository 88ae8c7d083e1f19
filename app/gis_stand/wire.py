"""GIS's own wire layout for the stand's answers (gis-protocol.md §16): what a Java SOAP stack writes.

The builders in gis_client write our conventional prefixes; real GIS answers with `env:` and a row of
numbered prefixes declared on the Envelope whether used or not (ns3 = xmldsig, ns4 = base, ns5…ns12 the
base namespaces, ns13 the service), indents, echoes the requester's MessageGUID in ResultHeader, and its
getStateResult Signature declares its own `xmlns:ds` although ns3 binds the same URI. The stand re-renders
every answer that way so the gateway never meets a layout in production that no test produced.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from app.gis_client.operations import NS, NS_BASE, NS_DS, NS_SOAP, SERVICES, Service
from app.gis_client.wire.envelope import format_datetime, now_local

_XSI_TYPE = f"{{{NS['xsi']}}}type"

#: ns5…ns12 of §16, in GIS's order.
BASE_NAMESPACES: tuple[str, ...] = tuple(
    f"http://dom.gosuslugi.ru/schema/integration/{name}/"
    for name in (
        "account-base",
        "nsi-base",
        "individual-registry-base",
        "metering-device-base",
        "organizations-registry-base",
        "organizations-base",
        "payments-base",
        "bills-base",
    )
)


def gis_nsmap(service: Service | None) -> dict[str, str]:
    """Return the Envelope declarations GIS writes, without ns3 (added after signing, see `serialize_gis`)."""
    nsmap = {"env": NS_SOAP, "ns4": NS_BASE}
    nsmap.update({f"ns{5 + i}": uri for i, uri in enumerate(BASE_NAMESPACES)})
    if service is not None:
        nsmap["ns13"] = NS[SERVICES[service].prefix]
    return nsmap


def _copy_into(parent: etree._Element, source: etree._Element) -> None:
    """Append a copy of source under parent, letting lxml pick the Envelope's prefix for each namespace."""
    if not isinstance(source.tag, str):
        return  # comments and processing instructions: the builders write none
    element = _SubElement(parent, source.tag)
    if source.attrib:  # most elements have none: skip the attribute work for them
        _copy_attributes(element, source)
    text = source.text
    if text is not None:
        element.text = text
    tail = source.tail
    if tail is not None:
        element.tail = tail
    for child in source:
        _copy_into(element, child)


_SubElement = etree.SubElement


def _copy_attributes(element: etree._Element, source: etree._Element) -> None:
    attrib: dict[str, str] = {str(k): str(v) for k, v in source.attrib.items()}
    xsi_type = attrib.get(_XSI_TYPE)
    for name, value in attrib.items():
        if name != _XSI_TYPE:
            element.set(name, value)
    if xsi_type is not None:
        # A QName in content: re-spell its prefix for the namespace it names in the new context.
        prefix, _, local = xsi_type.rpartition(":")
        uri = source.nsmap.get(prefix or None)
        new_prefix = next((p for p, u in element.nsmap.items() if u == uri), None) if uri else None
        element.set(_XSI_TYPE, f"{new_prefix}:{local}" if new_prefix else xsi_type)


def to_gis_layout(document: etree._Element, service: Service | None) -> etree._Element:
    """Re-render a SOAP envelope built by the gis_client builders in GIS's prefixes, indented."""
    root = etree.Element(f"{{{NS_SOAP}}}Envelope", nsmap=gis_nsmap(service))
    for part in document:
        _copy_into(root, part)
    # Indentation between elements as GIS writes it; done before signing, so the signed bytes include it.
    etree.indent(root, space="  ")
    return root


_NS3 = f'xmlns:ns3="{NS_DS}"'.encode()


def serialize_gis(root: etree._Element) -> bytes:
    """Serialise once and add GIS's unused ``xmlns:ns3`` (= xmldsig) to the Envelope start tag.

    Declared textually after signing: had it been in the tree while signing, lxml would have bound the
    Signature to ``ns3:`` instead of its own ``ds:``, the very layout that GIS sends and verifiers trip on.
    No signed byte changes (exclusive c14n renders only the namespaces an element uses).
    """
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data.replace(b"<env:Envelope ", b"<env:Envelope " + _NS3 + b" ", 1)


_HEADER_DATE = re.compile(rb"(<ns4:ResultHeader>\s*<ns4:Date>)[^<]*(</ns4:Date>)")
_HEADER_GUID = re.compile(rb"(</ns4:Date>\s*<ns4:MessageGUID>)[^<]*(</ns4:MessageGUID>)")


def restamp(data: bytes, message_guid: str, date: datetime | None = None) -> bytes:
    """Return a stored answer with a fresh ResultHeader (Date, requester's MessageGUID); body untouched."""
    head, sep, rest = data.partition(b"<env:Body")
    stamp = format_datetime(date or now_local()).encode()
    head = _HEADER_DATE.sub(lambda m: m.group(1) + stamp + m.group(2), head, count=1)
    head = _HEADER_GUID.sub(lambda m: m.group(1) + message_guid.encode() + m.group(2), head, count=1)
    return head + sep + rest
