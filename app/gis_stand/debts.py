"""debts service: the registry of court-confirmed debts (importDebt, exportDebt paged by 1000)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

from lxml import etree
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.gis_client.messages import (
    Attachment,
    CommonResult,
    DebtAnnulment,
    DebtExportPage,
    Debtor,
    ErrorInfo,
    ExportedDebt,
    ExportedDebtObject,
    JudicialAct,
    NsiRef,
    Repayment,
)
from app.gis_client.operations import NS, Service
from app.gis_client.services.common import parse_attachment
from app.gis_client.wire.envelope import new_guid
from app.gis_stand import codes
from app.gis_stand.config import DEBT_PAGE_SIZE
from app.gis_stand.files import check_attachments
from app.gis_stand.models import Debt, House, Message, Org, Premises
from app.gis_stand.results_builder import build_common_results, build_debt_export
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.soap import Outcome, Processor, element_text, texts

#: NSI 365 «Причина аннулирования» placeholder names for export (the stand keeps the code and GUID sent).
NSI_365_NAME = "Причина аннулирования сведений о задолженности"


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _attachments(debt: Debt, kind: str) -> tuple[Attachment, ...]:
    return tuple(Attachment(**a["att"]) for a in json.loads(debt.attachments) if a["kind"] == kind)


def to_exported(debt: Debt, house: House | None, premises: Premises | None) -> ExportedDebt:
    """Convert a registry row into the ExportDebtDataType dataclass."""
    if premises is not None:
        obj = ExportedDebtObject(premise_guid=premises.guid)
    else:
        assert house is not None
        obj = ExportedDebtObject(fias_house_guid=house.fias_guid, house_guid=house.guid)
    annulment = None
    if debt.status == "CANCELLED":
        annulment = DebtAnnulment(
            date=debt.annulment_date,
            reason=NsiRef(debt.annulment_code or "5", debt.annulment_guid or new_guid(), NSI_365_NAME),
            text_reason=debt.annulment_text,
        )
    return ExportedDebt(
        debt_guid=debt.guid,
        debt_object=obj,
        debtor=Debtor(
            surname=debt.surname,
            first_name=debt.first_name,
            patronymic=debt.patronymic,
            inn=debt.inn,
            snils=debt.snils,
        ),  # fmt: skip
        judicial_act=JudicialAct(
            debt.act_number, debt.act_date, debt.act_pronounced, _attachments(debt, "JudicalActAttachment")
        ),
        status=debt.status,  # type: ignore[arg-type]
        first_published=debt.first_published,
        last_published=debt.last_published,
        repayment=Repayment(
            status=debt.repayment_status,  # type: ignore[arg-type]
            placing_date=debt.repayment_date,
            placing_info=debt.repayment_info,
        ),
        acts=_attachments(debt, "Act"),
        additional_attachments=_attachments(debt, "AdditionalAttachment"),
        additional_info=debt.additional_info,
        annulment=annulment,
    )


def _debt_query(org: Org) -> Select[Debt, House, Premises]:
    return (
        select(Debt, House, Premises)
        .outerjoin(House, House.id == Debt.house_id)
        .outerjoin(Premises, Premises.id == Debt.premises_id)
        .where(Debt.org_id == org.id)
    )


async def export_debts(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Export the organisation's registry records by criteria, 1000 per page."""
    del rt, message
    query = _debt_query(org)
    crit = body.find("debts:ExportCriteria", NS)
    assert crit is not None
    for local, column in (
        ("DebtPeriod", Debt.act_date),
        ("DebtPlacingPeriod", Debt.first_published),
        ("DebtRepaymentPlacingPeriod", Debt.repayment_date),
    ):
        period = crit.find(f"debts:{local}", NS)
        if period is not None:
            if start := _day(element_text(period, "base:startDate")):
                query = query.where(column >= start)
            if end := _day(element_text(period, "base:endDate")):
                query = query.where(column <= end)
    if statuses := texts(crit, "debts:DebtStatuses/debts:Status"):
        query = query.where(Debt.status.in_(statuses))
    if repayment := texts(crit, "debts:DebtRepaymentStatuses/debts:Status"):
        query = query.where(Debt.repayment_status.in_(repayment))
    obj = crit.find("debts:DebtObject", NS)
    if obj is not None:
        if fias := element_text(obj, "debts:House/debts:FiasHouseGUID"):
            query = query.where(House.fias_guid == fias.lower())
        elif house := element_text(obj, "debts:House/debts:HouseGUID"):
            query = query.where(House.guid == house.lower())
        elif premise := element_text(obj, "debts:PremiseGUID"):
            query = query.where(Premises.guid == premise.lower())
        else:
            return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")  # rooms are not emulated
    if number := element_text(crit, "debts:JudicalActNumber"):
        query = query.where(Debt.act_number == number)
    if inn := element_text(crit, "debts:DebtorData/debts:INN"):
        query = query.where(Debt.inn == inn)
    if snils := element_text(crit, "debts:DebtorData/debts:SNILS"):
        query = query.where(Debt.snils == snils)
    if cursor := element_text(body, "debts:NextPageExportRequestGUID"):
        start_id = await session.scalar(
            select(Debt.id).where(Debt.guid == cursor.lower(), Debt.org_id == org.id)
        )
        if start_id is None:
            return ErrorInfo(
                codes.PAGE_NOT_FOUND, f"Error loading content: Content not found for guid: {cursor}"
            )
        query = query.where(Debt.id >= start_id)
    rows = (await session.execute(query.order_by(Debt.id).limit(DEBT_PAGE_SIZE + 1))).all()
    if not rows:
        return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")
    more = len(rows) > DEBT_PAGE_SIZE
    page = DebtExportPage(
        tuple(to_exported(*r) for r in rows[:DEBT_PAGE_SIZE]),
        next_page_guid=rows[DEBT_PAGE_SIZE][0].guid if more else None,
        is_last_page=not more,
    )
    return [build_debt_export(page)]


