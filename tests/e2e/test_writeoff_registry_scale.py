"""An act touching more court-confirmed debts than an importDebt message holds (issue #16, scale).

150 debts placed in GIS's registry: posting an act over one claimed month of 120 of them, then an act over
everything, each answers 200 with ONE operation (never 429 from the per-key queue cap of 100), which sends the
updates in importDebt messages of at most 100 Debt items, each message once, with progress; every record in
the stand is edited, then annulled.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db.models.court import PLACED, CourtConfirmedDebt
from app.domain.accounts import account_id_for
from app.gis_stand.models import Debt, Message, Org
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.court_support import NSI_365, gateway_db, in_force_cases
from tests.factories import COURTS

pytestmark = [pytest.mark.e2e]

ON = date.today() - timedelta(days=60)
DEBTS = 150


@pytest.fixture
def gateway_overrides(tmp_path: Path) -> dict[str, Any]:
    """The court table, the NSI 365 reason of a write-off annulment and the default per-key queue cap."""
    return {
        "upload_dir": tmp_path / "uploads",
        "court_courts": COURTS,
        "court_pilot_regions": ["16"],
        "court_writeoff_reason_code": NSI_365["reason_code"],
        "court_writeoff_reason_guid": NSI_365["reason_guid"],
        "operations_max_pending_per_key": 100,
        # The setup makes ~1,200 changing requests in a minute; the write rate is not what is tested here.
        "write_rate_per_minute": 0,
    }


async def _place_all(gateway: GatewayHandle, stand: StandHandle, ppa_guid: str) -> dict[str, str]:
    """Stage every confirmed debt as placed in GIS: the stand's record and the local GUID (account → GUID)."""
    placed: dict[str, str] = {}
    async with gateway_db(gateway) as session:
        debts = (await session.scalars(select(CourtConfirmedDebt))).all()
        for debt in debts:
            debt.gis_debt_guid, debt.placement, debt.gis_status = str(uuid.uuid4()), PLACED, "PUBLISHED"
            placed[str(debt.account_id)] = debt.gis_debt_guid
        rows = [(d.gis_debt_guid, d.last_name, d.first_name, d.act_number, d.act_date) for d in debts]
    async with stand.runtime.sessionmaker() as session, session.begin():
        org = await session.scalar(select(Org).where(Org.ppa_guid == ppa_guid.lower()))
        assert org is not None
        today = date.today()
        session.add_all(
            Debt(
                guid=guid, org_id=org.id, surname=last, first_name=first, act_number=number, act_date=act,
                act_pronounced=act, amount=Decimal(36000), status="PUBLISHED", repayment_status="UNPAID",
                first_published=today, last_published=today, attachments="[]",
            )
            for guid, last, first, number, act in rows
        )  # fmt: skip
    return placed


async def _post(gateway: GatewayHandle, body: dict[str, Any]) -> dict[str, Any]:
    """Draft, approve and post an act; return the finished registry operation."""
    client = gateway.client
    created = await client.post("/api/v1/write-off/acts", json=body)
    assert created.status_code == 201, created.text
    act_id = created.json()["id"]
    approved = await client.post(f"/api/v1/write-off/acts/{act_id}/approve", json={"reason": "checked"})
    assert approved.status_code == 200, approved.text
    posted = await client.post(f"/api/v1/write-off/acts/{act_id}/post", json={"reason": "posted"})
    assert posted.status_code == 200, posted.text
    (op_id,) = posted.json()["registry_operations"]
    return await gateway.wait_operation(op_id, timeout=300)


async def _import_messages(stand: StandHandle) -> int:
    async with stand.runtime.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.operation == "importDebt")
        )
    return int(count or 0)


async def test_posting_over_many_placed_debts_is_one_batched_operation(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    org, _ = await in_force_cases(gateway, stand, tmp_path, count=DEBTS, on=ON)
    client = gateway.client
    placed = await _place_all(gateway, stand, org["ppa_guid"])
    assert len(placed) == DEBTS
    accounts = [str(account_id_for(uuid.UUID(org["id"]), f"R{i:04d}")) for i in range(DEBTS)]
    for account in accounts:
        recorded = await client.post(
            "/api/v1/write-off/impossibilities",
            json={"organisation_id": org["id"], "account_id": account, "ground": "enforcement_closed",
                  "act_date": date.today().isoformat(), "document": "постановление об окончании ИП"},
        )  # fmt: skip
        assert recorded.status_code == 201, recorded.text
    case = (await client.get("/api/v1/court-cases", params={"account_id": accounts[0]})).json()["items"][0]
    first_month = sorted(case["months"])[0]
    before = await _import_messages(stand)

    # One claimed month of 120 debts: 120 edits in two messages (100 + 20), one operation with progress.
    months = [{"account_id": a, "period": first_month} for a in accounts[:120]]
    edited = await _post(gateway, {"organisation_id": org["id"], "months": months})
    assert (edited["progress_done"], edited["progress_total"]) == (120, 120)
    result = edited["result"]
    assert (result["ok"], result["debts"], result["edited"], result["messages"]) == (True, 120, 120, 2)
    assert await _import_messages(stand) == before + 2
    async with stand.runtime.sessionmaker() as session:
        debts = {d.guid: d for d in (await session.scalars(select(Debt))).all()}
    for account in accounts[:120]:
        info = debts[placed[account]].additional_info
        assert info is not None and info.startswith("Часть задолженности списана как безнадёжная"), info
    assert all(debts[placed[a]].additional_info is None for a in accounts[120:])

    # Everything left: 150 debts written off whole, annulled in two messages (100 + 50).
    annulled = await _post(gateway, {"organisation_id": org["id"], "account_ids": accounts})
    result = annulled["result"]
    assert (result["ok"], result["debts"], result["annulled"], result["messages"]) == (True, 150, 150, 2)
    assert await _import_messages(stand) == before + 4
    async with stand.runtime.sessionmaker() as session:
        debts = {d.guid: d for d in (await session.scalars(select(Debt))).all()}
    for account in accounts:
        debt = debts[placed[account]]
        assert (debt.status, debt.annulment_code) == ("CANCELLED", NSI_365["reason_code"]), account
    listed = await client.get("/api/v1/court-confirmed-debts", params={"organisation_id": org["id"]})
    assert {d["gis_status"] for d in listed.json()} == {"CANCELLED"}
    assert all(d["annulled_on"] for d in listed.json())
