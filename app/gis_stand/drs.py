"""debt-requests service: exportDSRs (paged by 100) and importDSRResponses (Send / Revoke)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

from lxml import etree
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.gis_client.messages import (
    MAX_DSR_PERIOD_MONTHS,
    Attachment,
    CommonResult,
    DebtDocument,
    DebtInfo,
    DSRExportPage,
    DSRRequestInfo,
    DSRResponse,
    ErrorInfo,
    Executor,
    HousingFundObject,
    IdentityDocument,
    NsiRef,
    Organization,
    Period,
    Person,
    add_months,
)
from app.gis_client.messages import Subrequest as SubrequestData
from app.gis_client.operations import BASE_VERSION_ATTR, NS, Service
from app.gis_client.services.common import parse_attachment
from app.gis_client.services.debt_requests import parse_debt_info
from app.gis_stand import codes
from app.gis_stand.config import DSR_PAGE_SIZE
from app.gis_stand.files import check_attachments
from app.gis_stand.models import AnswerEvent, Debt, DebtRequest, House, Message, Org, Premises, Subrequest
from app.gis_stand.results_builder import build_common_results, build_dsr_export
from app.gis_stand.runtime import StandRuntime, sweep_overdue
from app.gis_stand.soap import Outcome, Processor, element_text, format_fault, texts

#: Fio shown as the executor of an answer (the stand keeps no employee registry).
ANSWER_EXECUTOR_FIO = "Ответственный сотрудник организации"


def precheck_export(_rt: StandRuntime, body: etree._Element) -> None:
    """Refuse a sending period longer than 6 months or reversed (the XSD cannot express it)."""
    period = body.find("drs:periodOfSendingRequest", NS)
    if period is None:
        return
    start = date.fromisoformat((element_text(period, "base:startDate") or "")[:10])
    end = date.fromisoformat((element_text(period, "base:endDate") or "")[:10])
    if end < start:
        raise format_fault("periodOfSendingRequest: startDate is after endDate")
    if end > add_months(start, MAX_DSR_PERIOD_MONTHS):
        raise format_fault(
            f"periodOfSendingRequest {start}..{end} is longer than {MAX_DSR_PERIOD_MONTHS} months"
        )


def precheck_import(rt: StandRuntime, body: etree._Element) -> None:
    """Refuse as a whole a message carrying a subrequest scripted to poison it (GIS's FMT001300)."""
    if not rt.refuse_messages_with:
        return
    for action in body.findall("drs:action", NS):
        guid = (element_text(action, "drs:subrequestGUID") or "").lower()
        if guid in rt.refuse_messages_with:
            rt.refused_messages += 1
            raise format_fault(f"All strings must be XML compatible (action for subrequest {guid})")


def _request_status(sub: Subrequest) -> str:
    return "Sent" if sub.response_status == "NotSent" else "Processed"


def _response_from_json(text: str) -> DSRResponse:
    data: dict[str, Any] = json.loads(text)
    infos = []
    for item in data.get("debt_info", []):
        p = item["person"]
        doc = p.get("document")
        person = Person(
            first_name=p["first_name"],
            last_name=p["last_name"],
            middle_name=p.get("middle_name"),
            snils=p.get("snils"),
            document=None
            if doc is None
            else IdentityDocument(NsiRef(**doc["type"]), doc["number"], doc.get("series")),
        )
        documents = tuple(
            DebtDocument(type=NsiRef(**d["type"]), attachment=Attachment(**d["attachment"]))
            for d in item.get("documents", [])
        )
        infos.append(DebtInfo(person=person, documents=documents))
    return DSRResponse(
        has_debt=bool(data["has_debt"]),
        executor=Executor(data["executor_guid"], ANSWER_EXECUTOR_FIO),
        debt_info=tuple(infos),
        additional_files=tuple(Attachment(**a) for a in data.get("additional_files", [])),
        description=data.get("description"),
    )


def to_subrequest(
    sub: Subrequest, req: DebtRequest, house: House, premises: Premises | None, version: str
) -> SubrequestData:
    """Convert stand rows into the DSRType dataclass the results builder emits."""
    if version == "13.1.10.1":
        hfo = HousingFundObject(
            address=sub.address,
            house_guid=house.guid,
            address_details=sub.address_details,
            fias_house_guid=house.fias_guid,
        )
    else:
        hfo = HousingFundObject(
            address=sub.address,
            hm_object_guid=premises.guid if premises is not None else house.guid,
            address_type="Apartment" if premises is not None else "House",
            fias_house_guid=house.fias_guid,
        )
    info = DSRRequestInfo(
        request_guid=req.guid,
        request_number=req.number,
        organization=Organization(req.sender_root_guid, req.sender_name, req.sender_tel),
        housing_fund_object=hfo,
        period=Period(req.period_start, req.period_end),
        status=_request_status(sub),  # type: ignore[arg-type]
        sent_date=sub.sent_date,
        response_date=sub.response_date,
        executor=Executor(req.executor_guid, req.executor_fio),
    )
    response = None
    if sub.response_status == "Sent" and sub.response:
        response = _response_from_json(sub.response)
    elif sub.response_status == "AutoGenerated":
        # GIS answers "no debt" on the organisation's behalf (domain-rules §1).
        response = DSRResponse(has_debt=False, executor=Executor(req.executor_guid, req.executor_fio))
    return SubrequestData(sub.guid, info, sub.response_status, response)  # type: ignore[arg-type]


def _base_query(org: Org) -> Select[Subrequest, DebtRequest, House, Premises]:
    return (
        select(Subrequest, DebtRequest, House, Premises)
        .join(DebtRequest, DebtRequest.id == Subrequest.request_id)
        .join(House, House.id == Subrequest.house_id)
        .outerjoin(Premises, Premises.id == Subrequest.premises_id)
        .where(Subrequest.org_id == org.id)
    )


async def export_dsrs(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Export subrequests by GUIDs, by request numbers, or by filter in pages of 100."""
    del message
    await sweep_overdue(session, rt.clock.today())
    version = body.get(BASE_VERSION_ATTR) or "14.0.0.0"
    guids = [g.lower() for g in texts(body, "drs:subrequestGUID")]
    numbers = texts(body, "drs:requestNumber")
    query = _base_query(org)
    if rt.withdrawn:
        # A withdrawn request is no longer shown to suppliers: by GUID it is "not found".
        query = query.where(Subrequest.guid.not_in(rt.withdrawn))
    if guids:
        rows = (await session.execute(query.where(Subrequest.guid.in_(guids)))).all()
        found = {r[0].guid for r in rows}
        page = DSRExportPage(
            tuple(to_subrequest(*r, version) for r in rows),
            not_found_subrequest_guids=tuple(g for g in guids if g not in found),
        )
    elif numbers:
        rows = (await session.execute(query.where(DebtRequest.number.in_(numbers)))).all()
        found_numbers = {r[1].number for r in rows}
        page = DSRExportPage(
            tuple(to_subrequest(*r, version) for r in rows),
            not_found_request_numbers=tuple(n for n in numbers if n not in found_numbers),
        )
    else:
        period = body.find("drs:periodOfSendingRequest", NS)
        assert period is not None  # the XSD choice guarantees it
        start = date.fromisoformat((element_text(period, "base:startDate") or "")[:10])
        end = date.fromisoformat((element_text(period, "base:endDate") or "")[:10])
        query = query.where(Subrequest.sent_date >= start, Subrequest.sent_date <= end)
        houses = [g.lower() for g in texts(body, "drs:houseGUID")]
        if houses:
            query = query.where(House.guid.in_(houses))
        objects = [g.lower() for g in texts(body, "drs:exportHMObjectGUID/drs:HMobjectGUID")]
        if objects:
            query = query.where(or_(House.guid.in_(objects), Premises.guid.in_(objects)))
        statuses = texts(body, "drs:responseStatus")
        if statuses:
            query = query.where(Subrequest.response_status.in_(statuses))
        request_status = element_text(body, "drs:requestStatus")
        if request_status == "Sent":
            query = query.where(Subrequest.response_status == "NotSent")
        elif request_status == "Processed":
            query = query.where(Subrequest.response_status != "NotSent")
        cursor = element_text(body, "drs:exportSubrequestGUID")
        if cursor:
            start_id = await session.scalar(
                select(Subrequest.id).where(Subrequest.guid == cursor.lower(), Subrequest.org_id == org.id)
            )
            if start_id is None:
                return ErrorInfo(
                    codes.PAGE_NOT_FOUND, f"Error loading content: Content not found for guid: {cursor}"
                )
            query = query.where(Subrequest.id >= start_id)
        rows = (await session.execute(query.order_by(Subrequest.id).limit(DSR_PAGE_SIZE + 1))).all()
        more = len(rows) > DSR_PAGE_SIZE
        page = DSRExportPage(
            tuple(to_subrequest(*r, version) for r in rows[:DSR_PAGE_SIZE]),
            next_subrequest_guid=rows[DSR_PAGE_SIZE][0].guid if more else None,
            last_page=not more,
        )
    if not page.subrequests:
        return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")
    return [build_dsr_export(page)]


def _person_json(info: DebtInfo) -> dict[str, Any]:
    p = info.person
    return {
        "person": {
            "first_name": p.first_name,
            "last_name": p.last_name,
            "middle_name": p.middle_name,
            "snils": p.snils,
            "document": None
            if p.document is None
            else {"type": asdict(p.document.type), "number": p.document.number, "series": p.document.series},
        },
        "documents": [{"type": asdict(d.type), "attachment": asdict(d.attachment)} for d in info.documents],
    }


def _error(transport: str, code: str, text: str) -> CommonResult:
    return CommonResult(transport_guid=transport, errors=(ErrorInfo(code, text),))


async def _send(session: AsyncSession, org: Org, data: etree._Element) -> tuple[str, str] | dict[str, Any]:
    """Check one Send answer; return the answer JSON or (code, text)."""
    has_debt = (element_text(data, "drs:hasDebt") or "").lower() in ("true", "1")
    infos = [parse_debt_info(e) for e in data.findall("drs:debtInfo", NS)]
    debt_guids = [g.lower() for g in texts(data, "drs:debtGUID")]
    files = [parse_attachment(e) for e in data.findall("drs:additionalFile", NS)]
    if not has_debt and (infos or debt_guids or files):
        return (
            codes.RULE_VIOLATION,
            "debtInfo, debtGUID and additionalFile are allowed only when hasDebt=true",
        )
    if has_debt and not (infos or debt_guids):
        return codes.RULE_VIOLATION, "hasDebt=true needs debtInfo or debtGUID"
    if debt_guids:
        known = set(
            (
                await session.scalars(
                    select(Debt.guid).where(Debt.guid.in_(debt_guids), Debt.org_id == org.id)
                )
            ).all()
        )
        missing = [g for g in debt_guids if g not in known]
        if missing:
            return codes.OBJECT_NOT_FOUND, f"debtGUID {missing[0]} is not in the debts registry"
    attachments = files + [d.attachment for i in infos for d in i.documents]
    problem = await check_attachments(session, org, attachments)
    if problem is not None:
        return problem
    return {
        "has_debt": has_debt,
        "executor_guid": (element_text(data, "drs:executorGUID") or "").lower(),
        "description": element_text(data, "drs:description"),
        "debt_info": [_person_json(i) for i in infos],
        "debt_guids": debt_guids,
        "additional_files": [asdict(a) for a in files],
    }


async def import_responses(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Apply Send / Revoke actions; one CommonResult per action, errors per item."""
    today = rt.clock.today()
    await sweep_overdue(session, today)
    now = utcnow()
    actions = body.findall("drs:action", NS)
    guids = [(element_text(a, "drs:subrequestGUID") or "").lower() for a in actions]
    subs = {
        s.guid: s for s in (await session.scalars(select(Subrequest).where(Subrequest.guid.in_(guids)))).all()
    }
    results: list[CommonResult] = []
    for action, guid in zip(actions, guids, strict=True):
        transport = element_text(action, "base:TransportGUID") or ""
        kind = element_text(action, "drs:actionType")
        sub = subs.get(guid)
        if sub is None:
            results.append(_error(transport, codes.OBJECT_NOT_FOUND, f"subrequest {guid} not found"))
            continue
        if guid in rt.withdrawn:
            results.append(
                _error(transport, codes.REQUEST_WITHDRAWN, "the request was withdrawn by the requester")
            )
            continue
        scripted = rt.refuse_actions.get(guid)
        if scripted is not None:
            results.append(_error(transport, *scripted))
            continue
        if sub.org_id != org.id:
            results.append(
                _error(transport, codes.NOT_ADDRESSED, "the subrequest is addressed to another organisation")
            )
            continue
        if today > sub.response_date:
            results.append(
                _error(
                    transport, codes.DEADLINE_PASSED, f"the answer deadline {sub.response_date} has passed"
                )
            )
            continue
        if kind == "Revoke":
            if sub.response_status != "Sent":
                results.append(
                    _error(transport, codes.NOTHING_TO_REVOKE, "the subrequest has no sent answer to revoke")
                )
                continue
            sub.response_status, sub.response, sub.answered_at = "NotSent", None, None
            session.add(
                AnswerEvent(
                    subrequest_id=sub.id,
                    action="Revoke",
                    at=now,
                    message_guid=message.guid,
                    transport_guid=transport,
                )
            )
            results.append(CommonResult(transport_guid=transport, guid=sub.guid, update_date=rt.clock.now()))
            continue
        if sub.response_status == "Sent":
            results.append(
                _error(transport, codes.ALREADY_ANSWERED, "the answer was already sent; revoke it first")
            )
            continue
        data = action.find("drs:responseData", NS)
        if data is None:
            results.append(_error(transport, codes.RULE_VIOLATION, "Send needs responseData"))
            continue
        checked = await _send(session, org, data)
        if isinstance(checked, tuple):
            results.append(_error(transport, *checked))
            continue
        sub.response_status, sub.response, sub.answered_at = (
            "Sent",
            json.dumps(checked, ensure_ascii=False),
            now,
        )
        session.add(
            AnswerEvent(
                subrequest_id=sub.id,
                action="Send",
                at=now,
                message_guid=message.guid,
                transport_guid=transport,
                has_debt=bool(checked["has_debt"]),
            )
        )
        results.append(CommonResult(transport_guid=transport, guid=sub.guid, update_date=rt.clock.now()))
    await session.flush()
    return build_common_results(Service.DEBT_REQUESTS, results)


#: The operations this module answers; the stand app lists them.
PROCESSORS: dict[str, Processor] = {"exportDebtSubrequests": export_dsrs, "importResponses": import_responses}
