"""House data in the domain: quality figures against a hand-computed fixture, resumed syncs, changes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Operation
from app.db.models.houses import GisHouse, HouseChange
from app.domain.accounts.ledger import encode_months
from app.domain.houses import quality
from app.domain.houses.snapshot import Change, account_rows, diff_house, payer_hash, premises_rows
from app.domain.houses.sync import SYNC_JOB, queue_scheduled_syncs, store_house, sync_houses
from app.domain.kernel.access import SYSTEM
from app.gis_client.errors import GisTransportError
from app.gis_client.messages import (
    Accommodation,
    ExportAccountQuery,
    ExportHouseQuery,
    HouseData,
    HousePremises,
    IndividualPayer,
    Payer,
)
from app.gis_client.messages import Account as GisAccount
from tests.factories import make_org

FIAS = uuid.UUID("0c5b2444-70a0-4932-980c-b4dc0d3f02b5")
NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)
GUIDS = {n: str(uuid.uuid5(FIAS, f"premises-{n}")) for n in ("1", "2", "3", "1Н")}


def _gis_house(areas: dict[str, str], cadastral: dict[str, str | None]) -> HouseData:
    return HouseData(
        unique_number="1000000001",
        modified=datetime(2026, 11, 20, 12, tzinfo=UTC),
        kind="apartment_building",
        fias_house_guid=str(FIAS),
        total_area=Decimal("400"),
        used_year=1978,
        floor_count="5",
        premises=tuple(
            HousePremises(
                guid=GUIDS[n],
                unique_number=f"U{n}",
                kind="non_residential" if n.endswith("Н") else "residential",
                number=n,
                cadastral_number=cadastral[n],
                total_area=Decimal(areas[n]),
            )
            for n in areas
        ),
    )


def _gis_account(n: int, premises: str, area: str, surname: str = "Иванов") -> GisAccount:
    return GisAccount(
        kind="isUOAccount",
        account_guid=str(uuid.uuid5(FIAS, f"account-{n}")),
        unified_account_number=f"77АА00000{n}",
        service_id=f"77АА00000{n}-01",
        account_number=f"A{n}",
        total_square=Decimal(area),
        payer=Payer(individual=IndividualPayer(surname=surname, first_name="Иван", snils="11223344595")),
        accommodations=(Accommodation("PremisesGUID", GUIDS[premises]),),
    )


async def _billing(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Billing: premises 1-4 of the house; five accounts (the fifth closed), three of the open ones owing."""
    house_id = uuid.uuid4()
    session.add(House(id=house_id, fias_house_guid=FIAS, address="г. Казань, ул. Мира, д. 1"))
    premises = {}
    for n in ("1", "2", "3", "4"):
        premises[n] = uuid.uuid4()
        session.add(
            Premises(id=premises[n], house_id=house_id, number_raw=n, number_norm=n, kind="apartment",
                     residential=True)
        )  # fmt: skip
    owing = encode_months([("2026-10-01", "1000.00", "0.00", "2026-11-10")])
    paid = encode_months([("2026-10-01", "1000.00", "1000.00", "2026-11-10")])
    accounts: list[dict[str, Any]] = [
        # complete, owing
        {"n": 1, "p": "1", "els": "77АА000001", "zhku_id": "77АА000001-01", "snils": "11223344595",
         "birth_date": date(1970, 1, 1), "birth_place": "г. Казань", "ledger": owing},
        # no ЕЛС, no ЖКУ id; owing without an identifier and a birth place
        {"n": 2, "p": "2", "els": None, "zhku_id": None, "snils": None, "birth_date": date(1980, 2, 2),
         "birth_place": None, "ledger": owing},
        # no ЖКУ id, nothing owed
        {"n": 3, "p": "3", "els": "77АА000003", "zhku_id": None, "snils": None, "birth_date": None,
         "birth_place": None, "ledger": paid},
        # complete (passport instead of SNILS), owing
        {"n": 4, "p": "4", "els": "77АА000004", "zhku_id": "77АА000004-01", "snils": None,
         "id_doc_number": "123456", "birth_date": date(1990, 3, 3), "birth_place": "г. Казань",
         "ledger": owing},
        # closed: not counted anywhere
        {"n": 5, "p": "4", "els": None, "zhku_id": None, "snils": None, "birth_date": None,
         "birth_place": None, "ledger": owing, "closed": True},
    ]  # fmt: skip
    for a in accounts:
        account_id = uuid.uuid4()
        session.add(
            Account(
                id=account_id, organisation_id=org_id, account_number=f"A{a['n']}", els=a["els"],
                zhku_id=a["zhku_id"], payer_kind="person", last_name="Иванов", first_name="Иван",
                snils=a["snils"], id_doc_number=a.get("id_doc_number"), birth_date=a["birth_date"],
                birth_place=a["birth_place"], closed=a.get("closed", False),
            )
        )  # fmt: skip
        session.add(AccountPremises(account_id=account_id, premises_id=premises[a["p"]]))
        session.add(AccountLedger(account_id=account_id, months=a["ledger"]))
    await session.flush()


