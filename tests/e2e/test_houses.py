"""House data end to end: sync from the stand, a second month with seeded changes, the feed and its webhooks.

A webhook receiver started by the test records every POST and answers 500 to the first one; each change must
arrive with a valid HMAC-SHA256 signature, the refused one again after the back-off, and none twice otherwise.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from openpyxl import load_workbook
from sqlalchemy import delete, func, insert, select, update

from app.db.engine import create_engine, create_sessionmaker
from app.demo import billing_rows
from app.domain.houses.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from app.domain.kernel import organisations
from app.domain.kernel.calendar import moscow_today
from app.gis_stand.models import Account, Debt, House, Org, Premises
from app.gis_stand.server import free_port, serving
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.court_support import import_accounts

SECRET = "receiver-secret-0123456789"
ORG_ID = uuid.UUID("6a1f3c52-8d4e-4f7a-9b2c-1d0e5f6a7b8c")
PPA_GUID = "1c9e6f2a-3b4d-4e5f-8a7b-9c0d1e2f3a4b"


@dataclass
class Receiver:
    """A webhook receiver: what it got, and which events it refused once."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real HTTP receiver on a free port answering 500 to the very first event, 200 afterwards."""
    app = FastAPI()
    port = free_port()
    handle = Receiver(f"http://127.0.0.1:{port}/hooks")

    @app.post("/hooks")
    async def hook(request: Request) -> Response:
        body = await request.body()
        handle.received.append(({k.lower(): v for k, v in request.headers.items()}, body))
        if not handle.refused:
            handle.refused.append(json.loads(body)["id"])
            return Response(status_code=500)
        return Response(status_code=204)

    async with serving(app, "127.0.0.1", port):
        yield handle


async def create_organisation(database_url: str) -> None:
    """Create the test's organisation directly in the database, before the gateway starts."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await organisations.create(
                session=session,
                data={
                    "id": ORG_ID, "name": "ООО «УК Дома»", "inn": "7701234567",
                    "org_type": "management_company", "ppa_guid": uuid.UUID(PPA_GUID),
                },
            )  # fmt: skip
    finally:
        await engine.dispose()


@pytest.fixture
async def gateway_overrides(fresh_database_url: str, receiver: Receiver) -> dict[str, Any]:
    """The organisation exists before the gateway starts, so its webhook can be configured by id."""
    await create_organisation(fresh_database_url)
    return {
        "houses_webhooks": {str(ORG_ID): [{"url": receiver.url, "secret": SECRET}]},
        "houses_webhook_retry_initial": 0.2,
        "houses_sync_concurrency": 2,
    }


async def _billing(stand: StandHandle, tmp_path: Path, gateway: GatewayHandle) -> None:
    async with stand.runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Account, House.fias_guid, House.address, Premises.number)
                .join(House, House.id == Account.house_id)
                .join(Org, Org.id == Account.org_id)
                .outerjoin(Premises, Premises.id == Account.premises_id)
                .where(Org.ppa_guid == PPA_GUID)
            )
        ).all()
    await import_accounts(gateway, str(ORG_ID), list(billing_rows(list(rows), moscow_today())), tmp_path)


async def _sync(gateway: GatewayHandle, month: str, **kw: Any) -> dict[str, Any]:
    resp = await gateway.client.post(
        f"/api/v1/organisations/{ORG_ID}/houses/syncs", json={"month": month, **kw}
    )
    assert resp.status_code == 202, resp.text
    done = await gateway.wait_operation(resp.json())
    result: dict[str, Any] = done["result"]
    return result


async def _next_month_in_the_stand(stand: StandHandle) -> dict[str, set[str]]:
    """Change the stand's data as a month in GIS would; return the expected (kind → object GUIDs)."""
    async with stand.runtime.sessionmaker() as session, session.begin():
        house = await session.scalar(select(House).order_by(House.id).limit(1))
        assert house is not None
        flats = (
            await session.scalars(
                select(Premises)
                .where(Premises.house_id == house.id, Premises.kind == "residential")
                .order_by(Premises.id)
            )
        ).all()
        resized, recadastred, removed = flats[0], flats[1], flats[2]
        await session.execute(
            update(Premises)
            .where(Premises.id == resized.id)
            .values(total_area=Decimal(resized.total_area) + Decimal("2.5"))
        )
        await session.execute(
            update(Premises)
            .where(Premises.id == recadastred.id)
            .values(cadastral_number="77:01:0001001:9999")
        )
        await session.execute(
            update(Premises).where(Premises.id == removed.id).values(terminated_on=moscow_today())
        )
        added_guid = str(uuid.uuid4())
        # The seed writes explicit ids (PostgreSQL's sequences never moved): take the next one by hand.
        added_id = (await session.scalar(select(func.max(Premises.id))) or 0) + 1
        await session.execute(
            insert(Premises).values(
                id=added_id, guid=added_guid, house_id=house.id, number="61", total_area=Decimal("41.30"),
                kind="residential", cadastral_number=None, entrance=3, floor=5,
            )
        )  # fmt: skip
        accounts = (
            await session.scalars(select(Account).where(Account.house_id == house.id).order_by(Account.id))
        ).all()
        with_debt = set((await session.scalars(select(Debt.account_id))).all())
        renamed = accounts[5]
        gone = next(a for a in accounts[6:] if a.id not in with_debt)
        await session.execute(update(Account).where(Account.id == renamed.id).values(surname="Новикова"))
        await session.execute(delete(Account).where(Account.id == gone.id))
        template = accounts[7]
        opened_guid = str(uuid.uuid4())
        await session.execute(
            insert(Account).values(
                id=(await session.scalar(select(func.max(Account.id))) or 0) + 1,
                guid=opened_guid, org_id=template.org_id, house_id=house.id, premises_id=added_id,
                account_number="999000000001", unified_number="77ЖЖ999001", service_id="77ЖЖ999001-01",
                kind="isUOAccount", creation_date=moscow_today(), living_persons=2,
                total_square=Decimal("41.30"), surname="Смирнов", first_name="Олег", patronymic=None, sex="M",
                birth_date=template.birth_date, snils=template.snils, monthly_charge=Decimal("2000.00"),
                debt=Decimal(0),
            )
        )  # fmt: skip
    return {
        "area_changed": {resized.guid},
        "cadastral_number_changed": {recadastred.guid},
        "premises_removed": {removed.guid},
        "premises_added": {added_guid},
        "payer_changed": {renamed.guid},
        "account_closed": {gone.guid},
        "account_opened": {opened_guid},
    }


