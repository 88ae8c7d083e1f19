"""Builders of GIS-side replies (Ack, getStateResult, SOAP Fault) for the emulated stand and tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lxml import etree

from app.gis_client.messages import (
    Account,
    CommonResult,
    DebtExportPage,
    DSRExportPage,
    ErrorInfo,
    ExportedDebt,
    HouseData,
    NsiElement,
    NsiItem,
    PaymentDocument,
    Subrequest,
    build_attachment,
    build_debt_info,
    build_debtor,
    build_judicial_act,
    build_nsi_ref,
    build_period,
)
from app.gis_client.operations import BASE_VERSION_ATTR, NS, SERVICES, SIGNED_ID, Service, q
from app.gis_client.wire.envelope import frame, new_guid, now_local, nsmap_for, sub, sub_many, sub_opt

_KEEP_VERSION = object()


def _result_header(*, message_guid: str | None, date: datetime | None) -> etree._Element:
    header = etree.Element(q("base", "ResultHeader"))
    sub(header, "base", "Date", date or now_local())
    sub(header, "base", "MessageGUID", message_guid or new_guid())
    return header


def build_ack(
    gis_message_guid: str,
    requester_message_guid: str,
    *,
    message_guid: str | None = None,
    date: datetime | None = None,
) -> etree._Element:
    """Build the synchronous AckRequest envelope (unsigned) the stand returns for an accepted request."""
    body = etree.Element(q("base", "AckRequest"), nsmap=nsmap_for("base"))
    ack = sub(body, "base", "Ack")
    sub(ack, "base", "MessageGUID", gis_message_guid)
    sub(ack, "base", "RequesterMessageGUID", requester_message_guid)
    return frame(_result_header(message_guid=message_guid, date=date), body)


def build_fault(
    code: str,
    message: str,
    *,
    faultcode: str = "soap:Server",
    stack_trace: str | None = None,
) -> etree._Element:
    """Build a GIS-style SOAP 1.1 Fault: faultstring "CODE: message" and detail/base:Fault."""
    envelope = etree.Element(q("soap", "Envelope"), nsmap=nsmap_for("soap", "base"))
    body = etree.SubElement(envelope, q("soap", "Body"))
    fault = etree.SubElement(body, q("soap", "Fault"))
    # faultcode/faultstring/detail are unqualified in SOAP 1.1.
    etree.SubElement(fault, "faultcode").text = faultcode
    etree.SubElement(fault, "faultstring").text = f"{code}: {message}" if code else message
    detail = etree.SubElement(etree.SubElement(fault, "detail"), q("base", "Fault"))
    sub(detail, "base", "ErrorCode", code)
    sub(detail, "base", "ErrorMessage", message)
    sub_opt(detail, "base", "StackTrace", stack_trace)
    return envelope


def _error(parent: etree._Element, prefix: str, local: str, error: ErrorInfo) -> None:
    el = sub(parent, prefix, local)
    sub(el, "base", "ErrorCode", error.code)
    sub(el, "base", "Description", error.description)
    sub_opt(el, "base", "StackTrace", error.stack_trace)


def build_state_result(
    service: Service | str,
    request_state: int,
    message_guid: str,
    payload: Iterable[etree._Element] = (),
    error: ErrorInfo | None = None,
    *,
    version: str | None | object = _KEEP_VERSION,
    response_message_guid: str | None = None,
    date: datetime | None = None,
) -> etree._Element:
    """Build a getStateResult envelope (Id set for the server signature) with payload elements or an error."""
    if request_state not in (1, 2, 3):
        raise ValueError(f"RequestState must be 1, 2 or 3, not {request_state}")
    info = SERVICES[Service(service)]
    body = etree.Element(info.state_result, nsmap=nsmap_for("base", info.prefix))
    body.set("Id", SIGNED_ID)
    chosen = info.state_result_version if version is _KEEP_VERSION else version
    if isinstance(chosen, str):
        body.set(BASE_VERSION_ATTR, chosen)
    sub(body, "base", "RequestState", request_state)
    sub(body, "base", "MessageGUID", message_guid)
    if error is not None:
        _error(body, "base", "ErrorMessage", error)
    else:
        for element in payload:
            body.append(element)
    return frame(_result_header(message_guid=response_message_guid, date=date), body)


# ------------------------------------------------------------------------------------------ payload builders


def build_common_results(service: Service | str, results: Iterable[CommonResult]) -> list[etree._Element]:
    """Build importResult (drs) / ImportResult (debts) elements of base:CommonResultType."""
    svc = Service(service)
    local = {Service.DEBT_REQUESTS: "importResult", Service.DEBTS: "ImportResult"}.get(svc)
    if local is None:
        raise ValueError(f"{svc} has no plain CommonResult list in getStateResult")
    return [_common_result(q(SERVICES[svc].prefix, local), r) for r in results]


#: base:version of hm:getStateResult/hm:ImportResult, fixed by the XSD.
HM_IMPORT_RESULT_VERSION = "10.0.1.1"


def build_hm_import_result(results: Iterable[CommonResult]) -> list[etree._Element]:
    """Build house management's hm:ImportResult holding one hm:CommonResult per action."""
    el = etree.Element(q("hm", "ImportResult"))
    el.set(BASE_VERSION_ATTR, HM_IMPORT_RESULT_VERSION)  # required and fixed by the 16.3.0.0 XSD
    for r in results:
        el.append(_common_result(q("hm", "CommonResult"), r))
    return [el]


