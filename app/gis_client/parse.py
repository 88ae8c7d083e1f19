"""Parsers of GIS replies (Ack, getStateResult, SOAP Fault) into the typed results of messages.py."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from lxml import etree

from app.gis_client import house_data
from app.gis_client.errors import DEFAULT_RETRYABLE_CODES, GisFaultError, GisProtocolError
from app.gis_client.messages import (
    ACCOUNT_KINDS,
    Accommodation,
    Account,
    AccountClosed,
    Ack,
    ActInfo,
    Attachment,
    CancelledAddress,
    CommonResult,
    DebtAnnulment,
    DebtDocument,
    DebtExportPage,
    DebtInfo,
    Debtor,
    DSRExportPage,
    DSRRequestInfo,
    DSRResponse,
    ErrorInfo,
    Executor,
    ExportedDebt,
    ExportedDebtObject,
    HousingFundObject,
    IdentityDocument,
    IndividualPayer,
    JudicialAct,
    NsiElement,
    NsiItem,
    NsiRef,
    Organization,
    Payer,
    PayerDocument,
    Period,
    Person,
    Repayment,
    StatePayload,
    StateResult,
    Subrequest,
)
from app.gis_client.operations import NS, NS_SOAP, q
from app.gis_client.schemas import element_path

T = TypeVar("T")

# GIS writes "Unknown fault occured" for internal errors that pass on a rebuilt resend (gis-protocol.md §8).
_UNKNOWN_FAULT = "unknown fault occured"
_FAULTSTRING_CODE = re.compile(r"^\s*([A-Z]{3}\d{6})\s*:\s*(.*)$", re.S)
_FRACTION = re.compile(r"(\.\d{6})\d+")


# ------------------------------------------------------------------------------------------ XML helpers


@functools.lru_cache(maxsize=2048)
def _clark(path: str) -> tuple[str, tuple[str, ...]]:
    """Resolve `drs:a/base:b` to Clark notation once: the whole path and its steps."""
    steps = tuple(
        f"{{{NS[p]}}}{local}" if sep else p for p, sep, local in (s.partition(":") for s in path.split("/"))
    )
    return "/".join(steps), steps


# lxml's find(path, namespaces) re-keys its path cache on the sorted namespaces dict at every call, which was
# most of the cost of parsing a 100-subrequest page; Clark paths resolved once and iterchildren (C) avoid it.


def _find(el: etree._Element, path: str) -> etree._Element | None:
    full, steps = _clark(path)
    if len(steps) == 1:
        return next(el.iterchildren(full), None)
    return el.find(full)


def _need(el: etree._Element, path: str) -> etree._Element:
    found = _find(el, path)
    if found is None:
        raise GisProtocolError(f"missing {path} in {element_path(el)}")
    return found


def _text(el: etree._Element, path: str) -> str | None:
    found = _find(el, path)
    return None if found is None else (found.text or "")


def _req(el: etree._Element, path: str) -> str:
    return _need(el, path).text or ""


def _iter(el: etree._Element, path: str) -> Iterator[etree._Element]:
    full, steps = _clark(path)
    return el.iterchildren(full) if len(steps) == 1 else el.iterfind(full)


def _all(el: etree._Element, path: str) -> list[etree._Element]:
    return list(_iter(el, path))


def _texts(el: etree._Element, path: str) -> tuple[str, ...]:
    return tuple(c.text or "" for c in _iter(el, path))


class _Kids:
    """The children of one element indexed by tag in a single pass, for parsers reading many of them."""

    # A subrequest is ~40 elements read ~55 times; one pass plus dict lookups is several times cheaper than
    # one lxml child search per field. Only single-step paths are indexed; longer ones fall back to _find.
    __slots__ = ("el", "_first")

    def __init__(self, el: etree._Element) -> None:
        self.el = el
        first: dict[Any, etree._Element] = {}
        for child in el:
            first.setdefault(child.tag, child)
        self._first = first

    def find(self, path: str) -> etree._Element | None:
        full, steps = _clark(path)
        if len(steps) == 1:
            return self._first.get(full)
        return self.el.find(full)

    def need(self, path: str) -> etree._Element:
        found = self.find(path)
        if found is None:
            raise GisProtocolError(f"missing {path} in {element_path(self.el)}")
        return found

    def text(self, path: str) -> str | None:
        found = self.find(path)
        return None if found is None else (found.text or "")

    def req(self, path: str) -> str:
        return self.need(path).text or ""

    def all(self, path: str) -> list[etree._Element]:
        return _all(self.el, path)


def _map(value: str | None, fn: Callable[[str], T]) -> T | None:
    return None if value is None else fn(value)


def to_bool(value: str) -> bool:
    """Parse xs:boolean."""
    return value.strip() in ("true", "1")


def to_date(value: str) -> date:
    """Parse xs:date, ignoring a timezone suffix GIS sometimes adds (`2025-01-31+03:00`)."""
    return date.fromisoformat(value.strip()[:10])


def to_datetime(value: str) -> datetime:
    """Parse xs:dateTime, including .NET's 7-digit fractions seen in production."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))


