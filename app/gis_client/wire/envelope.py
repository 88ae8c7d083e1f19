"""SOAP 1.1 envelopes with base:RequestHeader, built so that signing can be applied last."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date as date_type
from datetime import datetime
from decimal import Decimal

from lxml import etree

from app.gis_client.moscow import MOSCOW, moscow_now
from app.gis_client.operations import (
    BASE_VERSION_ATTR,
    NS,
    SIGNED_ID,
    Operation,
    Service,
    get_state_operation,
    q,
)

Scalar = str | int | bool | Decimal | date_type | datetime

_PREFIX_BY_URI: dict[str, str] = {uri: prefix for prefix, uri in NS.items()}


@dataclass(frozen=True, slots=True)
class ISCreator:
    """Another information system that produced the data (imports only, ≤255 chars each)."""

    is_name: str
    is_operator_name: str


def new_guid() -> str:
    """Return a fresh lower-case UUID4 string, as GIS GUIDType wants it."""
    return str(uuid.uuid4())


def now_local() -> datetime:
    """Return the current Moscow time (+03:00): GIS writes header Dates so whatever the host's zone."""
    return moscow_now()


def format_datetime(value: datetime) -> str:
    """Format an xs:dateTime with milliseconds and offset (`2025-03-03T10:15:00.123+03:00`)."""
    if value.tzinfo is None:
        value = value.astimezone(MOSCOW)
    return value.isoformat(timespec="milliseconds")


def to_text(value: Scalar) -> str:
    """Render a Python scalar in its XSD lexical form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date_type):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@functools.lru_cache(maxsize=4096)
def _qname(prefix: str, local: str) -> str:
    return q(prefix, local)


def sub(parent: etree._Element, prefix: str, local: str, value: Scalar | None = None) -> etree._Element:
    """Append `prefix:local` (with text when value is given) and return it."""
    el = etree.SubElement(parent, _qname(prefix, local))
    if value is not None:
        # str first: most values are GUIDs and names (to_text's isinstance chain is measurable per message)
        el.text = value if type(value) is str else to_text(value)
    return el


def sub_opt(parent: etree._Element, prefix: str, local: str, value: Scalar | None) -> None:
    """Append `prefix:local` only when value is not None."""
    if value is not None:
        sub(parent, prefix, local, value)


def sub_many(parent: etree._Element, prefix: str, local: str, values: Iterable[Scalar]) -> None:
    """Append one `prefix:local` per value."""
    for value in values:
        sub(parent, prefix, local, value)


def nsmap_for(*prefixes: str) -> dict[str, str]:
    """Return an nsmap declaring the given conventional prefixes."""
    return {p: NS[p] for p in prefixes}


def new_body(op: Operation, *, extra_prefixes: Iterable[str] = ()) -> etree._Element:
    """Create the request body element of an operation with its namespaces declared."""
    prefixes = ["base", op.info.prefix, *extra_prefixes]
    return etree.Element(op.body, nsmap=nsmap_for(*dict.fromkeys(prefixes)))


def _header(
    service_header: str,
    *,
    org_ppa_guid: str | None,
    message_guid: str,
    date: datetime,
    is_operator_signature: bool,
    is_creators: Iterable[ISCreator],
) -> etree._Element:
    header = etree.Element(q("base", service_header))
    # XSD order: Date, MessageGUID, (SenderID | orgPPAGUID | Citizen), IsOperatorSignature?, ISCreator*.
    sub(header, "base", "Date", date)
    sub(header, "base", "MessageGUID", message_guid)
    if service_header == "RequestHeader":
        if not org_ppa_guid:
            raise ValueError("orgPPAGUID is required in base:RequestHeader")
        sub(header, "base", "orgPPAGUID", org_ppa_guid)
        if is_operator_signature:
            sub(header, "base", "IsOperatorSignature", True)
    for creator in is_creators:
        block = sub(header, "base", "ISCreator")
        sub(block, "base", "ISName", creator.is_name)
        sub(block, "base", "ISOperatorName", creator.is_operator_name)
    return header


def frame(header: etree._Element, body: etree._Element, prefixes: Iterable[str] = ()) -> etree._Element:
    """Put a header block and a body element into a SOAP 1.1 envelope with final namespaces."""
    prefixes = [*prefixes, *(p for p in used_prefixes(body) if p not in ("soap", "base"))]
    nsmap = nsmap_for(*dict.fromkeys(["soap", "base", *prefixes]))
    envelope = etree.Element(q("soap", "Envelope"), nsmap=nsmap)
    etree.SubElement(envelope, q("soap", "Header")).append(header)
    etree.SubElement(envelope, q("soap", "Body")).append(body)
    # Hoist every declaration to the Envelope now, so the namespace context is final before signing
    # (exc-c14n of the body must not change afterwards) and the body carries no redundant xmlns.
    etree.cleanup_namespaces(envelope, top_nsmap=nsmap)
    return envelope


def build_envelope(
    op: Operation,
    body: etree._Element,
    *,
    org_ppa_guid: str | None,
    message_guid: str | None = None,
    date: datetime | None = None,
    is_operator_signature: bool = True,
    is_creators: Iterable[ISCreator] = (),
) -> etree._Element:
    """Wrap a request body into a SOAP 1.1 envelope ready for signing (Id and base:version set)."""
    if body.tag != op.body:
        raise ValueError(f"{op.name} expects body {op.body}, got {body.tag}")
    if op.signed:
        body.set("Id", SIGNED_ID)
    if op.version is not None:
        body.set(BASE_VERSION_ATTR, op.version)
    header = _header(
        op.info.header,
        org_ppa_guid=org_ppa_guid,
        message_guid=message_guid or new_guid(),
        date=date or now_local(),
        is_operator_signature=is_operator_signature,
        is_creators=is_creators,
    )
    return frame(header, body)


def build_get_state(
    service: Service | str,
    gis_message_guid: str,
    *,
    org_ppa_guid: str | None,
    message_guid: str | None = None,
    date: datetime | None = None,
    is_operator_signature: bool = True,
) -> etree._Element:
    """Build the unsigned getState envelope (no Id, no version, own header with a new MessageGUID)."""
    op = get_state_operation(service)
    body = etree.Element(op.body, nsmap=nsmap_for("base"))
    sub(body, "base", "MessageGUID", gis_message_guid)
    header = _header(
        op.info.header,
        org_ppa_guid=org_ppa_guid,
        message_guid=message_guid or new_guid(),
        date=date or now_local(),
        is_operator_signature=is_operator_signature,
        is_creators=(),
    )
    return frame(header, body)


def used_prefixes(element: etree._Element) -> list[str]:
    """Return the conventional prefixes of the namespaces used in a subtree, in first-use order."""
    # Each distinct name is resolved once: a 100-action message has ~2,000 elements but ~40 distinct names.
    seen: dict[str, None] = {}
    names: set[str] = set()
    for el in element.iter(etree.Element):
        for name in (el.tag, *el.keys()):
            if not isinstance(name, str) or name in names:
                continue
            names.add(name)
            if name.startswith("{"):
                prefix = _PREFIX_BY_URI.get(name[1:].split("}", 1)[0])
                if prefix is not None:
                    seen.setdefault(prefix, None)
    return list(seen)


def serialize(root: etree._Element) -> bytes:
    """Serialise once, UTF-8 with an XML declaration, no pretty-printing (signatures cover these bytes)."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