def _common_result(tag: str, r: CommonResult) -> etree._Element:
    el = etree.Element(tag)
    sub_opt(el, "base", "GUID", r.guid)
    sub(el, "base", "TransportGUID", r.transport_guid)
    if r.errors:
        for err in r.errors:
            _error(el, "base", "Error", err)
    else:
        sub_opt(el, "base", "UniqueNumber", r.unique_number)
        sub(el, "base", "UpdateDate", r.update_date or now_local())
    return el


def _executor(parent: etree._Element, local: str, guid: str, fio: str) -> None:
    el = sub(parent, "drs", local)
    sub(el, "drs", "GUID", guid)
    sub(el, "drs", "fio", fio)


def build_subrequest(s: Subrequest) -> etree._Element:
    """Build drs:subrequestData (DSRType)."""
    el = etree.Element(q("drs", "subrequestData"))
    sub(el, "drs", "subrequestGUID", s.subrequest_guid)
    info = sub(el, "drs", "requestInfo")
    r = s.request
    sub(info, "drs", "requestGUID", r.request_guid)
    sub(info, "drs", "requestNumber", r.request_number)
    org = sub(info, "drs", "organization")
    sub(org, "drs", "orgRootGUID", r.organization.org_root_guid)
    sub(org, "drs", "name", r.organization.name)
    sub_opt(org, "drs", "tel", r.organization.tel)
    h = r.housing_fund_object
    hfo = sub(info, "drs", "housingFundObject")
    if h.house_guid is not None:
        sub(hfo, "drs", "houseGUID", h.house_guid)
        sub_opt(hfo, "drs", "addressDetails", h.address_details)
    else:
        sub(hfo, "drs", "HMobjectGUID", h.hm_object_guid)
        sub(hfo, "drs", "adressType", h.address_type)
    sub_opt(hfo, "drs", "fiasHouseGUID", h.fias_house_guid)
    sub(hfo, "drs", "address", h.address)
    build_period(info, "drs", "period", r.period)
    sub(info, "drs", "status", r.status)
    sub(info, "drs", "sentDate", r.sent_date)
    sub(info, "drs", "responseDate", r.response_date)
    _executor(info, "executorInfo", r.executor.guid, r.executor.fio)
    sub(el, "drs", "responseStatus", s.response_status)
    if s.response is not None:
        rd = sub(el, "drs", "responseData")
        # Export order differs from the import one: debtInfo before additionalFile, executorInfo last.
        sub(rd, "drs", "hasDebt", s.response.has_debt)
        for info_item in s.response.debt_info:
            build_debt_info(rd, info_item, export=True)
        for att in s.response.additional_files:
            build_attachment(rd, "drs", "additionalFile", att)
        sub_opt(rd, "drs", "description", s.response.description)
        _executor(rd, "executorInfo", s.response.executor.guid, s.response.executor.fio)
    return el


def build_dsr_export(page: DSRExportPage) -> etree._Element:
    """Build drs:exportDSRsResult (at least one subrequest, GIS sends INT002012 otherwise)."""
    if not page.subrequests:
        raise ValueError("exportDSRsResult needs at least one subrequest; emit an INT002012 error instead")
    el = etree.Element(q("drs", "exportDSRsResult"))
    for s in page.subrequests:
        el.append(build_subrequest(s))
    if page.not_found_subrequest_guids or page.not_found_request_numbers:
        nf = sub(el, "drs", "notFound")
        sub_many(nf, "drs", "subrequestGUID", page.not_found_subrequest_guids)
        sub_many(nf, "drs", "requestNumber", page.not_found_request_numbers)
    if page.next_subrequest_guid is not None:
        sub(sub(el, "drs", "pagedOutput"), "drs", "nextSubrequestGUID", page.next_subrequest_guid)
    elif page.last_page:
        sub(sub(el, "drs", "pagedOutput"), "drs", "lastPage", True)
    return el