async def test_quality_figures_equal_hand_computed_fixture(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session, session.begin():
        org = await make_org(session)
        await _billing(session, org.id)
        # GIS: premises 1, 2, 3 and a non-residential 1Н billing does not know; billing's 4 is not in GIS.
        house = _gis_house(
            {"1": "50", "2": "60", "3": "40", "1Н": "120"},
            {"1": "16:50:0001:1", "2": None, "3": "16:50:0001:3", "1Н": None},
        )
        # Areas placed with the accounts: 50 (same), 58.5 (1.5 m² off: over 1 m² tolerance), 40.5 (within).
        accounts = [_gis_account(1, "1", "50"), _gis_account(2, "2", "58.5"), _gis_account(3, "3", "40.5")]
        await store_house(
            session, organisation_id=org.id, month=NOVEMBER, house=house, accounts=accounts, operation_id=None
        )
    async with db() as session:
        q = await quality.compute(
            session, principal=SYSTEM, organisation_id=org.id, month=None, tolerance=Decimal("1.0")
        )
        assert q.month == NOVEMBER
        figures = {k: getattr(q, k) for k in (
            "premises_in_gis", "premises_with_cadastral_number", "open_accounts", "accounts_with_els",
            "accounts_with_zhku_id", "premises_in_billing_not_in_gis", "premises_in_gis_not_in_billing",
            "area_differences", "debtors", "debtors_missing_court_data",
        )}  # fmt: skip
        assert figures == {
            "premises_in_gis": 4,
            "premises_with_cadastral_number": 2,
            "open_accounts": 4,
            "accounts_with_els": 3,
            "accounts_with_zhku_id": 2,
            "premises_in_billing_not_in_gis": 1,
            "premises_in_gis_not_in_billing": 1,
            "area_differences": 1,
            "debtors": 3,
            "debtors_missing_court_data": 1,
        }
        assert quality.shares(q)["premises_with_cadastral_number"] == 0.5
        assert [t["month"] for t in q.trend] == [NOVEMBER]
        area_rows = [
            r async for r in quality.rows(
                session, principal=SYSTEM, organisation_id=org.id, figure="area_differences", month=None,
                tolerance=Decimal("1.0"),
            )
        ]  # fmt: skip
        assert [(r[2], r[5], r[6]) for r in area_rows] == [("2", Decimal("60"), Decimal("58.5"))]
        debtor_rows = [
            r async for r in quality.rows(
                session, principal=SYSTEM, organisation_id=org.id, figure="debtors_missing_court_data",
                month=None, tolerance=Decimal("1.0"),
            )
        ]  # fmt: skip
        assert [(r[1], r[2], r[3]) for r in debtor_rows] == [("A2", "1000.00", "identifier birth_place")]
        billing_only = [
            r async for r in quality.rows(
                session, principal=SYSTEM, organisation_id=org.id, figure="premises_in_billing_not_in_gis",
                month=None, tolerance=Decimal("1.0"),
            )
        ]  # fmt: skip
        assert [r[2] for r in billing_only] == ["4"]


def test_diff_house_lists_each_kind_of_change() -> None:
    org = uuid.uuid4()
    old_house = _gis_house({"1": "50", "2": "60", "3": "40"}, {"1": "A", "2": None, "3": "C"})
    new_house = _gis_house({"1": "51", "2": "60", "1Н": "120"}, {"1": "A", "2": "B", "1Н": None})
    old_acc = account_rows(org, [_gis_account(1, "1", "50"), _gis_account(2, "2", "60")])
    new_acc = account_rows(org, [_gis_account(1, "1", "51", surname="Петров"), _gis_account(4, "1Н", "120")])
    changes = diff_house(
        premises_rows(old_house, old_acc), premises_rows(new_house, new_acc), old_acc, new_acc
    )
    kinds = sorted((c.kind, c.premises_number) for c in changes)
    assert kinds == [
        ("account_closed", "2"),
        ("account_opened", "1Н"),
        ("area_changed", "1"),
        ("cadastral_number_changed", "2"),
        ("payer_changed", "1"),
        ("premises_added", "1Н"),
        ("premises_removed", "3"),
    ]
    # Event ids are stable for the same change, month and organisation.
    c = changes[0]
    assert c.event_id(org, DECEMBER) == Change(**{f: getattr(c, f) for f in c.__slots__}).event_id(
        org, DECEMBER
    )


def test_payer_hash_is_keyed_by_organisation() -> None:
    account = _gis_account(1, "1", "50")
    a, b = payer_hash(uuid.uuid4(), account), payer_hash(uuid.uuid4(), account)
    assert a != b and len(a) == 64
    assert "Иванов" not in a


class FlakyGateway:
    """A fake GIS port (house management): two houses; the second fails once with a transport error."""

    def __init__(self, houses: dict[str, HouseData]) -> None:
        self.houses = houses
        self.calls: list[str] = []
        self.failed = False

    async def export_house(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportHouseQuery,
        ref_kind: str,
        ref_id: str | None,
        idempotency_key: str | None,
    ) -> HouseData | None:
        del organisation_id, ref_kind, ref_id, idempotency_key
        fias_house_guid = query.fias_house_guid
        self.calls.append(fias_house_guid)
        if fias_house_guid == sorted(self.houses)[1] and not self.failed:
            self.failed = True
            raise GisTransportError("connection reset")
        return self.houses[fias_house_guid]

    async def export_accounts(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportAccountQuery,
        ref_kind: str,
        ref_id: str | None,
        idempotency_key: str | None,
    ) -> tuple[GisAccount, ...]:
        del organisation_id, query, ref_kind, ref_id, idempotency_key
        return ()


async def test_sync_resumes_where_it_stopped(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session, session.begin():
        org = await make_org(session)
    second = uuid.UUID("ffffffff-70a0-4932-980c-b4dc0d3f02b5")
    houses = {
        str(FIAS): _gis_house({"1": "50"}, {"1": None}),
        str(second): HouseData(
            unique_number="2", modified=datetime(2026, 11, 1, tzinfo=UTC), kind="living_house",
            fias_house_guid=str(second),
        ),
    }  # fmt: skip
    gateway = FlakyGateway(houses)
    operation_id = uuid.uuid4()
    wanted = sorted(houses)
    first = await sync_houses(
        sessionmaker=db, gis=gateway, organisation_id=org.id, month=NOVEMBER, operation_id=operation_id,
        fias_house_guids=wanted, full=True, concurrency=1,
    )  # fmt: skip
    assert first.houses_synced == 1 and list(first.houses_failed) == [str(second)]
    gateway.calls.clear()
    resumed = await sync_houses(
        sessionmaker=db, gis=gateway, organisation_id=org.id, month=NOVEMBER, operation_id=operation_id,
        fias_house_guids=wanted, full=True, concurrency=1,
    )  # fmt: skip
    assert gateway.calls == [str(second)]  # the stored house is not asked for again
    assert resumed.houses_skipped == 1 and resumed.houses_synced == 1
    async with db() as session:
        stored = (
            await session.scalars(select(GisHouse.fias_house_guid).where(GisHouse.month == NOVEMBER))
        ).all()
        assert sorted(map(str, stored)) == wanted
        assert (await session.scalars(select(HouseChange))).all() == []


async def test_scheduled_sync_queues_once_per_organisation(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session, session.begin():
        org = await make_org(session)
        assert await queue_scheduled_syncs(session) >= 1
        # The first is still pending: no second one.
        assert await queue_scheduled_syncs(session) == 0
    async with db() as session:
        ops = (
            await session.scalars(
                select(Operation).where(Operation.kind == SYNC_JOB, Operation.organisation_id == org.id)
            )
        ).all()
        assert len(ops) == 1 and ops[0].params is not None and ops[0].params["full"] is False


def test_terminated_premises_leave_the_snapshot() -> None:
    house = _gis_house({"1": "50", "2": "60"}, {"1": None, "2": None})
    ended = HouseData(
        **{
            **{f: getattr(house, f) for f in house.__slots__},
            "premises": (house.premises[0], replace(house.premises[1], termination_date=date(2026, 11, 30))),
        }
    )
    rows = premises_rows(ended, [])
    assert [r.number_raw for r in rows] == ["1"]
    changes = diff_house(premises_rows(house, []), rows, [], [])
    assert [(c.kind, c.premises_number) for c in changes] == [("premises_removed", "2")]
