"""NSI common service (nsi-common, NsiCommonAsync): exportNsiItem, declared once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lxml import etree

from app.gis_client.operations import Operation, Service, declare
from app.gis_client.services.common import Guid
from app.gis_client.wire.envelope import new_body, sub, sub_opt
from app.gis_client.xmlread import _all, _guid, _map, _need, _req, _text, _texts, to_bool, to_datetime


@dataclass(frozen=True, slots=True)
class NsiElement:
    """One NSI record: code, GUID, actuality and its string-rendered fields."""

    code: str
    guid: Guid
    is_actual: bool
    modified: datetime | None = None
    fields: tuple[tuple[str, str | None], ...] = ()
    children: tuple[NsiElement, ...] = ()


@dataclass(frozen=True, slots=True)
class NsiItem:
    """exportNsiItem result: one classifier."""

    registry_number: int
    created: datetime
    elements: tuple[NsiElement, ...]


@dataclass(frozen=True, slots=True)
class ExportNsiItemQuery:
    """exportNsiItemRequest: registry number, list group, optional modified-after."""

    registry_number: int
    list_group: Literal["NSI", "NSIRAO"] = "NSI"
    modified_after: datetime | None = None


# ------------------------------------------------------------------------------------------ request builder


def build_export_nsi_item(query: ExportNsiItemQuery) -> etree._Element:
    """Build nsi-common:exportNsiItemRequest."""
    body = new_body(EXPORT_NSI_ITEM, extra_prefixes=("nsi-base",))
    sub(body, "nsi-common", "RegistryNumber", query.registry_number)
    sub(body, "nsi-base", "ListGroup", query.list_group)
    sub_opt(body, "nsi-common", "ModifiedAfter", query.modified_after)
    return body


# ------------------------------------------------------------------------------------------- result parsers


def _field_value(el: etree._Element) -> str | None:
    # NsiElementField is abstract (xsi:type picks the flavour); render each flavour as one string.
    for path in ("nsi-base:Value", "nsi-base:NsiRef/nsi-base:Ref/nsi-base:Code", "nsi-base:Code"):
        value = _text(el, path)
        if value is not None:
            return value
    positions = _texts(el, "nsi-base:Position/nsi-base:Value")
    if positions:
        return "; ".join(positions)
    return _text(el, "nsi-base:Document/base:Attachment/base:AttachmentGUID")


def _nsi_element(el: etree._Element) -> NsiElement:
    return NsiElement(
        code=_req(el, "nsi-base:Code"),
        guid=_guid(_req(el, "nsi-base:GUID")),
        is_actual=to_bool(_req(el, "nsi-base:IsActual")),
        modified=_map(_text(el, "nsi-base:Modified"), to_datetime),
        fields=tuple(
            (_req(f, "nsi-base:Name"), _field_value(f)) for f in _all(el, "nsi-base:NsiElementField")
        ),
        children=tuple(_nsi_element(c) for c in _all(el, "nsi-base:ChildElement")),
    )


def parse_nsi_item(el: etree._Element) -> NsiItem:
    """Parse nsi-common:NsiItem (NsiItemType)."""
    return NsiItem(
        registry_number=int(_req(el, "nsi-base:NsiItemRegistryNumber")),
        created=to_datetime(_req(el, "nsi-base:Created")),
        elements=tuple(_nsi_element(e) for e in _all(el, "nsi-base:NsiElement")),
    )


# --------------------------------------------------------------------------------------------- declarations


EXPORT_NSI_ITEM = declare(
    "exportNsiItem",
    Service.NSI_COMMON,
    "exportNsiItemRequest",
    "NsiItem",
    version="10.0.1.2",
    fixed=True,
    kind="export",
    request_type=ExportNsiItemQuery,
    build=build_export_nsi_item,
    parse=lambda body: parse_nsi_item(_need(body, "nsi-common:NsiItem")),
    result_type=NsiItem,
)
OPERATIONS: tuple[Operation, ...] = (EXPORT_NSI_ITEM,)