def build_account(a: Account) -> etree._Element:
    """Build one hm:exportAccountResult."""
    el = etree.Element(q("hm", "exportAccountResult"))
    sub(el, "hm", a.kind, True)
    sub_opt(el, "hm", "CreationDate", a.creation_date)
    sub_opt(el, "hm", "LivingPersonsNumber", a.living_persons_number)
    sub_opt(el, "hm", "TotalSquare", a.total_square)
    sub_opt(el, "hm", "ResidentialSquare", a.residential_square)
    sub_opt(el, "hm", "HeatedArea", a.heated_area)
    if a.closed is not None:
        closed = sub(el, "hm", "Closed")
        build_nsi_ref(closed, "hm", "CloseReason", a.closed.reason)
        sub(closed, "hm", "CloseDate", a.closed.date)
        sub_opt(closed, "hm", "Description", a.closed.description)
    for acc in a.accommodations:
        ac = sub(el, "hm", "Accommodation")
        sub(ac, "hm", acc.kind, acc.guid)
        sub_opt(ac, "hm", "SharePercent", acc.share_percent)
    payer = sub(el, "hm", "PayerInfo")
    if a.payer.is_renter:
        sub(payer, "hm", "IsRenter", True)
    if a.payer.is_accounts_divided:
        sub(payer, "hm", "isAccountsDivided", True)
    ind = a.payer.individual
    if ind is not None:
        i = sub(payer, "hm", "Ind")
        sub_opt(i, "ind", "Surname", ind.surname)
        sub_opt(i, "ind", "FirstName", ind.first_name)
        sub_opt(i, "ind", "Patronymic", ind.patronymic)
        sub_opt(i, "hm", "Sex", ind.sex)
        sub_opt(i, "hm", "DateOfBirth", ind.date_of_birth)
        if ind.snils is not None:
            sub(i, "ind", "SNILS", ind.snils)
        elif ind.document is not None:
            d = sub(i, "hm", "ID")
            if ind.document.type is not None:
                build_nsi_ref(d, "hm", "Type", ind.document.type)
            sub_opt(d, "hm", "Series", ind.document.series)
            sub_opt(d, "hm", "Number", ind.document.number)
            sub_opt(d, "hm", "IssueDate", ind.document.issue_date)
    elif a.payer.org_version_guid is not None:
        sub(sub(payer, "hm", "Org"), "org", "orgVersionGUID", a.payer.org_version_guid)
    sub_opt(el, "hm", "AccountNumber", a.account_number)
    sub(el, "hm", "AccountGUID", a.account_guid)
    sub(el, "account-base", "UnifiedAccountNumber", a.unified_account_number)
    sub_opt(el, "account-base", "ServiceID", a.service_id)
    return el


def build_exported_debt(d: ExportedDebt) -> etree._Element:
    """Build one debts:Debt of ExportDebtResult (ExportDebtDataType)."""
    el = etree.Element(q("debts", "Debt"))
    sub(el, "debts", "DebtGUID", d.debt_guid)
    o = d.debt_object
    obj = sub(el, "debts", "DebtObject")
    og = sub(obj, "debts", "ObjectGUID")
    if o.house_guid is not None or o.fias_house_guid is not None:
        house = sub(og, "debts", "House")
        sub(house, "debts", "FiasHouseGUID", o.fias_house_guid)
        sub(house, "debts", "HouseGUID", o.house_guid)
    sub_opt(og, "debts", "PremiseGUID", o.premise_guid)
    sub_opt(og, "debts", "RoomGUID", o.room_guid)
    sub_opt(obj, "debts", "ObjectStatus", o.object_status)
    sub_opt(obj, "debts", "ObjectStatusDate", o.object_status_date)
    sub_opt(obj, "debts", "ObjectDemolishedReason", o.demolished_reason)
    if o.annulled_reason is not None:
        build_nsi_ref(obj, "debts", "ObjectAnnuledReason", o.annulled_reason)
    build_debtor(el, "Debtor", d.debtor)
    build_judicial_act(el, d.judicial_act, "JudicalActDatePronouncingExport")
    for att in d.acts:
        build_attachment(el, "debts", "Act", att)
    for att in d.additional_attachments:
        build_attachment(el, "debts", "AdditionalAttachment", att)
    sub_opt(el, "debts", "AdditionalInfo", d.additional_info)
    sub(el, "debts", "Status", d.status)
    sub(el, "debts", "FirstPublishedDate", d.first_published)
    sub(el, "debts", "LastPublishedDate", d.last_published)
    r = d.repayment
    rep = sub(el, "debts", "RepaymentData")
    sub(rep, "debts", "RepaymentStatus", r.status)
    sub_opt(rep, "debts", "PlacingDate", r.placing_date)
    sub_opt(rep, "debts", "PlacingUserDate", r.placing_user_date)
    sub_opt(rep, "debts", "PlacingInfo", r.placing_info)
    if r.annulment_reason is not None or r.annulment_date is not None:
        rad = sub(rep, "debts", "RepaymentAnnulmentData")
        if r.annulment_reason is not None:
            reason = sub(rad, "debts", "RepaymentAnnulmentReason")
            build_nsi_ref(reason, "debts", "RepaymentAnnulmentNSIReason", r.annulment_reason)
            sub_opt(reason, "debts", "RepaymentAnnulmentTextReason", r.annulment_text_reason)
        sub_opt(rad, "debts", "RepaymentAnnulmentDate", r.annulment_date)
    if d.annulment is not None:
        ann = sub(el, "debts", "AnnulmentData")
        sub_opt(ann, "debts", "AnnulmentDate", d.annulment.date)
        if d.annulment.reason is not None:
            reason = sub(ann, "debts", "AnnulmentReason")
            build_nsi_ref(reason, "debts", "AnnulmentNSIReason", d.annulment.reason)
            sub_opt(reason, "debts", "AnnulmentTextReason", d.annulment.text_reason)
    return el


