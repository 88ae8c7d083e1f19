"""bills exportPaymentDocumentData: the request builder's limits and an XSD-valid request and result."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.gis_client.messages import (
    ExportPaymentDocumentQuery,
    GisLimitError,
    PaymentDocument,
    build_export_payment_documents,
    parse_payment_documents,
)
from app.gis_client.operations import BASE_VERSION_ATTR, NS, Service
from app.gis_client.services.bills import EXPORT_PAYMENT_DOCUMENT_DATA
from app.gis_stand.results_builder import build_payment_document, build_state_result
from tests.gis_client.exchange_support import schemas

GUID = "0b4a3c1e-0000-4000-8003-000000000001"


def test_build_export_payment_documents_by_month_is_valid() -> None:
    body = build_export_payment_documents(
        ExportPaymentDocumentQuery(year=2025, month=3, account_guids=(GUID,) * 1000)
    )
    body.set("Id", "signed-data-container")
    body.set(BASE_VERSION_ATTR, EXPORT_PAYMENT_DOCUMENT_DATA.version or "")
    schemas().validate(body)


@pytest.mark.parametrize(
    "query",
    [
        ExportPaymentDocumentQuery(year=2025, month=3),
        ExportPaymentDocumentQuery(year=2025, month=3, account_guids=(GUID,) * 1001),
        ExportPaymentDocumentQuery(year=2025, month=13, account_guids=(GUID,)),
        ExportPaymentDocumentQuery(account_guids=(GUID,)),
        ExportPaymentDocumentQuery(year=2025, month=3, account_guids=(GUID,), service_ids=("1" * 13,)),
        ExportPaymentDocumentQuery(year=2025, month=3, payment_document_ids=("1" * 18,)),
    ],
)
def test_build_export_payment_documents_refuses_what_gis_refuses(query: ExportPaymentDocumentQuery) -> None:
    with pytest.raises(GisLimitError):
        build_export_payment_documents(query)


def test_parse_payment_documents_reads_a_valid_result() -> None:
    doc = PaymentDocument(GUID, "0b4a3c250300000001", "A-2025-03", 2025, 3, Decimal("2500.00"), "A-1")
    envelope = build_state_result(Service.BILLS, 3, GUID, [build_payment_document(doc)])
    result = envelope.find("soap:Body", NS)[0]  # type: ignore[index]
    schemas().validate(result)
    assert parse_payment_documents(result).documents == (doc,)
