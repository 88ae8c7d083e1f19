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


@dataclass(frozen=True, slots=True)
class BuiltBody:
    """What a request builder knows of a body it wrote itself (so nobody walks the tree to learn it again)."""

    prefixes: tuple[str, ...]
    """The conventional prefixes the body uses in first-use order, exactly what `used_prefixes` returns."""
    valid_markup: bytes | None = None
    """Set when the body is valid by construction (every value passed the XSD facets of its element, and
    the builder writes only the XSD's structure): its content and end tag as lxml serialises them (UTF-8),
    so that validation can see the body was not changed since."""


# Bodies noted by their builders, by identity (lxml elements take no weak references, so a few are held and
# the oldest dropped). `validate_envelope` takes the note of the body it validates: it serves one validation.
_BUILT: dict[int, tuple[etree._Element, BuiltBody]] = {}
_BUILT_KEEP = 4


def note_built(body: etree._Element, info: BuiltBody) -> None:
    """Record what the builder of `body` knows of it (BuiltBody); a body changed afterwards must not be."""
    _BUILT[id(body)] = (body, info)
    while len(_BUILT) > _BUILT_KEEP:
        _BUILT.pop(next(iter(_BUILT)), None)


def built_info(body: etree._Element, *, take: bool = False) -> BuiltBody | None:
    """Return the note on `body` (removing it when `take`), None if its builder left none."""
    entry = _BUILT.pop(id(body), None) if take else _BUILT.get(id(body))
    return entry[1] if entry is not None and entry[0] is body else None


def frame(header: etree._Element, body: etree._Element, prefixes: Iterable[str] = ()) -> etree._Element:
    """Put a header block and a body element into a SOAP 1.1 envelope with final namespaces."""
    built = built_info(body)
    used = built.prefixes if built is not None else used_prefixes(body)
    prefixes = [*prefixes, *(p for p in used if p not in ("soap", "base"))]
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


_ANY_IN: dict[str, str] = {uri: f"{{{uri}}}*" for uri in _PREFIX_BY_URI}
_QUALIFIED_ATTRIBUTES = etree.XPath("descendant-or-self::*/@*[namespace-uri() != '']")


def _position(root: etree._Element, node: etree._Element) -> tuple[int, ...]:
    """Return the child indexes from root down to node (tuples compare in document order)."""
    path: list[int] = []
    while node is not root:
        parent = node.getparent()
        assert parent is not None
        path.append(parent.index(node))
        node = parent
    path.reverse()
    return tuple(path)


def used_prefixes(element: etree._Element) -> list[str]:
    """Return the conventional prefixes of the namespaces used in a subtree, in first-use order."""
    # The first element of each known namespace is found by libxml2's own walk (`iter("{uri}*")`, no Python
    # object per node), qualified attributes by one compiled XPath; walking the ~2,000 elements of a
    # 100-action message in Python cost ~1 ms. First use = document order: an element, then its attributes
    # (in their order), then its descendants; positions as index paths sort exactly that way.
    firsts: list[tuple[tuple[int, ...], int, str]] = []
    for uri, prefix in _PREFIX_BY_URI.items():
        first = next(element.iter(_ANY_IN[uri]), None)
        if first is not None:
            firsts.append((_position(element, first), 0, prefix))
    attributes: list[etree._ElementUnicodeResult] = _QUALIFIED_ATTRIBUTES(element)  # type: ignore[assignment]
    for attribute in attributes:
        name = str(attribute.attrname)
        known = _PREFIX_BY_URI.get(name[1:].split("}", 1)[0])
        owner = attribute.getparent()
        if known is not None and owner is not None:
            firsts.append((_position(element, owner), 1 + owner.keys().index(name), known))
    firsts.sort()
    return list(dict.fromkeys(prefix for _where, _slot, prefix in firsts))


def serialize(root: etree._Element) -> bytes:
    """Serialise once, UTF-8 with an XML declaration, no pretty-printing (signatures cover these bytes)."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