def build_debt_export(page: DebtExportPage) -> etree._Element:
    """Build debts:ExportDebtResult (1..1000 debts, then ExportDebtGUID or IsLastPage)."""
    if not 1 <= len(page.debts) <= 1000:
        raise ValueError("ExportDebtResult holds 1..1000 debts; emit INT002012 for an empty export")
    el = etree.Element(q("debts", "ExportDebtResult"))
    for d in page.debts:
        el.append(build_exported_debt(d))
    if page.next_page_guid is not None:
        sub(el, "debts", "ExportDebtGUID", page.next_page_guid)
    else:
        sub(el, "debts", "IsLastPage", True)
    return el


def _nsi_element(parent: etree._Element, local: str, e: NsiElement) -> None:
    el = sub(parent, "nsi-base", local)
    sub(el, "nsi-base", "Code", e.code)
    sub(el, "nsi-base", "GUID", e.guid)
    sub(el, "nsi-base", "Modified", e.modified or now_local())
    sub(el, "nsi-base", "IsActual", e.is_actual)
    for name, value in e.fields:
        # NsiElementFieldType is abstract: every field needs xsi:type; the stand emits string fields only.
        f = sub(el, "nsi-base", "NsiElementField")
        f.set(q("xsi", "type"), "nsi-base:NsiElementStringFieldType")
        sub(f, "nsi-base", "Name", name)
        sub_opt(f, "nsi-base", "Value", value)
    for child in e.children:
        _nsi_element(el, "ChildElement", child)


def build_nsi_item(item: NsiItem) -> etree._Element:
    """Build nsi-common:NsiItem."""
    el = etree.Element(q("nsi-common", "NsiItem"), nsmap={"nsi-base": NS["nsi-base"], "xsi": NS["xsi"]})
    sub(el, "nsi-base", "NsiItemRegistryNumber", item.registry_number)
    sub(el, "nsi-base", "Created", item.created)
    for e in item.elements:
        _nsi_element(el, "NsiElement", e)
    return el


# ------------------------------------------------------------------------------------------ exportHouseData


def _house_year(value: int | None) -> int | None:
    # base:YearType starts at 1600; UsedYearType ends at 2215.
    return value if value is not None and 1600 <= value <= 2215 else None


def _house_cadastral_key(parent: etree._Element, number: str | None) -> None:
    # GKN_EGRP_KeyExportType: the number, or "no data in ЕГРН" when GIS has none.
    if number:
        sub(parent, "hm", "CadastralNumber", number)
    else:
        sub(parent, "hm", "No_RSO_GKN_EGRP_Data", True)


def _house_basic(building: etree._Element, house: HouseData) -> None:
    basic = sub(building, "hm", "BasicCharacteristicts")
    _house_cadastral_key(basic, house.cadastral_number)
    sub(basic, "hm", "FIASHouseGuid", house.fias_house_guid)
    sub_opt(basic, "hm", "TotalSquare", house.total_area)
    sub_opt(basic, "hm", "UsedYear", _house_year(house.used_year))
    sub_opt(basic, "hm", "FloorCount", house.floor_count)


