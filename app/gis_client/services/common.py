"""Shapes, XML fragments, parsers and limit checks shared by several GIS services."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from lxml import etree

from app.gis_client.errors import GisLimitError
from app.gis_client.wire.envelope import sub, sub_opt
from app.gis_client.xmlread import _all, _guid, _Kids, _map, _req, _text, to_date, to_datetime

Guid = str
Day = date  # alias: dataclasses below have a field named `date`, which shadows the type


@dataclass(frozen=True, slots=True)
class NsiRef:
    """Reference to an NSI (classifier) record: Code and GUID are both required on the wire."""

    code: str
    guid: Guid
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """base:AttachmentType: a file already uploaded to the file store."""

    name: str
    description: str
    attachment_guid: Guid
    hash: str | None = None
    """GOST R 34.11-94 hex digest; required in imports (gis-protocol.md §12)."""


@dataclass(frozen=True, slots=True)
class Period:
    """Closed date interval (base:Period)."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class OpenPeriod:
    """Date interval with optional ends (base:PeriodOpen)."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """ErrorMessage / per-item Error: code and description."""

    code: str
    description: str
    stack_trace: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """Identity document: type from NSI 95, optional series, number. Personal data: never logged."""

    type: NsiRef
    number: str = field(repr=False)
    series: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CommonResult:
    """base:CommonResultType: per-item import outcome, matched by TransportGUID."""

    transport_guid: Guid
    guid: Guid | None = None
    unique_number: str | None = None
    update_date: datetime | None = None
    errors: tuple[ErrorInfo, ...] = ()

    @property
    def ok(self) -> bool:
        """Return whether the item was accepted."""
        return not self.errors


@dataclass(frozen=True, slots=True)
class Ack:
    """Synchronous AckRequest: the GIS message id to poll and our own MessageGUID echoed."""

    message_guid: Guid
    requester_message_guid: Guid


@dataclass(frozen=True, slots=True)
class StateResult:
    """getStateResult: RequestState (1 received, 2 processing, 3 done) and the result or the error."""

    request_state: int
    message_guid: Guid
    payload: object = None
    """The typed result the operation declares (its `result_type`), None while not done or when empty."""
    error: ErrorInfo | None = None

    @property
    def done(self) -> bool:
        """Return whether processing finished (RequestState 3)."""
        return self.request_state == 3


# -------------------------------------------------------------------------------------------- XML fragments


def build_nsi_ref(parent: etree._Element, prefix: str, local: str, ref: NsiRef) -> etree._Element:
    """Append an nsi-base:nsiRef-typed element (Code, GUID, Name?)."""
    el = sub(parent, prefix, local)
    sub(el, "nsi-base", "Code", ref.code)
    sub(el, "nsi-base", "GUID", ref.guid)
    sub_opt(el, "nsi-base", "Name", ref.name)
    return el


def build_attachment(parent: etree._Element, prefix: str, local: str, att: Attachment) -> etree._Element:
    """Append a base:AttachmentType-typed element."""
    el = sub(parent, prefix, local)
    sub(el, "base", "Name", att.name)
    sub(el, "base", "Description", att.description)
    sub(sub(el, "base", "Attachment"), "base", "AttachmentGUID", att.attachment_guid)
    sub_opt(el, "base", "AttachmentHASH", att.hash)
    return el


def build_period(parent: etree._Element, prefix: str, local: str, period: Period | OpenPeriod) -> None:
    """Append a base:Period / base:PeriodOpen-typed element."""
    el = sub(parent, prefix, local)
    sub_opt(el, "base", "startDate", period.start)
    sub_opt(el, "base", "endDate", period.end)


# -------------------------------------------------------------------------------------------------- parsers


def parse_nsi_ref(el: etree._Element) -> NsiRef:
    """Parse an nsiRef-typed element."""
    k = _Kids(el)
    return NsiRef(k.req("nsi-base:Code"), _guid(k.req("nsi-base:GUID")), k.text("nsi-base:Name"))


def parse_attachment(el: etree._Element) -> Attachment:
    """Parse a base:AttachmentType element."""
    k = _Kids(el)
    return Attachment(
        name=k.req("base:Name"),
        description=k.req("base:Description"),
        attachment_guid=_guid(k.req("base:Attachment/base:AttachmentGUID")),
        hash=k.text("base:AttachmentHASH"),
    )


def _period(el: etree._Element) -> Period:
    k = _Kids(el)
    return Period(to_date(k.req("base:startDate")), to_date(k.req("base:endDate")))


def parse_common_result(el: etree._Element) -> CommonResult:
    """Parse a base:CommonResultType element (importResult / ImportResult)."""
    return CommonResult(
        transport_guid=_guid(_req(el, "base:TransportGUID")),
        guid=_map(_text(el, "base:GUID"), _guid),
        unique_number=_text(el, "base:UniqueNumber"),
        update_date=_map(_text(el, "base:UpdateDate"), to_datetime),
        errors=tuple(parse_error_message(e) for e in _all(el, "base:Error")),
    )


def parse_error_message(el: etree._Element) -> ErrorInfo:
    """Parse a base:ErrorMessageType element."""
    return ErrorInfo(
        code=_req(el, "base:ErrorCode").strip(),
        description=_req(el, "base:Description"),
        stack_trace=_text(el, "base:StackTrace"),
    )


# --------------------------------------------------------------------------------------------- limit checks


def _limit(condition: bool, limit: str, message: str) -> None:
    if not condition:
        raise GisLimitError(message, limit=limit)


def _at_most(items: Sequence[object], maximum: int, what: str) -> None:
    _limit(
        len(items) <= maximum, f"{what} ≤ {maximum}", f"{what}: {len(items)} given, at most {maximum} allowed"
    )


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, clamped to the month's end."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _unique(values: Sequence[str], what: str) -> None:
    _limit(len(set(values)) == len(values), f"unique {what}", f"{what} must be unique within one request")


def _exactly_one(flags: Sequence[bool], limit: str, message: str) -> None:
    _limit(sum(flags) == 1, limit, message)