def _guid(value: str) -> str:
    return value.strip()


# ------------------------------------------------------------------------------------------ envelope level


def body_element(document: etree._Element) -> etree._Element:
    """Return the single Body child of an envelope, or the element itself if it is not an envelope."""
    if document.tag != f"{{{NS_SOAP}}}Envelope":
        return document
    body = _need(document, "soap:Body")
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise GisProtocolError(f"SOAP Body holds {len(children)} elements, expected 1")
    return children[0]


def parse_fault(
    fault: etree._Element, retryable_codes: Collection[str] = DEFAULT_RETRYABLE_CODES
) -> GisFaultError:
    """Turn a soap:Fault into GisFaultError: code from detail/base:Fault/ErrorCode, else the faultstring."""
    faultstring = (_text(fault, "faultstring") or "").strip()
    detail = _find(fault, "detail/base:Fault")
    code, message = "", faultstring
    if detail is not None:
        code = (_text(detail, "base:ErrorCode") or "").strip()
        message = (_text(detail, "base:ErrorMessage") or faultstring).strip()
    if not code:
        match = _FAULTSTRING_CODE.match(faultstring)
        if match:
            code, message = match.group(1), match.group(2).strip()
    retryable = code in retryable_codes or _UNKNOWN_FAULT in faultstring.lower()
    return GisFaultError(code, message, retryable=retryable)


def raise_for_fault(
    document: etree._Element, retryable_codes: Collection[str] = DEFAULT_RETRYABLE_CODES
) -> etree._Element:
    """Return the body element, raising GisFaultError if it is a SOAP Fault."""
    body = body_element(document)
    if body.tag == f"{{{NS_SOAP}}}Fault":
        raise parse_fault(body, retryable_codes)
    return body


def parse_ack(document: etree._Element) -> Ack:
    """Parse base:AckRequest (envelope or element) into (GIS MessageGUID, our MessageGUID)."""
    body = raise_for_fault(document)
    if body.tag != q("base", "AckRequest"):
        raise GisProtocolError(f"expected base:AckRequest, got {body.tag}")
    ack = _need(body, "base:Ack")
    return Ack(_guid(_req(ack, "base:MessageGUID")), _guid(_req(ack, "base:RequesterMessageGUID")))


def parse_error_message(el: etree._Element) -> ErrorInfo:
    """Parse a base:ErrorMessageType element."""
    return ErrorInfo(
        code=_req(el, "base:ErrorCode").strip(),
        description=_req(el, "base:Description"),
        stack_trace=_text(el, "base:StackTrace"),
    )


def error_to_fault(
    error: ErrorInfo, retryable_codes: Collection[str] = DEFAULT_RETRYABLE_CODES
) -> GisFaultError:
    """Turn an ErrorMessage of a finished getState into the same exception a SOAP Fault gives."""
    return GisFaultError(error.code, error.description, retryable=error.code in retryable_codes)


def parse_state(document: etree._Element) -> StateResult:
    """Parse `{svc}:getStateResult` of any service: RequestState + typed result or ErrorMessage."""
    body = raise_for_fault(document)
    if etree.QName(body).localname != "getStateResult":
        raise GisProtocolError(f"expected getStateResult, got {body.tag}")
    state_text = _req(body, "base:RequestState").strip()
    if state_text not in ("1", "2", "3"):
        raise GisProtocolError(f"unknown RequestState {state_text!r}")
    message_guid = _guid(_req(body, "base:MessageGUID"))
    error_el = _find(body, "base:ErrorMessage")
    error = parse_error_message(error_el) if error_el is not None else None
    payload = None if error is not None else _payload(body)
    return StateResult(int(state_text), message_guid, payload=payload, error=error)


def _payload(body: etree._Element) -> StatePayload:
    tags = {c.tag for c in body if isinstance(c.tag, str)}
    for tag, parser in _PAYLOADS.items():
        if tag in tags:
            return cast(StatePayload, parser(body))
    return None


# --------------------------------------------------------------------------------------------- shared types


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


# ------------------------------------------------------------------------------------------ debt-requests


def _executor(el: etree._Element) -> Executor:
    k = _Kids(el)
    return Executor(_guid(k.req("drs:GUID")), k.req("drs:fio"))