def _att_json(kind: str, atts: list[Attachment]) -> list[dict[str, Any]]:
    return [{"kind": kind, "att": asdict(a)} for a in atts]


async def _object(
    session: AsyncSession, org: Org, obj: etree._Element
) -> tuple[int | None, int | None] | None:
    if fias := element_text(obj, "debts:House/debts:FiasHouseGUID"):
        house_id = await session.scalar(
            select(House.id).where(House.fias_guid == fias.lower(), House.org_id == org.id)
        )
        return (house_id, None) if house_id is not None else None
    if guid := element_text(obj, "debts:House/debts:HouseGUID"):
        house_id = await session.scalar(
            select(House.id).where(House.guid == guid.lower(), House.org_id == org.id)
        )
        return (house_id, None) if house_id is not None else None
    if guid := element_text(obj, "debts:PremiseGUID"):
        # Only premises of the organisation's own houses, like the house GUIDs above.
        row = (
            await session.execute(
                select(Premises.id, Premises.house_id)
                .join(House, House.id == Premises.house_id)
                .where(Premises.guid == guid.lower(), House.org_id == org.id)
            )
        ).first()
        return (row[1], row[0]) if row is not None else None
    return None


async def _placing(
    rt: StandRuntime, session: AsyncSession, org: Org, el: etree._Element
) -> CommonResult | tuple[str, str]:
    today = rt.clock.today()
    obj = el.find("debts:DebtObject", NS)
    assert obj is not None
    where = await _object(session, org, obj)
    if where is None:
        return codes.OBJECT_NOT_FOUND, "DebtObject is not in the housing-fund registry of the organisation"
    act_atts = [parse_attachment(a) for a in el.findall("debts:JudicalAct/debts:JudicalActAttachment", NS)]
    acts = [parse_attachment(a) for a in el.findall("debts:Act", NS)]
    extra = [parse_attachment(a) for a in el.findall("debts:AdditionalAttachment", NS)]
    problem = await check_attachments(session, org, act_atts + acts + extra)
    if problem is not None:
        return problem
    d = "debts:DebtorData/debts:"
    debt = Debt(
        guid=new_guid(), org_id=org.id, house_id=where[0], premises_id=where[1],
        surname=element_text(el, d + "SurName") or "", first_name=element_text(el, d + "FirstName") or "",
        patronymic=element_text(el, d + "Patronymic"), snils=element_text(el, d + "SNILS"),
        inn=element_text(el, d + "INN"),
        act_number=element_text(el, "debts:JudicalAct/debts:JudicalActNumber") or "",
        act_date=_day(element_text(el, "debts:JudicalAct/debts:JudicalActDate")) or today,
        act_pronounced=_day(element_text(el, "debts:JudicalAct/debts:JudicalActDatePronouncingImport")),
        amount=0, status="PUBLISHED", repayment_status="UNPAID", first_published=today, last_published=today,
        additional_info=element_text(el, "debts:AdditionalInfo"),
        attachments=json.dumps(
            _att_json("JudicalActAttachment", act_atts) + _att_json("Act", acts)
            + _att_json("AdditionalAttachment", extra), ensure_ascii=False,
        ),
    )  # fmt: skip
    session.add(debt)
    return CommonResult(transport_guid="", guid=debt.guid, update_date=rt.clock.now())