async def _wait_deliveries(
    gateway: GatewayHandle, expected: int, timeout: float = 60
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        resp = await gateway.client.get(
            f"/api/v1/organisations/{ORG_ID}/house-changes/deliveries", params={"limit": 1000}
        )
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        if len(items) == expected and all(i["status"] == "delivered" for i in items):
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries not done: {items}")
        await asyncio.sleep(0.1)


async def test_sync_two_months_feeds_changes_and_webhooks(
    stand: StandHandle, gateway: GatewayHandle, receiver: Receiver, tmp_path: Path
) -> None:
    created = await stand.admin.post(
        "/stand/admin/orgs", json={"ppa_guid": PPA_GUID, "cert_pem": gateway.keys.cert_pem}
    )
    assert created.status_code == 201, created.text
    await stand.seed(ppa_guid=PPA_GUID, cert_pem=gateway.keys.cert_pem, subrequests=0, accounts=120)
    await _billing(stand, tmp_path, gateway)

    first = await _sync(gateway, "2026-11")
    async with stand.runtime.sessionmaker() as session:
        stand_houses = (await session.scalars(select(House).order_by(House.id))).all()
        stand_premises = (await session.scalars(select(Premises))).all()
    assert first["houses_total"] == first["houses_synced"] == len(stand_houses) == 2
    assert first["premises"] == len(stand_premises) and first["accounts"] == 120
    assert first["changes"] == 0  # the first month is the baseline

    houses = (await gateway.client.get(f"/api/v1/organisations/{ORG_ID}/houses")).json()
    assert houses["month"] == "2026-11-01" and houses["total"] == 2
    by_fias = {h["fias_house_guid"]: h for h in houses["items"]}
    for sh in stand_houses:
        got = by_fias[sh.fias_guid]
        assert got["used_year"] == sh.used_year and Decimal(got["total_area"]) == sh.total_area
        assert got["entrances"] == sh.entrances and got["billing_house_id"] is not None
    detail = (
        await gateway.client.get(f"/api/v1/organisations/{ORG_ID}/houses/{stand_houses[0].fias_guid}")
    ).json()
    flats = [p for p in detail["premises"] if p["kind"] == "residential"]
    assert flats and all(p["billing_premises_id"] is not None for p in flats)
    assert all(p["billing_premises_id"] is None for p in detail["premises"] if p["kind"] == "non_residential")

    # The stand's gaps show in the data-quality figures, each drillable to its rows.
    quality = (await gateway.client.get(f"/api/v1/organisations/{ORG_ID}/houses-quality")).json()
    async with stand.runtime.sessionmaker() as session:
        areas = dict((await session.execute(select(Account.premises_id, Account.total_square))).all())
    assert quality["premises_in_gis"] == len(stand_premises)
    assert quality["premises_with_cadastral_number"] == sum(1 for p in stand_premises if p.cadastral_number)
    assert 0 < quality["premises_with_cadastral_number"] < len(stand_premises)
    assert quality["area_differences"] > 0
    assert quality["area_differences"] == sum(
        1 for p in stand_premises if p.id in areas and abs(p.total_area - areas[p.id]) > 1
    )
    assert quality["premises_in_gis_not_in_billing"] == sum(
        1 for p in stand_premises if p.kind != "residential"
    )
    assert quality["open_accounts"] == quality["accounts_with_els"] == 120
    drill = await gateway.client.get(
        f"/api/v1/organisations/{ORG_ID}/houses-quality/premises_without_cadastral_number.csv"
    )
    assert drill.status_code == 200, drill.text
    lines = list(csv.DictReader(io.StringIO(drill.text)))
    assert len(lines) == quality["premises_in_gis"] - quality["premises_with_cadastral_number"]
    assert all(line["cadastral_number"] == "" for line in lines)

    # The dashboard page shows the same figures, each linked to its CSV (the dashboard's key cookie).
    login = await gateway.client.post("/dashboard/login", data={"key": gateway.token})
    assert login.status_code == 303, login.text
    page = await gateway.client.get(f"/dashboard/houses/{ORG_ID}")
    assert page.status_code == 200 and "premises with a cadastral number" in page.text
    link = f"/dashboard/houses/{ORG_ID}/premises_without_cadastral_number.csv?month=2026-11"
    assert link in page.text
    from_page = await gateway.client.get(link)
    assert from_page.status_code == 200 and from_page.text == drill.text

    # The characteristics report, per house and per organisation, read back.
    report = await gateway.client.get(
        f"/api/v1/organisations/{ORG_ID}/houses/{stand_houses[0].fias_guid}/report.xlsx"
    )
    assert report.status_code == 200, report.text
    book = load_workbook(io.BytesIO(report.content), read_only=True)
    # A read-only sheet leaves trailing empty cells out of a row.
    info = {row[0]: (row + (None,))[1] for row in book["Дом"].iter_rows(min_row=2, values_only=True)}
    assert info["ФИАС (ГАР) дома"] == stand_houses[0].fias_guid
    assert info["Год ввода в эксплуатацию"] == stand_houses[0].used_year
    assert info["Кадастровый номер"] == stand_houses[0].cadastral_number
    premises_sheet = list(book["Помещения"].iter_rows(values_only=True))
    assert len(premises_sheet) - 1 == len(detail["premises"])
    header = premises_sheet[0]
    first_flat = dict(zip(header, premises_sheet[1], strict=False))
    stand_flat = next(p for p in stand_premises if p.guid == first_flat["Идентификатор помещения в ГИС ЖКХ"])
    assert first_flat["Номер помещения"] == stand_flat.number
    assert Decimal(str(first_flat["Общая площадь, м²"])) == stand_flat.total_area
    whole = await gateway.client.get(f"/api/v1/organisations/{ORG_ID}/houses-report.xlsx")
    assert whole.status_code == 200
    book = load_workbook(io.BytesIO(whole.content), read_only=True)
    assert book.sheetnames == ["Дома", "Помещения"]
    assert sum(1 for _ in book["Дома"].iter_rows(min_row=2)) == 2
    assert sum(1 for _ in book["Помещения"].iter_rows(min_row=2)) == len(stand_premises)

    expected = await _next_month_in_the_stand(stand)
    second = await _sync(gateway, "2026-12")
    assert second["changes"] == 7, second

    feed = (
        await gateway.client.get(f"/api/v1/organisations/{ORG_ID}/house-changes", params={"month": "2026-12"})
    ).json()
    got: dict[str, set[str]] = {}
    for item in feed["items"]:
        got.setdefault(item["kind"], set()).add(item["object_guid"])
    assert got == expected
    payer = next(i for i in feed["items"] if i["kind"] == "payer_changed")
    assert payer["old_value"] is None and payer["new_value"] is None  # no payer data in the feed
    only_area = (
        await gateway.client.get(
            f"/api/v1/organisations/{ORG_ID}/house-changes",
            params={"kind": "area_changed", "month": "2026-12"},
        )
    ).json()
    assert only_area["total"] == 1
    other_house = (
        await gateway.client.get(
            f"/api/v1/organisations/{ORG_ID}/house-changes",
            params={"fias_house_guid": stand_houses[1].fias_guid},
        )
    ).json()
    assert other_house["total"] == 0
    exported = await gateway.client.get(
        f"/api/v1/organisations/{ORG_ID}/house-changes.csv", params={"month": "2026-12"}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["id"] for r in rows} == {i["id"] for i in feed["items"]}

    deliveries = await _wait_deliveries(gateway, expected=7)
    event_ids = {i["id"] for i in feed["items"]}
    assert {d["event_id"] for d in deliveries} == event_ids
    seen: dict[str, int] = {}
    for headers, body in receiver.received:
        assert verify(SECRET, headers[TIMESTAMP_HEADER.lower()], body, headers[SIGNATURE_HEADER.lower()])
        payload = json.loads(body)
        assert headers["x-gisgw-event-id"] == payload["id"]
        seen[payload["id"]] = seen.get(payload["id"], 0) + 1
    refused = receiver.refused[0]
    assert seen == {e: 2 if e == refused else 1 for e in event_ids}
    retried = next(d for d in deliveries if d["event_id"] == refused)
    assert retried["attempts"] == 2 and retried["last_status_code"] == 204

    # The same month again (a full re-sync): the same changes, no new event, no new delivery.
    again = await _sync(gateway, "2026-12", full=True)
    assert again["houses_synced"] == 2 and again["changes"] == 0
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 8


async def test_individual_houses_detached_and_terraced_are_synced(
    stand: StandHandle, gateway: GatewayHandle, tmp_path: Path
) -> None:
    """LivingHouse answers: a detached house (an account on the house) and a terraced one (blocks)."""
    created = await stand.admin.post(
        "/stand/admin/orgs", json={"ppa_guid": PPA_GUID, "cert_pem": gateway.keys.cert_pem}
    )
    assert created.status_code == 201, created.text
    await stand.seed(
        ppa_guid=PPA_GUID, cert_pem=gateway.keys.cert_pem, subrequests=0, accounts=20, living_houses=4
    )
    await _billing(stand, tmp_path, gateway)
    async with stand.runtime.sessionmaker() as session:
        living = (
            await session.scalars(select(House).where(House.kind == "living_house").order_by(House.id))
        ).all()
        blocks = (
            await session.scalars(
                select(Premises).where(Premises.kind == "house_block").order_by(Premises.id)
            )
        ).all()
    assert len(living) == 4 and len(blocks) == 4  # two terraced houses of two blocks

    result = await _sync(gateway, "2026-11")
    assert result["houses_synced"] == result["houses_total"] == 5 and not result["houses_failed"]
    for house in living:
        got = (await gateway.client.get(f"/api/v1/organisations/{ORG_ID}/houses/{house.fias_guid}")).json()
        info = got["house"]
        assert info["kind"] == "living_house" and info["house_guid"] == house.guid
        assert Decimal(info["total_area"]) == house.total_area and info["used_year"] == house.used_year
        mine = [b for b in blocks if b.house_id == house.id]
        assert {p["premises_guid"] for p in got["premises"]} == {b.guid for b in mine}
        assert all(p["kind"] == "house_block" for p in got["premises"])
        assert {p["number_raw"] for p in got["premises"]} == {b.number for b in mine}
    report = await gateway.client.get(
        f"/api/v1/organisations/{ORG_ID}/houses/{living[0].fias_guid}/report.xlsx"
    )
    assert report.status_code == 200
    book = load_workbook(io.BytesIO(report.content), read_only=True)
    values = [v for row in book["Дом"].iter_rows(values_only=True) for v in row]
    assert "Жилой дом" in values
