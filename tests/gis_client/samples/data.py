"""Sample inputs/results and a cached SchemaSet for the gis_client tests (data built from the XSD, §14)."""

from __future__ import annotations

import functools
import os
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from app.gis_client.messages import (
    Accommodation,
    Account,
    AccountClosed,
    ActInfo,
    Attachment,
    CancelledAddress,
    CommonResult,
    DebtAnnulment,
    DebtDocument,
    DebtExportPage,
    DebtInfo,
    Debtor,
    DSRAction,
    DSRExportPage,
    DSRRequestInfo,
    DSRResponse,
    DSRResponseData,
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
    Period,
    Person,
    Repayment,
    Subrequest,
)
from app.gis_client.wire.schemas import SchemaSet

MSK = timezone(timedelta(hours=3))


def schema_dir() -> Path:
    """Return the official schema package (env override or ../shared next to the repo)."""
    env = os.environ.get("GISGW_SCHEMA_DIR")
    if env:
        return Path(env)
    return Path(__file__).parents[3] / ".." / "shared" / "gis-schemas" / "16.3.0.0"


@functools.cache
def schemas() -> SchemaSet:
    """Compile the schema set once per test session."""
    return SchemaSet.load(schema_dir())


def g() -> str:
    """Return a fresh GUID."""
    return str(uuid.uuid4())


def nsi(code: str = "1", name: str | None = "Паспорт гражданина РФ") -> NsiRef:
    """Return an NSI reference."""
    return NsiRef(code, g(), name)


def attachment() -> Attachment:
    """Return an uploaded-file reference."""
    return Attachment("решение.pdf", "Решение суда", g(), "ab" * 32)


def person() -> Person:
    """Return a debtor with SNILS and passport."""
    return Person("Иван", "Иванов", "Иванович", "12345678901", IdentityDocument(nsi(), "123456", "4510"))


def send_action(with_debt: bool = True) -> DSRAction:
    """Return a Send action, with a confirmed debt or without."""
    if not with_debt:
        return DSRAction(g(), g(), "Send", DSRResponseData(False, g()))
    return DSRAction(
        g(),
        g(),
        "Send",
        DSRResponseData(
            True,
            g(),
            debt_info=(DebtInfo(person(), (DebtDocument(nsi("2", "Судебный приказ"), attachment()),)),),
            additional_files=(attachment(),),
            description="Задолженность подтверждена решением суда",
        ),
    )


def subrequest(i: int = 0, answered: bool = True) -> Subrequest:
    """Return a DSRType subrequest, optionally with a stored answer."""
    executor = Executor(g(), "Петров П.П.")
    response = None
    if answered:
        response = DSRResponse(
            True,
            executor,
            debt_info=(
                DebtInfo(
                    person(),
                    (
                        DebtDocument(
                            nsi("2", "Решение суда"),
                            attachment(),
                            debt_guid=g(),
                            act=ActInfo("2-15/2024", date(2024, 5, 1), date(2024, 4, 1)),
                            cancelled_address=CancelledAddress("г. Москва, ул. Ленина, д. 1", g(), g(), None),
                        ),
                    ),
                ),
            ),
            additional_files=(attachment(),),
            description="ответ",
        )
    return Subrequest(
        subrequest_guid=g(),
        request=DSRRequestInfo(
            request_guid=g(),
            request_number=f"01-2025-{i:06d}",
            organization=Organization(g(), "УСЗН района", "+7 495 000-00-00"),
            housing_fund_object=HousingFundObject(
                address="г. Москва, ул. Ленина, д. 1, кв. 5",
                hm_object_guid=g(),
                address_type="Apartment",
                fias_house_guid=g(),
            )
            if i % 2
            else HousingFundObject(
                address="г. Москва, ул. Ленина, д. 1", house_guid=g(), address_details="кв. 5"
            ),
            period=Period(date(2024, 1, 1), date(2024, 12, 31)),
            status="Sent",
            sent_date=date(2025, 3, 3),
            response_date=date(2025, 3, 17),
            executor=executor,
        ),
        response_status="Sent" if answered else "NotSent",
        response=response,
    )


