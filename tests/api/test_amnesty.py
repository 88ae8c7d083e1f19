"""Penalty amnesty over HTTP: create, simulate, launch, run, report."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.domain.accounts.ledger import encode_months
from app.domain.kernel.calendar import moscow_today
from tests.factories import bearer, make_org, make_token


def _ledger(paid: int) -> str:
    return encode_months([(date(2024, 1, 1), Decimal(6000), Decimal(paid), date(2024, 2, 10))])


async def test_campaign_over_http(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    admin = await make_token(session, scopes=["read", "answer", "admin"], orgs=[org.id])
    account = Account(id=uuid.uuid4(), organisation_id=org.id, account_number="LS-AM-1", payer_kind="person")
    session.add(account)
    await session.flush()
    session.add(AccountLedger(account_id=account.id, months=_ledger(0)))
    await session.flush()
    today = moscow_today()
    body = {
        "organisation_id": str(org.id),
        "name": "Амнистия",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(),
        "pay_by": (today + timedelta(days=90)).isoformat(),
    }
    bad = await api.post("/api/v1/amnesty/campaigns", json=body, headers=bearer(admin))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "body.pay_by"
    body["pay_by"] = (today + timedelta(days=30)).isoformat()
    created = await api.post("/api/v1/amnesty/campaigns", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    sim = (await api.get(f"/api/v1/amnesty/campaigns/{cid}/simulation", headers=bearer(admin))).json()
    assert sim["debtors"] == 1 and sim["principal"] == "6000.00" and Decimal(sim["penalties"]) > 0
    launched = await api.post(f"/api/v1/amnesty/campaigns/{cid}/launch", headers=bearer(admin))
    assert launched.json()["status"] == "running" and launched.json()["participants"]["waiting"] == 1
    ledger = await session.get(AccountLedger, account.id)
    assert ledger is not None
    ledger.months = _ledger(6000)
    await session.flush()
    ran = await api.post(f"/api/v1/amnesty/campaigns/{cid}/run", headers=bearer(admin))
    assert ran.json() == {"forgiven": 1, "lapsed": 0}
    shown = (await api.get(f"/api/v1/amnesty/campaigns/{cid}", headers=bearer(admin))).json()
    assert shown["penalties_forgiven"] == sim["penalties"] and shown["principal_collected"] == "6000.00"