def _person(el: etree._Element) -> Person:
    k = _Kids(el)
    doc_el = k.find("drs:document")
    document = None
    if doc_el is not None:
        doc = _Kids(doc_el)
        document = IdentityDocument(
            parse_nsi_ref(doc.need("drs:type")), doc.req("drs:number"), doc.text("drs:series")
        )
    return Person(
        first_name=k.req("drs:firstName"),
        last_name=k.req("drs:lastName"),
        middle_name=k.text("drs:middleName"),
        snils=k.text("drs:snils"),
        document=document,
    )


def _debt_document(el: etree._Element) -> DebtDocument:
    k = _Kids(el)
    act_el = k.find("drs:actType")
    ca_el = k.find("drs:cancelledAddress")
    act = None
    if act_el is not None:
        a = _Kids(act_el)
        act = ActInfo(
            a.req("drs:number"),
            to_date(a.req("drs:date")),
            _map(a.text("drs:judicalActDatePronouncing"), to_date),
        )
    cancelled = None
    if ca_el is not None:
        ca = _Kids(ca_el)
        cancelled = CancelledAddress(
            text=ca.req("drs:cancelledAddressText"),
            hm_object_guid=_guid(ca.req("drs:HMobjectGUID")),
            fias_house_guid=_map(ca.text("drs:fiasHouseGUID"), _guid),
            hcs_house_guid=_map(ca.text("drs:HCSHouseGUID"), _guid),
        )
    return DebtDocument(
        type=parse_nsi_ref(k.need("drs:type")),
        attachment=parse_attachment(k.need("drs:attachment")),
        debt_guid=_map(k.text("drs:debtGUID"), _guid),
        act=act,
        cancelled_address=cancelled,
    )


def parse_debt_info(el: etree._Element) -> DebtInfo:
    """Parse drs:debtInfo (import or export flavour)."""
    return DebtInfo(
        person=_person(_need(el, "drs:person")),
        documents=tuple(_debt_document(d) for d in _iter(el, "drs:document")),
    )


def parse_subrequest(el: etree._Element) -> Subrequest:
    """Parse drs:subrequestData (DSRType)."""
    k = _Kids(el)
    info = _Kids(k.need("drs:requestInfo"))
    org = _Kids(info.need("drs:organization"))
    hfo = _Kids(info.need("drs:housingFundObject"))
    response_el = k.find("drs:responseData")
    response = None
    if response_el is not None:
        r = _Kids(response_el)
        response = DSRResponse(
            has_debt=to_bool(r.req("drs:hasDebt")),
            executor=_executor(r.need("drs:executorInfo")),
            debt_info=tuple(parse_debt_info(d) for d in _iter(response_el, "drs:debtInfo")),
            additional_files=tuple(parse_attachment(a) for a in _iter(response_el, "drs:additionalFile")),
            description=r.text("drs:description"),
        )
    return Subrequest(
        subrequest_guid=_guid(k.req("drs:subrequestGUID")),
        request=DSRRequestInfo(
            request_guid=_guid(info.req("drs:requestGUID")),
            request_number=info.req("drs:requestNumber"),
            organization=Organization(
                _guid(org.req("drs:orgRootGUID")), org.req("drs:name"), org.text("drs:tel")
            ),
            housing_fund_object=HousingFundObject(
                address=hfo.req("drs:address"),
                house_guid=_map(hfo.text("drs:houseGUID"), _guid),
                address_details=hfo.text("drs:addressDetails"),
                hm_object_guid=_map(hfo.text("drs:HMobjectGUID"), _guid),
                address_type=hfo.text("drs:adressType"),
                fias_house_guid=_map(hfo.text("drs:fiasHouseGUID"), _guid),
            ),
            period=_period(info.need("drs:period")),
            status=cast(Any, info.req("drs:status")),
            sent_date=to_date(info.req("drs:sentDate")),
            response_date=to_date(info.req("drs:responseDate")),
            executor=_executor(info.need("drs:executorInfo")),
        ),
        response_status=cast(Any, k.req("drs:responseStatus")),
        response=response,
    )


def parse_dsr_export(el: etree._Element) -> DSRExportPage:
    """Parse drs:exportDSRsResult (subrequests, notFound, pagedOutput)."""
    paged = _find(el, "drs:pagedOutput")
    return DSRExportPage(
        subrequests=tuple(parse_subrequest(s) for s in _iter(el, "drs:subrequestData")),
        not_found_subrequest_guids=tuple(_guid(g) for g in _texts(el, "drs:notFound/drs:subrequestGUID")),
        not_found_request_numbers=_texts(el, "drs:notFound/drs:requestNumber"),
        next_subrequest_guid=None if paged is None else _map(_text(paged, "drs:nextSubrequestGUID"), _guid),
        last_page=paged is not None and to_bool(_text(paged, "drs:lastPage") or "false"),
    )