def dsr_page(n: int = 3, next_guid: str | None = None) -> DSRExportPage:
    """Return an exportDSRsResult page."""
    return DSRExportPage(
        tuple(subrequest(i, answered=i % 3 == 0) for i in range(n)),
        not_found_subrequest_guids=(g(),),
        next_subrequest_guid=next_guid,
        last_page=next_guid is None,
    )


def common_results() -> tuple[CommonResult, ...]:
    """Return one accepted and one rejected import item."""
    return (
        CommonResult(g(), g(), "U-1", datetime(2025, 3, 3, 10, 15, 0, 123000, tzinfo=MSK)),
        CommonResult(g(), errors=(ErrorInfo("SRV006000", "Подзапрос уже обработан"),)),
    )


def accounts() -> tuple[Account, ...]:
    """Return an individual's account and a closed organisation's account."""
    return (
        Account(
            kind="isRSOAccount",
            account_guid=g(),
            unified_account_number="12ЕЛС34567",
            payer=Payer(
                is_renter=True,
                individual=IndividualPayer("Иванов", "Иван", None, "M", date(1980, 1, 2), "12345678901"),
            ),
            account_number="100200",
            service_id="12ЕЛС34567-01",
            creation_date=datetime(2020, 1, 1, 0, 0, tzinfo=MSK),
            living_persons_number=3,
            total_square=Decimal("54.3"),
            accommodations=(Accommodation("PremisesGUID", g(), Decimal("50.00")),),
        ),
        Account(
            kind="isUOAccount",
            account_guid=g(),
            unified_account_number="98ЕЛС76543",
            payer=Payer(org_version_guid=g()),
            closed=AccountClosed(nsi("5", "Закрытие"), date(2024, 12, 31), "переезд"),
        ),
    )


def debt_page(next_guid: str | None = None) -> DebtExportPage:
    """Return an ExportDebtResult page with two debts."""
    debts = (
        ExportedDebt(
            debt_guid=g(),
            debt_object=ExportedDebtObject(premise_guid=g()),
            debtor=Debtor(
                "Иванов",
                "Иван",
                "Иванович",
                "123456789012",
                "12345678901",
                IdentityDocument(nsi(), "1", "2"),
            ),
            judicial_act=JudicialAct("2-1/2025", date(2025, 1, 10), date(2024, 12, 1), (attachment(),)),
            status="PUBLISHED",
            first_published=date(2025, 1, 15),
            last_published=date(2025, 2, 1),
            repayment=Repayment("UNPAID"),
            acts=(attachment(),),
            additional_info="доп. сведения",
        ),
        ExportedDebt(
            debt_guid=g(),
            debt_object=ExportedDebtObject(
                fias_house_guid=g(), house_guid=g(), object_status="DEMOLISHED", demolished_reason="снос"
            ),
            debtor=Debtor("Петрова", "Анна"),
            judicial_act=JudicialAct("2-2/2025", date(2025, 1, 11), None),
            status="CANCELLED",
            first_published=date(2025, 1, 15),
            last_published=date(2025, 2, 1),
            repayment=Repayment(
                "PAID", date(2025, 2, 1), None, "оплачено", nsi("1", "Ошибка"), "ошибка", None
            ),
            annulment=DebtAnnulment(date(2025, 2, 2), nsi("5", "Иная"), "иная причина"),
        ),
    )
    return DebtExportPage(debts, next_page_guid=next_guid, is_last_page=next_guid is None)


def nsi_item() -> NsiItem:
    """Return NSI 95 with two records."""
    modified = datetime(2024, 1, 1, 0, 0, tzinfo=MSK)
    return NsiItem(
        95,
        modified,
        (
            NsiElement("1", g(), True, modified, (("Вид документа", "Паспорт гражданина РФ"),)),
            NsiElement("2", g(), False, modified, (("Вид документа", "Свидетельство о рождении"),)),
        ),
    )
