"""Sync with GIS: the billing ↔ GIS diff, export batching, and the operation over a fake GIS port."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account
from app.domain.accounts import account_id_for, upsert_accounts
from app.domain.accounts.sync import (
    BillingAccount,
    billing_accounts,
    diff_accounts,
    export_queries,
    fill_gis_identifiers,
)
from app.domain.kernel import errors as d
from app.gis_client import messages as m
from tests.factories import make_org

PREMISES_GUID = "11111111-2222-3333-4444-555555555555"


def billing(number: str, **kw: Any) -> BillingAccount:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "account_number": number,
        "els": None,
        "zhku_id": None,
        "gis_account_guid": None,
        "closed": False,
        "payer_kind": "person",
        "snils": "12345678964",
        "name": "иванов иван иванович",
        "birth_date": date(1980, 1, 1),
        "shares": {},
    }
    values.update(kw)
    return BillingAccount(**values)


def gis(els: str, **kw: Any) -> m.Account:
    values: dict[str, Any] = {
        "kind": "isUOAccount",
        "account_guid": str(uuid.uuid4()),
        "unified_account_number": els,
        "payer": m.Payer(
            individual=m.IndividualPayer(
                surname="Иванов", first_name="Иван", patronymic="Иванович", date_of_birth=date(1980, 1, 1)
            )
        ),
    }
    values.update(kw)
    return m.Account(**values)


def test_diff_matches_by_guid_els_service_id_and_number() -> None:
    g1, g2, g3, g4 = (
        gis("00АА000001"),
        gis("00АА000002", service_id="00АА000002001"),
        gis("00АА000003"),
        gis("00АА000004", account_number="N4"),
    )
    b = [
        billing("1", gis_account_guid=uuid.UUID(g1.account_guid)),
        billing("2", zhku_id="00аа000002001"),
        billing("3", els="00аа000003"),
        billing("N4"),
        billing("5", els="00АА000005"),
    ]
    diff = diff_accounts(b, [g1, g2, g3, g4, gis("00АА000009")])
    assert [(x.account_number, y.unified_account_number) for x, y in diff.matched] == [
        ("1", "00АА000001"),
        ("2", "00АА000002"),
        ("3", "00АА000003"),
        ("N4", "00АА000004"),
    ]
    assert [x.account_number for x in diff.missing_in_gis] == ["5"]
    assert [x.unified_account_number for x in diff.missing_in_billing] == ["00АА000009"]
    assert diff.different == []


def test_diff_reports_payer_share_and_closed_differences() -> None:
    other_payer = gis(
        "00АА000001", payer=m.Payer(individual=m.IndividualPayer(surname="Петров", first_name="Иван"))
    )
    share = gis(
        "00АА000002",
        accommodations=(
            m.Accommodation(kind="PremisesGUID", guid=PREMISES_GUID, share_percent=Decimal("50")),
        ),
        closed=m.AccountClosed(reason=m.NsiRef(code="1", guid=str(uuid.uuid4())), date=date(2025, 1, 1)),
    )
    org_payer = gis("00АА000003", payer=m.Payer(org_version_guid=str(uuid.uuid4())))
    diff = diff_accounts(
        [
            billing("1", els="00АА000001"),
            billing("2", els="00АА000002", shares={PREMISES_GUID: Decimal("100")}),
            billing("3", els="00АА000003"),
        ],
        [other_payer, share, org_payer],
    )
    assert {x.account_number: x.fields for x in diff.different} == {
        "1": ["payer"],
        "2": ["share_percent", "closed"],
        "3": ["payer"],
    }
    report = diff.as_dict()
    assert "Петров" not in str(report) and "12345678964" not in str(report)


def test_export_queries_split_into_batches_of_1000() -> None:
    queries = export_queries("els", [f"{i:010d}" for i in range(2500)])
    assert [len(q.unified_account_numbers) for q in queries] == [1000, 1000, 500]
    house = export_queries("fias_house_guid", ["0c5b2444-70a0-4932-980c-b4dc0d3f02b5"])
    assert house[0].fias_house_guid == "0c5b2444-70a0-4932-980c-b4dc0d3f02b5"


async def test_billing_snapshot_and_identifier_fill(session: AsyncSession) -> None:
    org = await make_org(session)
    house = "0c5b2444-70a0-4932-980c-b4dc0d3f02b5"
    await upsert_accounts(
        session=session,
        organisation_id=org.id,
        rows=[
            {
                "account_number": "A1",
                "payer": {"kind": "person", "last_name": "Иванов", "first_name": "Иван"},
                "premises": [{"fias_house_guid": house, "number": "1", "gis_premises_guid": PREMISES_GUID}],
            }
        ],
    )
    snap = await billing_accounts(
        session=session, organisation_id=org.id, selector="fias_house_guid", values=[house]
    )
    assert [(b.account_number, b.name, list(b.shares)) for b in snap] == [
        ("A1", "иванов иван", [PREMISES_GUID])
    ]
    g = gis("00АА000001", account_number="A1", service_id="00АА000001001")
    diff = diff_accounts(snap, [g])
    assert await fill_gis_identifiers(diff, session=session) == 1
    acc = await session.get(Account, account_id_for(org.id, "A1"))
    assert acc is not None
    await session.refresh(acc)
    assert (str(acc.gis_account_guid), acc.els, acc.zhku_id) == (
        g.account_guid,
        "00АА000001",
        "00АА000001001",
    )


async def test_sync_job_without_gis_client_fails_cleanly() -> None:
    from app.domain.accounts.sync import run_sync_job

    op = SimpleNamespace(
        params={"selector": "els", "values": ["0000000001"]}, organisation_id=uuid.uuid4(), id=None
    )

    async def progress(done: int, total: int | None = None) -> None:
        return None

    with pytest.raises(d.UpstreamUnavailable):
        await run_sync_job(op, progress, SimpleNamespace(gis=None))  # type: ignore[arg-type]
