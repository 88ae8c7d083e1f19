"""importNotificationData, client side: requests per the XSD, their limits, per-action results parsed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from app.gis_client.errors import GisLimitError
from app.gis_client.messages import DebtAccount, NotificationItem, build_import_notifications
from app.gis_client.operations import BASE_VERSION_ATTR, NS_SOAP, Service
from app.gis_client.services.common import CommonResult, ErrorInfo
from app.gis_client.services.house_management import IMPORT_NOTIFICATION_DATA, parse_notification_results
from app.gis_client.wire.envelope import build_envelope, new_guid
from app.gis_client.wire.schemas import SchemaSet
from app.gis_stand.results_builder import build_hm_import_result, build_state_result
from tests.conftest import SCHEMA_DIR

ELS = "12АБ345678"


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    """The official 16.3.0.0 schemas."""
    return SchemaSet.load(SCHEMA_DIR)


def _create(**kw: object) -> NotificationItem:
    values: dict[str, object] = {
        "transport_guid": new_guid(),
        "action": "create",
        "topic": "Необходимость погашения задолженности",
        "content": "Задолженность 1500,00 ₽",
        "accounts": (DebtAccount(ELS, Decimal("1500.00")),),
        **kw,
    }
    return NotificationItem(**values)  # type: ignore[arg-type]


def test_build_create_ship_and_recall_are_valid_per_xsd(schemas: SchemaSet) -> None:
    guid = new_guid()
    items = [
        _create(),
        _create(ship_now=True, important=False, content=None),
        NotificationItem(transport_guid=new_guid(), action="ship", notification_guid=guid),
        NotificationItem(
            transport_guid=new_guid(), action="recall", notification_guid=guid, recall_reason="Оплачено"
        ),
        NotificationItem(transport_guid=new_guid(), action="recall", notification_guid=guid),
    ]
    body = build_import_notifications(items)
    build_envelope(IMPORT_NOTIFICATION_DATA, body, org_ppa_guid=new_guid())  # sets base:version
    assert body.get(BASE_VERSION_ATTR) == "13.2.2.0"
    schemas.validate(body)
    debts = body.findall(".//{*}DeptsInforming/{*}Account")
    assert [a.findtext("{*}TotalDebt") for a in debts] == ["1500.00", "1500.00"]
    assert [a.findtext("{*}UnifiedAccountNumber") for a in debts] == [ELS, ELS]


def test_build_round_trips_through_the_stored_payload() -> None:
    items = [
        _create(),
        NotificationItem(transport_guid=new_guid(), action="ship", notification_guid=new_guid()),
    ]
    payload = IMPORT_NOTIFICATION_DATA.encode(items)
    assert IMPORT_NOTIFICATION_DATA.decode(payload) == items


@pytest.mark.parametrize(
    ("items", "limit"),
    [
        ([], "notification ≥ 1"),
        ([_create() for _ in range(101)], "notification ≤ 100"),
        ([_create(accounts=(DebtAccount("123", Decimal("1.00")),))], "UnifiedAccountNumber length 10"),
        ([_create(accounts=(DebtAccount(ELS, Decimal("1.005")),))], "TotalDebt ≥ 0, 2 decimals"),
        ([_create(accounts=())], "DeptsInforming/Account ≥ 1"),
        ([_create(topic="x" * 201)], "Topic 1..200"),
        ([_create(content="x" * 5001)], "content 1..5000"),
        ([NotificationItem(transport_guid=new_guid(), action="ship")], "NotificationGUID required"),
    ],
)
def test_build_refuses_what_gis_would(items: list[NotificationItem], limit: str) -> None:
    with pytest.raises(GisLimitError) as caught:
        build_import_notifications(items)
    assert caught.value.limit == limit


def test_build_refuses_repeated_transport_guid() -> None:
    one = _create()
    with pytest.raises(GisLimitError):
        build_import_notifications([one, one])


def test_parse_per_action_results(schemas: SchemaSet) -> None:
    ok, bad = new_guid(), new_guid()
    guid = new_guid()
    elements = build_hm_import_result(
        [
            CommonResult(transport_guid=ok, guid=guid),
            CommonResult(transport_guid=bad, errors=(ErrorInfo("INT002000", "ЕЛС не найден"),)),
        ]
    )
    document = build_state_result(Service.HOUSE_MANAGEMENT, 3, new_guid(), elements)
    body = document.find(f"{{{NS_SOAP}}}Body")
    assert body is not None
    schemas.validate(body[0])
    results = parse_notification_results(body[0])
    assert [(r.transport_guid, r.guid, r.ok) for r in results] == [(ok, guid, True), (bad, None, False)]
    assert results[1].errors[0].code == "INT002000"
    assert etree.QName(body[0][-1]).localname == "ImportResult"