# ---------------------------------------------------------------------------------------- house-management


def _payer(el: etree._Element) -> Payer:
    ind_el = _find(el, "hm:Ind")
    individual = None
    if ind_el is not None:
        id_el = _find(ind_el, "hm:ID")
        type_el = None if id_el is None else _find(id_el, "hm:Type")
        individual = IndividualPayer(
            surname=_text(ind_el, "ind:Surname"),
            first_name=_text(ind_el, "ind:FirstName"),
            patronymic=_text(ind_el, "ind:Patronymic"),
            sex=cast(Any, _text(ind_el, "hm:Sex")),
            date_of_birth=_map(_text(ind_el, "hm:DateOfBirth"), to_date),
            snils=_text(ind_el, "ind:SNILS"),
            document=None
            if id_el is None
            else PayerDocument(
                type=None if type_el is None else parse_nsi_ref(type_el),
                series=_text(id_el, "hm:Series"),
                number=_text(id_el, "hm:Number"),
                issue_date=_map(_text(id_el, "hm:IssueDate"), to_date),
            ),
        )
    return Payer(
        is_renter=to_bool(_text(el, "hm:IsRenter") or "false"),
        is_accounts_divided=to_bool(_text(el, "hm:isAccountsDivided") or "false"),
        individual=individual,
        org_version_guid=_map(_text(el, "hm:Org/org:orgVersionGUID"), _guid),
    )


def _accommodation(el: etree._Element) -> Accommodation:
    for kind in ("PremisesGUID", "FIASHouseGuid", "LivingRoomGUID"):
        value = _text(el, f"hm:{kind}")
        if value is not None:
            return Accommodation(cast(Any, kind), _guid(value), _map(_text(el, "hm:SharePercent"), Decimal))
    raise GisProtocolError(f"Accommodation without an object GUID at {element_path(el)}")


def parse_account(el: etree._Element) -> Account:
    """Parse hm:exportAccountResult (one account)."""
    kind = next((k for k in ACCOUNT_KINDS if _find(el, f"hm:{k}") is not None), None)
    if kind is None:
        raise GisProtocolError(f"account kind missing at {element_path(el)}")
    closed = _find(el, "hm:Closed")
    return Account(
        kind=cast(Any, kind),
        account_guid=_guid(_req(el, "hm:AccountGUID")),
        unified_account_number=_req(el, "account-base:UnifiedAccountNumber"),
        payer=_payer(_need(el, "hm:PayerInfo")),
        account_number=_text(el, "hm:AccountNumber"),
        service_id=_text(el, "account-base:ServiceID"),
        creation_date=_map(_text(el, "hm:CreationDate"), to_datetime),
        living_persons_number=_map(_text(el, "hm:LivingPersonsNumber"), int),
        total_square=_map(_text(el, "hm:TotalSquare"), Decimal),
        residential_square=_map(_text(el, "hm:ResidentialSquare"), Decimal),
        heated_area=_map(_text(el, "hm:HeatedArea"), Decimal),
        closed=None
        if closed is None
        else AccountClosed(
            parse_nsi_ref(_need(closed, "hm:CloseReason")),
            to_date(_req(closed, "hm:CloseDate")),
            _text(closed, "hm:Description"),
        ),
        accommodations=tuple(_accommodation(a) for a in _all(el, "hm:Accommodation")),
    )


# ----------------------------------------------------------------------------------------------------- debts


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


# ---------------------------------------------------------------------------------------------- nsi-common


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


_PAYLOADS: dict[str, Callable[[etree._Element], object]] = {
    q("drs", "importResult"): lambda b: tuple(parse_common_result(r) for r in _all(b, "drs:importResult")),
    q("debts", "ImportResult"): lambda b: tuple(
        parse_common_result(r) for r in _all(b, "debts:ImportResult")
    ),
    q("drs", "exportDSRsResult"): lambda b: parse_dsr_export(_need(b, "drs:exportDSRsResult")),
    q("hm", "exportAccountResult"): lambda b: tuple(
        parse_account(a) for a in _all(b, "hm:exportAccountResult")
    ),
    q("debts", "ExportDebtResult"): lambda b: parse_debt_export(_need(b, "debts:ExportDebtResult")),
    q("nsi-common", "NsiItem"): lambda b: parse_nsi_item(_need(b, "nsi-common:NsiItem")),
    q("hm", "exportHouseResult"): house_data.parse_state_payload,
}
