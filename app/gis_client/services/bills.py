"""Bills service (bills, BillsAsync): exportPaymentDocumentData; declared once.

`bills:exportPaymentDocumentRequest` (16.3.0.0) selects payment documents either by their ids
(`PaymentDocumentID` ×≤1000) or by a month (`base:Year`, `base:Month`) and one list of accounts: ЕЛС
(`UnifiedAccountNumber`), ЖКУ ids (`ServiceID`) or `AccountGUID`, each ×≤1000 (a FIAS house with account or
document numbers is the fourth choice). GIS offers no "every document of the organisation" export: a month is
read in blocks of 1000 accounts, which is the paging this operation has. The result is one
`exportPaymentDocResult` per document found (or a per-item `ErrorMessage`); nothing found is `INT002012`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from app.gis_client.errors import GisLimitError
from app.gis_client.operations import Operation, Service, declare
from app.gis_client.services.common import ErrorInfo, Guid, _at_most, _exactly_one, parse_error_message
from app.gis_client.wire.envelope import new_body, sub, sub_many
from app.gis_client.xmlread import _all, _find, _guid, _map, _req, _text

MAX_PAYMENT_DOCUMENT_IDS = 1000
#: Accounts (or ЕЛС, ЖКУ ids) one month's request may name: the block a month is read in.
MAX_PAYMENT_DOCUMENT_ACCOUNTS = 1000
PAYMENT_DOCUMENT_ID_LENGTH = 18


@dataclass(frozen=True, slots=True)
class ExportPaymentDocumentQuery:
    """exportPaymentDocumentRequest: document ids, or a month with exactly one list of accounts."""

    year: int | None = None
    month: int | None = None
    account_guids: tuple[Guid, ...] = ()
    unified_account_numbers: tuple[str, ...] = ()
    service_ids: tuple[str, ...] = ()
    payment_document_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PaymentDocument:
    """One payment document placed in GIS (the parts gisgw reads: whose, which month, how much)."""

    account_guid: Guid
    payment_document_id: str
    number: str | None = None
    year: int | None = None
    month: int | None = None
    total_payable: Decimal | None = None
    account_number: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentDocumentExport:
    """The documents one request found, and the per-item errors GIS answered instead of a document."""

    documents: tuple[PaymentDocument, ...] = ()
    errors: tuple[ErrorInfo, ...] = ()


# ------------------------------------------------------------------------------------------ request builder


def build_export_payment_documents(query: ExportPaymentDocumentQuery) -> etree._Element:
    """Build bills:exportPaymentDocumentRequest (ids, or a month with one list of ≤1000 accounts)."""
    by_ids = bool(query.payment_document_ids)
    if by_ids and (query.year is not None or query.month is not None):
        raise GisLimitError(
            "exportPaymentDocumentRequest: PaymentDocumentID excludes Year and Month",
            limit="exportPaymentDocument: ids or month",
        )
    if not by_ids:
        if query.year is None or query.month is None:
            raise GisLimitError(
                "exportPaymentDocumentRequest needs PaymentDocumentID or Year and Month",
                limit="exportPaymentDocument: ids or month",
            )
        if not 1 <= query.month <= 12 or not 1900 <= query.year <= 9999:
            raise GisLimitError(
                f"exportPaymentDocumentRequest: no month {query.year}-{query.month}",
                limit="exportPaymentDocument: month",
            )
        _exactly_one(
            [bool(query.account_guids), bool(query.unified_account_numbers), bool(query.service_ids)],
            "exportPaymentDocument: one account list",
            "exportPaymentDocumentRequest needs exactly one of AccountGUID, UnifiedAccountNumber, ServiceID",
        )
    _at_most(query.payment_document_ids, MAX_PAYMENT_DOCUMENT_IDS, "PaymentDocumentID")
    _at_most(query.account_guids, MAX_PAYMENT_DOCUMENT_ACCOUNTS, "AccountGUID")
    _at_most(query.unified_account_numbers, MAX_PAYMENT_DOCUMENT_ACCOUNTS, "UnifiedAccountNumber")
    _at_most(query.service_ids, MAX_PAYMENT_DOCUMENT_ACCOUNTS, "ServiceID")
    body = new_body(EXPORT_PAYMENT_DOCUMENT_DATA, extra_prefixes=("bills-base", "account-base"))
    if by_ids:
        sub_many(body, "bills-base", "PaymentDocumentID", query.payment_document_ids)
        return body
    sub(body, "base", "Year", query.year)
    sub(body, "base", "Month", query.month)
    # XSD order of the choice: UnifiedAccountNumber | (FIAS house …) | ServiceID | AccountGUID.
    sub_many(body, "account-base", "UnifiedAccountNumber", query.unified_account_numbers)
    sub_many(body, "account-base", "ServiceID", query.service_ids)
    sub_many(body, "bills", "AccountGUID", query.account_guids)
    return body


# ------------------------------------------------------------------------------------------- result parsers


def parse_payment_document(el: etree._Element) -> PaymentDocument:
    """Parse bills:PaymentDocument of an exportPaymentDocResult."""
    info = _find(el, "bills:PaymentInformation")
    return PaymentDocument(
        account_guid=_guid(_req(el, "account-base:AccountGuid")),
        payment_document_id=_req(el, "bills-base:PaymentDocumentID"),
        number=_text(el, "bills-base:PaymentDocumentNumber"),
        year=_map(_text(el, "base:Year"), int),
        month=_map(_text(el, "base:Month"), int),
        total_payable=_map(_text(el, "bills:TotalPayableByPD"), Decimal),
        account_number=None if info is None else _text(info, "bills:AccountNumber"),
    )


def parse_payment_documents(body: etree._Element) -> PaymentDocumentExport:
    """Parse every exportPaymentDocResult of a getStateResult body."""
    documents: list[PaymentDocument] = []
    errors: list[ErrorInfo] = []
    for result in _all(body, "bills:exportPaymentDocResult"):
        doc = _find(result, "bills:PaymentDocument")
        if doc is not None:
            documents.append(parse_payment_document(doc))
            continue
        error = _find(result, "base:ErrorMessage")
        if error is not None:
            errors.append(parse_error_message(error))
    return PaymentDocumentExport(tuple(documents), tuple(errors))


# --------------------------------------------------------------------------------------------- declarations

# base:version is required and not fixed; the XSD's annotation lists 11.2.0.10, 12.2.0.1 and 13.1.0.1.
EXPORT_PAYMENT_DOCUMENT_DATA = declare(
    "exportPaymentDocumentData",
    Service.BILLS,
    "exportPaymentDocumentRequest",
    "exportPaymentDocResult",
    version="13.1.0.1",
    fixed=False,
    kind="export",
    request_type=ExportPaymentDocumentQuery,
    build=build_export_payment_documents,
    parse=parse_payment_documents,
    result_type=PaymentDocumentExport,
)
OPERATIONS: tuple[Operation, ...] = (EXPORT_PAYMENT_DOCUMENT_DATA,)