def _living_house(el: etree._Element, house: HouseData) -> etree._Element:
    # LivingHouse: BasicCharacteristicts, HasBlocks, then Block* (a terraced house) and, last and required,
    # the HouseGUID (an individual house carries it inside, not beside, the building).
    building = sub(el, "hm", "LivingHouse")
    _house_basic(building, house)
    blocks = [p for p in house.premises if p.kind == "house_block"]
    sub(building, "hm", "HasBlocks", bool(blocks))
    for p in blocks:
        b = sub(building, "hm", "Block")
        _house_cadastral_key(b, p.cadastral_number)
        sub(b, "hm", "BlockNum", p.number)
        sub_opt(b, "hm", "TotalArea", p.total_area)
        if p.gross_area is not None:
            sub(b, "hm", "GrossArea", p.gross_area)
        else:
            sub(b, "hm", "NoGrossArea", True)
        sub(b, "hm", "BlockUniqueNumber", p.unique_number)
        sub(b, "hm", "ModificationDate", p.modified or house.modified)
        sub(b, "hm", "BlockGUID", p.guid)
    sub(building, "hm", "HouseGUID", house.house_guid)
    return el


def build_house(house: HouseData) -> etree._Element:
    """Build one hm:exportHouseResult (an apartment building or an individual house) in the XSD's order."""
    el = etree.Element(q("hm", "exportHouseResult"))
    sub(el, "hm", "HouseUniqueNumber", house.unique_number)
    sub(el, "hm", "ModificationDate", house.modified)
    if house.kind == "living_house":
        return _living_house(el, house)
    sub_opt(el, "hm", "HouseGUID", house.house_guid)
    building = sub(el, "hm", "ApartmentHouse")
    _house_basic(building, house)
    sub_opt(building, "hm", "UndergroundFloorCount", house.underground_floor_count)
    for entrance in house.entrances:
        e = sub(building, "hm", "Entrance")
        sub_opt(e, "hm", "EntranceNum", entrance.number)
        sub_opt(e, "hm", "StoreysCount", entrance.storeys)
        sub(e, "hm", "ModificationDate", house.modified)
        sub(e, "hm", "EntranceGUID", entrance.guid)
    residential = [p for p in house.premises if p.kind == "residential"]
    other = [p for p in house.premises if p.kind != "residential"]
    for p in residential:
        r = sub(building, "hm", "ResidentialPremises")
        _house_cadastral_key(r, p.cadastral_number)
        sub_opt(r, "hm", "PremisesNum", p.number)
        sub_opt(r, "hm", "Floor", p.floor)
        if p.entrance is not None:
            sub(r, "hm", "EntranceNum", p.entrance)
        else:
            sub(r, "hm", "HasNoEntrance", True)
        sub_opt(r, "hm", "TotalArea", p.total_area)
        if p.gross_area is not None:
            sub(r, "hm", "GrossArea", p.gross_area)
        else:
            sub(r, "hm", "NoGrossArea", True)
        sub(r, "hm", "PremisesUniqueNumber", p.unique_number)
        sub(r, "hm", "ModificationDate", p.modified or house.modified)
        sub(r, "hm", "PremisesGUID", p.guid)
    for p in other:
        n = sub(building, "hm", "NonResidentialPremises")
        _house_cadastral_key(n, p.cadastral_number)
        sub_opt(n, "hm", "PremisesNum", p.number)
        sub_opt(n, "hm", "Floor", p.floor)
        sub_opt(n, "hm", "TotalArea", p.total_area)
        sub(n, "hm", "IsCommonProperty", bool(p.common_property))
        sub(n, "hm", "PremisesUniqueNumber", p.unique_number)
        sub(n, "hm", "ModificationDate", p.modified or house.modified)
        sub(n, "hm", "PremisesGUID", p.guid)
    return el


def build_payment_document(doc: PaymentDocument) -> etree._Element:
    """Build one bills:exportPaymentDocResult holding a PaymentDocument (XSD order of its parts)."""
    el = etree.Element(q("bills", "exportPaymentDocResult"))
    pd = sub(el, "bills", "PaymentDocument")
    sub(pd, "account-base", "AccountGuid", doc.account_guid)
    sub_opt(pd, "bills-base", "PaymentDocumentNumber", doc.number)
    sub_opt(pd, "bills", "TotalPayableByPD", doc.total_payable)
    sub_opt(pd, "base", "Month", doc.month)
    sub_opt(pd, "base", "Year", doc.year)
    sub(pd, "bills-base", "PaymentDocumentID", doc.payment_document_id)
    info = sub(pd, "bills", "PaymentInformation")
    sub_opt(info, "bills", "TotalPayableByPaymentInformation", doc.total_payable)
    sub_opt(info, "bills", "AccountNumber", doc.account_number)
    return el
