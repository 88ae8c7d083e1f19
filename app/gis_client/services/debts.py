"""Debts service (DebtAsync): the registry of court-confirmed debts, importDebt and exportDebt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, cast

from lxml import etree

from app.gis_client.operations import Operation, Service, adapter, declare
from app.gis_client.services.common import (
    Attachment,
    CommonResult,
    Day,
    Guid,
    IdentityDocument,
    NsiRef,
    OpenPeriod,
    _at_most,
    _limit,
    _unique,
    build_attachment,
    build_nsi_ref,
    build_period,
    parse_attachment,
    parse_common_result,
    parse_nsi_ref,
)
from app.gis_client.wire.envelope import new_body, sub, sub_many, sub_opt
from app.gis_client.xmlread import (
    _all,
    _find,
    _guid,
    _map,
    _need,
    _req,
    _text,
    to_bool,
    to_date,
)

MAX_DEBT_ITEMS = 100

DebtStatus = Literal["PUBLISHED", "CANCELLED"]
RepaymentStatus = Literal["PAID", "UNPAID"]


@dataclass(frozen=True, slots=True)
class DebtObject:
    """Housing object of a court-confirmed debt: exactly one of the four identifiers."""

    fias_house_guid: Guid | None = None
    house_guid: Guid | None = None
    premise_guid: Guid | None = None
    room_guid: Guid | None = None


@dataclass(frozen=True, slots=True)
class Debtor:
    """Citizen owing a court-confirmed debt. Personal data: excluded from repr."""

    surname: str = field(repr=False)
    first_name: str = field(repr=False)
    patronymic: str | None = field(default=None, repr=False)
    inn: str | None = field(default=None, repr=False)
    snils: str | None = field(default=None, repr=False)
    document: IdentityDocument | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class JudicialAct:
    """Court act: number, entry-into-force date, pronouncing date, files."""

    number: str
    date: Day
    date_pronouncing: Day | None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class PlacingDebt:
    """Place a new court-confirmed debt."""

    debt_object: DebtObject
    debtor: Debtor
    judicial_act: JudicialAct
    acts: tuple[Attachment, ...] = ()
    additional_info: str | None = None
    additional_attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class EditDebt:
    """Add reconciliation acts, attachments or info to a placed debt."""

    debt_guid: Guid
    acts: tuple[Attachment, ...] = ()
    additional_attachments: tuple[Attachment, ...] = ()
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class AnnulmentDebt:
    """Annul a placed debt (reason NSI 365; text for reason 5 «Иная»)."""

    debt_guid: Guid
    reason: NsiRef
    text_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PlacingDebtRepayment:
    """Record the repayment of a debt."""

    debt_guid: Guid
    placing_info: str | None = None
    placing_date: date | None = None


@dataclass(frozen=True, slots=True)
class AnnulmentDebtRepayment:
    """Annul a recorded repayment (reason NSI 366; text for reason 3)."""

    debt_guid: Guid
    reason: NsiRef
    text_reason: str | None = None


DebtOperation = PlacingDebt | EditDebt | AnnulmentDebt | PlacingDebtRepayment | AnnulmentDebtRepayment


@dataclass(frozen=True, slots=True)
class DebtImportItem:
    """One importDebtRequest/Debt: TransportGUID plus one operation."""

    transport_guid: Guid
    operation: DebtOperation


@dataclass(frozen=True, slots=True)
class ExportDebtQuery:
    """exportDebtRequest criteria plus the next-page GUID (previous ExportDebtGUID)."""

    debt_period: OpenPeriod | None = None
    placing_period: OpenPeriod | None = None
    repayment_placing_period: OpenPeriod | None = None
    statuses: tuple[DebtStatus, ...] = ()
    repayment_statuses: tuple[RepaymentStatus, ...] = ()
    debt_object: DebtObject | None = None
    judicial_act_number: str | None = None
    debtor_inn: str | None = field(default=None, repr=False)
    debtor_snils: str | None = field(default=None, repr=False)
    debtor_document: IdentityDocument | None = field(default=None, repr=False)
    next_page_guid: Guid | None = None


@dataclass(frozen=True, slots=True)
class ExportedDebtObject:
    """Debt object as exported (a house carries both FIAS and GIS GUIDs), with its status."""

    fias_house_guid: Guid | None = None
    house_guid: Guid | None = None
    premise_guid: Guid | None = None
    room_guid: Guid | None = None
    object_status: Literal["DEMOLISHED", "ANNULED"] | None = None
    object_status_date: date | None = None
    demolished_reason: str | None = None
    annulled_reason: NsiRef | None = None


@dataclass(frozen=True, slots=True)
class Repayment:
    """RepaymentData of an exported debt."""

    status: RepaymentStatus
    placing_date: date | None = None
    placing_user_date: date | None = None
    placing_info: str | None = None
    annulment_reason: NsiRef | None = None
    annulment_text_reason: str | None = None
    annulment_date: date | None = None


@dataclass(frozen=True, slots=True)
class DebtAnnulment:
    """AnnulmentData of an exported debt."""

    date: Day | None = None
    reason: NsiRef | None = None
    text_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ExportedDebt:
    """One debt of the court-confirmed debts registry."""

    debt_guid: Guid
    debt_object: ExportedDebtObject
    debtor: Debtor
    judicial_act: JudicialAct
    status: DebtStatus
    first_published: date
    last_published: date
    repayment: Repayment
    acts: tuple[Attachment, ...] = ()
    additional_attachments: tuple[Attachment, ...] = ()
    additional_info: str | None = None
    annulment: DebtAnnulment | None = None


@dataclass(frozen=True, slots=True)
class DebtExportPage:
    """ExportDebtResult: up to 1000 debts and either the next-page GUID or IsLastPage."""

    debts: tuple[ExportedDebt, ...]
    next_page_guid: Guid | None = None
    is_last_page: bool = False


# ----------------------------------------------------------------------------------------- request builders


def build_debt_object(parent: etree._Element, local: str, obj: DebtObject) -> None:
    """Append a debts:DebtObjectType / ExportDebtObjectRequestType element (one identifier)."""
    ids = [obj.fias_house_guid, obj.house_guid, obj.premise_guid, obj.room_guid]
    _limit(
        sum(v is not None for v in ids) == 1, "DebtObject: one id", "DebtObject needs exactly one identifier"
    )
    el = sub(parent, "debts", local)
    if obj.fias_house_guid or obj.house_guid:
        house = sub(el, "debts", "House")
        sub_opt(house, "debts", "FiasHouseGUID", obj.fias_house_guid)
        sub_opt(house, "debts", "HouseGUID", obj.house_guid)
    sub_opt(el, "debts", "PremiseGUID", obj.premise_guid)
    sub_opt(el, "debts", "RoomGUID", obj.room_guid)


def build_judicial_act(parent: etree._Element, act: JudicialAct, pronouncing: str) -> None:
    """Append debts:JudicalAct; `pronouncing` names the date element (…Import or …Export)."""
    el = sub(parent, "debts", "JudicalAct")
    sub(el, "debts", "JudicalActNumber", act.number)
    sub(el, "debts", "JudicalActDate", act.date)
    sub_opt(el, "debts", pronouncing, act.date_pronouncing)
    for att in act.attachments:
        build_attachment(el, "debts", "JudicalActAttachment", att)


def build_identity_document(parent: etree._Element, doc: IdentityDocument) -> None:
    """Append debts:IdentityDocument."""
    el = sub(parent, "debts", "IdentityDocument")
    build_nsi_ref(el, "debts", "Type", doc.type)
    sub_opt(el, "debts", "Series", doc.series)
    sub(el, "debts", "Number", doc.number)


def build_debtor(parent: etree._Element, local: str, debtor: Debtor) -> None:
    """Append a debts:DebtorType / ExportDebtorResultType element."""
    el = sub(parent, "debts", local)
    sub(el, "debts", "SurName", debtor.surname)
    sub(el, "debts", "FirstName", debtor.first_name)
    sub_opt(el, "debts", "Patronymic", debtor.patronymic)
    sub_opt(el, "debts", "INN", debtor.inn)
    sub_opt(el, "debts", "SNILS", debtor.snils)
    if debtor.document is not None:
        build_identity_document(el, debtor.document)


def build_import_debt(items: Sequence[DebtImportItem]) -> etree._Element:
    """Build debts:importDebtRequest (1..100 items, unique TransportGUIDs)."""
    _limit(len(items) >= 1, "Debt ≥ 1", "importDebtRequest needs at least one Debt")
    _at_most(items, MAX_DEBT_ITEMS, "Debt")
    _unique([i.transport_guid for i in items], "TransportGUID")
    body = new_body(IMPORT_DEBT, extra_prefixes=("nsi-base",))
    for item in items:
        el = sub(body, "debts", "Debt")
        sub(el, "base", "TransportGUID", item.transport_guid)
        op = item.operation
        if isinstance(op, PlacingDebt):
            _limit(
                op.judicial_act.date_pronouncing is not None,
                "JudicalActDatePronouncingImport required",
                "PlacingDebt needs the court act's pronouncing date (required since 15.3.0.0)",
            )
            p = sub(el, "debts", "PlacingDebt")
            build_debt_object(p, "DebtObject", op.debt_object)
            build_debtor(p, "DebtorData", op.debtor)
            build_judicial_act(p, op.judicial_act, "JudicalActDatePronouncingImport")
            for att in op.acts:
                build_attachment(p, "debts", "Act", att)
            sub_opt(p, "debts", "AdditionalInfo", op.additional_info)
            for att in op.additional_attachments:
                build_attachment(p, "debts", "AdditionalAttachment", att)
        elif isinstance(op, EditDebt):
            e = sub(el, "debts", "EditDebt")
            sub(e, "debts", "DebtGUID", op.debt_guid)
            for att in op.acts:
                build_attachment(e, "debts", "Act", att)
            for att in op.additional_attachments:
                build_attachment(e, "debts", "AdditionalAttachment", att)
            sub_opt(e, "debts", "AdditionalInfo", op.additional_info)
        elif isinstance(op, AnnulmentDebt | AnnulmentDebtRepayment):
            name = "AnnulmentDebt" if isinstance(op, AnnulmentDebt) else "AnnulmentDebtRepayment"
            a = sub(el, "debts", name)
            sub(a, "debts", "DebtGUID", op.debt_guid)
            build_nsi_ref(a, "debts", "AnnulmentReason", op.reason)
            sub_opt(a, "debts", "AnnulmentTextReason", op.text_reason)
        else:
            r = sub(el, "debts", "PlacingDebtRepayment")
            sub(r, "debts", "DebtGUID", op.debt_guid)
            sub_opt(r, "debts", "PlacingInfo", op.placing_info)
            sub_opt(r, "debts", "PlacingDate", op.placing_date)
    return body


def build_export_debt(query: ExportDebtQuery) -> etree._Element:
    """Build debts:exportDebtRequest (criteria + NextPageExportRequestGUID)."""
    _at_most(query.statuses, 2, "DebtStatuses/Status")
    _at_most(query.repayment_statuses, 2, "DebtRepaymentStatuses/Status")
    body = new_body(EXPORT_DEBT, extra_prefixes=("nsi-base",))
    crit = sub(body, "debts", "ExportCriteria")
    for local, period in (
        ("DebtPeriod", query.debt_period),
        ("DebtPlacingPeriod", query.placing_period),
        ("DebtRepaymentPlacingPeriod", query.repayment_placing_period),
    ):
        if period is not None:
            build_period(crit, "debts", local, period)
    if query.statuses:
        sub_many(sub(crit, "debts", "DebtStatuses"), "debts", "Status", query.statuses)
    if query.repayment_statuses:
        sub_many(sub(crit, "debts", "DebtRepaymentStatuses"), "debts", "Status", query.repayment_statuses)
    if query.debt_object is not None:
        build_debt_object(crit, "DebtObject", query.debt_object)
    sub_opt(crit, "debts", "JudicalActNumber", query.judicial_act_number)
    if query.debtor_inn or query.debtor_snils or query.debtor_document:
        d = sub(crit, "debts", "DebtorData")
        sub_opt(d, "debts", "INN", query.debtor_inn)
        sub_opt(d, "debts", "SNILS", query.debtor_snils)
        if query.debtor_document is not None:
            build_identity_document(d, query.debtor_document)
    sub_opt(body, "debts", "NextPageExportRequestGUID", query.next_page_guid)
    return body


# ------------------------------------------------------------------------------------------- result parsers


def _debtor(el: etree._Element) -> Debtor:
    doc = _find(el, "debts:IdentityDocument")
    return Debtor(
        surname=_req(el, "debts:SurName"),
        first_name=_req(el, "debts:FirstName"),
        patronymic=_text(el, "debts:Patronymic"),
        inn=_text(el, "debts:INN"),
        snils=_text(el, "debts:SNILS"),
        document=None
        if doc is None
        else IdentityDocument(
            parse_nsi_ref(_need(doc, "debts:Type")), _req(doc, "debts:Number"), _text(doc, "debts:Series")
        ),
    )


def _exported_object(el: etree._Element) -> ExportedDebtObject:
    obj = _need(el, "debts:ObjectGUID")
    annulled = _find(el, "debts:ObjectAnnuledReason")
    return ExportedDebtObject(
        fias_house_guid=_map(_text(obj, "debts:House/debts:FiasHouseGUID"), _guid),
        house_guid=_map(_text(obj, "debts:House/debts:HouseGUID"), _guid),
        premise_guid=_map(_text(obj, "debts:PremiseGUID"), _guid),
        room_guid=_map(_text(obj, "debts:RoomGUID"), _guid),
        object_status=cast(Any, _text(el, "debts:ObjectStatus")),
        object_status_date=_map(_text(el, "debts:ObjectStatusDate"), to_date),
        demolished_reason=_text(el, "debts:ObjectDemolishedReason"),
        annulled_reason=None if annulled is None else parse_nsi_ref(annulled),
    )


def parse_exported_debt(el: etree._Element) -> ExportedDebt:
    """Parse one debts:Debt of ExportDebtResult."""
    act = _need(el, "debts:JudicalAct")
    rep = _need(el, "debts:RepaymentData")
    rep_reason = _find(rep, "debts:RepaymentAnnulmentData/debts:RepaymentAnnulmentReason")
    ann = _find(el, "debts:AnnulmentData")
    ann_reason = None if ann is None else _find(ann, "debts:AnnulmentReason")
    return ExportedDebt(
        debt_guid=_guid(_req(el, "debts:DebtGUID")),
        debt_object=_exported_object(_need(el, "debts:DebtObject")),
        debtor=_debtor(_need(el, "debts:Debtor")),
        judicial_act=JudicialAct(
            number=_req(act, "debts:JudicalActNumber"),
            date=to_date(_req(act, "debts:JudicalActDate")),
            date_pronouncing=_map(_text(act, "debts:JudicalActDatePronouncingExport"), to_date),
            attachments=tuple(parse_attachment(a) for a in _all(act, "debts:JudicalActAttachment")),
        ),
        status=cast(Any, _req(el, "debts:Status")),
        first_published=to_date(_req(el, "debts:FirstPublishedDate")),
        last_published=to_date(_req(el, "debts:LastPublishedDate")),
        repayment=Repayment(
            status=cast(Any, _req(rep, "debts:RepaymentStatus")),
            placing_date=_map(_text(rep, "debts:PlacingDate"), to_date),
            placing_user_date=_map(_text(rep, "debts:PlacingUserDate"), to_date),
            placing_info=_text(rep, "debts:PlacingInfo"),
            annulment_reason=None
            if rep_reason is None
            else parse_nsi_ref(_need(rep_reason, "debts:RepaymentAnnulmentNSIReason")),
            annulment_text_reason=None
            if rep_reason is None
            else _text(rep_reason, "debts:RepaymentAnnulmentTextReason"),
            annulment_date=_map(
                _text(rep, "debts:RepaymentAnnulmentData/debts:RepaymentAnnulmentDate"), to_date
            ),
        ),
        acts=tuple(parse_attachment(a) for a in _all(el, "debts:Act")),
        additional_attachments=tuple(parse_attachment(a) for a in _all(el, "debts:AdditionalAttachment")),
        additional_info=_text(el, "debts:AdditionalInfo"),
        annulment=None
        if ann is None
        else DebtAnnulment(
            date=_map(_text(ann, "debts:AnnulmentDate"), to_date),
            reason=None
            if ann_reason is None
            else parse_nsi_ref(_need(ann_reason, "debts:AnnulmentNSIReason")),
            text_reason=None if ann_reason is None else _text(ann_reason, "debts:AnnulmentTextReason"),
        ),
    )


def parse_debt_export(el: etree._Element) -> DebtExportPage:
    """Parse debts:ExportDebtResult (debts + ExportDebtGUID | IsLastPage)."""
    return DebtExportPage(
        debts=tuple(parse_exported_debt(d) for d in _all(el, "debts:Debt")),
        next_page_guid=_map(_text(el, "debts:ExportDebtGUID"), _guid),
        is_last_page=to_bool(_text(el, "debts:IsLastPage") or "false"),
    )


# --------------------------------------------------------------------------------------------- declarations


_DEBT_OPERATIONS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (PlacingDebt, EditDebt, AnnulmentDebt, PlacingDebtRepayment, AnnulmentDebtRepayment)
}


def _encode_debt_items(items: Sequence[DebtImportItem]) -> dict[str, Any]:
    # DebtOperation is a union of look-alike dataclasses (EditDebt vs PlacingDebtRepayment): tag the kind.
    return {
        "items": [
            {
                "transport_guid": item.transport_guid,
                "kind": type(item.operation).__name__,
                "operation": adapter(type(item.operation)).dump_python(item.operation, mode="json"),
            }
            for item in items
        ]
    }


def _decode_debt_items(payload: Mapping[str, Any]) -> list[DebtImportItem]:
    items = []
    for raw in payload["items"]:
        cls = _DEBT_OPERATIONS.get(raw["kind"])
        if cls is None:
            raise ValueError(f"unknown debt operation kind {raw['kind']!r}")
        operation = adapter(cls).validate_python(raw["operation"])
        items.append(DebtImportItem(transport_guid=raw["transport_guid"], operation=operation))
    return items


IMPORT_DEBT = declare(
    "importDebt",
    Service.DEBTS,
    "importDebtRequest",
    "ImportResult",
    version="15.3.0.0",
    fixed=True,
    kind="import",
    request_type=list[DebtImportItem],
    build=build_import_debt,
    parse=lambda body: tuple(parse_common_result(r) for r in _all(body, "debts:ImportResult")),
    result_type=tuple[CommonResult, ...],
    encode=_encode_debt_items,
    decode=_decode_debt_items,
)
EXPORT_DEBT = declare(
    "exportDebt",
    Service.DEBTS,
    "exportDebtRequest",
    "ExportDebtResult",
    version="15.3.0.0",
    fixed=False,
    kind="export",
    request_type=ExportDebtQuery,
    build=build_export_debt,
    parse=lambda body: parse_debt_export(_need(body, "debts:ExportDebtResult")),
    result_type=DebtExportPage,
)
OPERATIONS: tuple[Operation, ...] = (IMPORT_DEBT, EXPORT_DEBT)
