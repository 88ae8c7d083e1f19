"""The house snapshot digest: what it covers, and that the sync compares rows only when digests differ."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.accounts import Account
from app.db.models.houses import GisHouse, GisHouseAccount, HouseChange
from app.domain.houses.snapshot import AccountRow, PremisesRow, account_rows, premises_rows, snapshot_hash
from app.domain.houses.sync import store_house
from tests.domain.test_houses import DECEMBER, NOVEMBER, _gis_account, _gis_house
from tests.factories import make_org

AREAS = {"1": "50", "2": "60", "1Н": "120"}
CADASTRAL: dict[str, str | None] = {"1": "16:50:0001:1", "2": None, "1Н": None}


def _rows(
    org: uuid.UUID, areas: dict[str, str] = AREAS, surname: str = "Иванов"
) -> tuple[list[PremisesRow], list[AccountRow]]:
    acc = account_rows(org, [_gis_account(1, "1", "50", surname=surname), _gis_account(2, "2", "60")])
    return premises_rows(_gis_house(areas, CADASTRAL), acc), acc


def test_snapshot_hash_ignores_order_and_decimal_spelling() -> None:
    org = uuid.uuid4()
    prem, acc = _rows(org)
    digest = snapshot_hash(prem, acc)
    assert len(digest) == 64
    assert snapshot_hash(list(reversed(prem)), list(reversed(acc))) == digest
    spelled = [replace(p, total_area=Decimal(f"{p.total_area}.00")) for p in prem]
    assert snapshot_hash(spelled, acc) == digest


def test_snapshot_hash_changes_with_any_field() -> None:
    org = uuid.uuid4()
    prem, acc = _rows(org)
    digest = snapshot_hash(prem, acc)
    assert snapshot_hash(*_rows(org, {**AREAS, "2": "61"})) != digest
    assert snapshot_hash(*_rows(org, surname="Петров")) != digest  # the payer, through its hash
    assert snapshot_hash(prem[:-1], acc) != digest
    assert snapshot_hash(prem, acc[:-1]) != digest
    assert snapshot_hash([replace(prem[0], cadastral_number=None), *prem[1:]], acc) != digest
    assert snapshot_hash([replace(prem[0], entrance="")] + prem[1:], acc) != snapshot_hash(
        [replace(prem[0], entrance=None)] + prem[1:], acc
    )
    # Premises rows and account rows do not run into each other.
    assert snapshot_hash(prem, []) != snapshot_hash([], []) != snapshot_hash([], acc)


async def _store(db: async_sessionmaker[AsyncSession], org_id: uuid.UUID, month: date, area: str) -> int:
    async with db() as session, session.begin():
        stored = await store_house(
            session, organisation_id=org_id, month=month, house=_gis_house({**AREAS, "2": area}, CADASTRAL),
            accounts=[_gis_account(1, "1", "50"), _gis_account(2, "2", "60")], operation_id=None,
        )  # fmt: skip
    return len(stored.changes)


async def test_unchanged_house_keeps_its_digest_and_records_nothing(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        org = await make_org(session)
    assert await _store(db, org.id, NOVEMBER, "60") == 0
    assert await _store(db, org.id, DECEMBER, "60") == 0
    assert await _store(db, org.id, DECEMBER, "62") == 1  # a re-sync within the month still diffs
    async with db() as session:
        digests = dict((await session.execute(select(GisHouse.month, GisHouse.content_hash))).all())
        assert digests[NOVEMBER] is not None and digests[DECEMBER] != digests[NOVEMBER]
        kinds = (await session.scalars(select(HouseChange.kind))).all()
        assert kinds == ["area_changed"]


async def test_snapshot_without_digest_is_compared_row_by_row(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session, session.begin():
        org = await make_org(session)
    assert await _store(db, org.id, NOVEMBER, "60") == 0
    async with db() as session, session.begin():
        # A snapshot stored before digests existed.
        await session.execute(update(GisHouse).values(content_hash=None))
    assert await _store(db, org.id, DECEMBER, "60") == 0
    assert await _store(db, org.id, DECEMBER, "65") == 1


def _billing_account(org: uuid.UUID, number: str, els: str | None) -> Account:
    return Account(id=uuid.uuid4(), organisation_id=org, account_number=number, els=els, payer_kind="person")


async def test_accounts_match_billing_of_the_same_organisation_only(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Accounts are found by their identifiers alone (each on its own index); another organisation's account
    with the same ЕЛС (another supplier of the same payer) is not a match."""
    async with db() as session, session.begin():
        org, other = await make_org(session), await make_org(session)
        ours = _gis_account(1, "1", "50")
        theirs_only = _gis_account(2, "2", "60")
        mine = _billing_account(org.id, "A1", ours.unified_account_number)
        session.add_all([
            mine,
            _billing_account(other.id, "B1", ours.unified_account_number),
            _billing_account(other.id, "B2", theirs_only.unified_account_number),
        ])  # fmt: skip
    async with db() as session, session.begin():
        await store_house(
            session, organisation_id=org.id, month=NOVEMBER, house=_gis_house(AREAS, CADASTRAL),
            accounts=[ours, theirs_only], operation_id=None,
        )  # fmt: skip
    async with db() as session:
        matched = dict(
            (
                await session.execute(
                    select(GisHouseAccount.account_guid, GisHouseAccount.billing_account_id).where(
                        GisHouseAccount.organisation_id == org.id
                    )
                )
            ).all()
        )
    assert matched == {uuid.UUID(ours.account_guid): mine.id, uuid.UUID(theirs_only.account_guid): None}