async def import_debts(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Place, edit, annul debts and record or annul repayments; one CommonResult per Debt item."""
    del message
    today = rt.clock.today()
    results: list[CommonResult] = []
    for item in body.findall("debts:Debt", NS):
        transport = element_text(item, "base:TransportGUID") or ""
        op = next(c for c in item if isinstance(c.tag, str) and etree.QName(c).localname != "TransportGUID")
        kind = etree.QName(op).localname
        outcome: CommonResult | tuple[str, str]
        if kind == "PlacingDebt":
            outcome = await _placing(rt, session, org, op)
        else:
            guid = (element_text(op, "debts:DebtGUID") or "").lower()
            debt = await session.scalar(select(Debt).where(Debt.guid == guid, Debt.org_id == org.id))
            if debt is None:
                outcome = codes.OBJECT_NOT_FOUND, f"debt {guid} is not in the registry"
            elif debt.status == "CANCELLED":
                outcome = codes.RULE_VIOLATION, "the debt record is annulled"
            else:
                outcome = await _change(rt, session, org, debt, kind, op, today)
        if isinstance(outcome, tuple):
            results.append(CommonResult(transport_guid=transport, errors=(ErrorInfo(*outcome),)))
        else:
            results.append(
                CommonResult(transport_guid=transport, guid=outcome.guid, update_date=outcome.update_date)
            )
    await session.flush()
    return build_common_results(Service.DEBTS, results)


async def _change(
    rt: StandRuntime, session: AsyncSession, org: Org, debt: Debt, kind: str, op: etree._Element, today: date
) -> CommonResult | tuple[str, str]:
    if kind == "EditDebt":
        acts = [parse_attachment(a) for a in op.findall("debts:Act", NS)]
        extra = [parse_attachment(a) for a in op.findall("debts:AdditionalAttachment", NS)]
        problem = await check_attachments(session, org, acts + extra)
        if problem is not None:
            return problem
        current = json.loads(debt.attachments)
        debt.attachments = json.dumps(
            current + _att_json("Act", acts) + _att_json("AdditionalAttachment", extra), ensure_ascii=False
        )
        if info := element_text(op, "debts:AdditionalInfo"):
            debt.additional_info = info
    elif kind == "AnnulmentDebt":
        debt.status = "CANCELLED"
        debt.annulment_date = today
        debt.annulment_code = element_text(op, "debts:AnnulmentReason/nsi-base:Code")
        debt.annulment_guid = element_text(op, "debts:AnnulmentReason/nsi-base:GUID")
        debt.annulment_text = element_text(op, "debts:AnnulmentTextReason")
    elif kind == "PlacingDebtRepayment":
        if debt.repayment_status == "PAID":
            return codes.RULE_VIOLATION, "the repayment is already recorded"
        debt.repayment_status = "PAID"
        debt.repayment_date = _day(element_text(op, "debts:PlacingDate")) or today
        debt.repayment_info = element_text(op, "debts:PlacingInfo")
    elif kind == "AnnulmentDebtRepayment":
        if debt.repayment_status != "PAID":
            return codes.RULE_VIOLATION, "no repayment is recorded"
        debt.repayment_status, debt.repayment_date, debt.repayment_info = "UNPAID", None, None
    debt.last_published = today
    return CommonResult(transport_guid="", guid=debt.guid, update_date=rt.clock.now())


#: The operations this module answers; the stand app lists them.
PROCESSORS: dict[str, Processor] = {"exportDebt": export_debts, "importDebt": import_debts}
