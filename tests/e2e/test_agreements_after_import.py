"""Agreements are matched again right after every accounts import, by the gateway's own loop (not the hourly
one, switched off here): a re-import that pays the covered months completes the agreement, journaled."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.domain.accounts import account_id_for
from app.domain.kernel.calendar import moscow_today
from tests.e2e.conftest import GatewayHandle
from tests.e2e.court_support import import_accounts, ledger, months_before, person

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    """The hourly matching off; imports looked for every 0.1 s."""
    return {"agreements_refresh_interval_seconds": 0, "agreements_import_poll_seconds": 0.1}


async def test_import_paying_the_covered_months_completes_the_agreement(
    gateway: GatewayHandle, tmp_path: Path
) -> None:
    client = gateway.client
    org = await gateway.new_org(region_code="16")
    months = months_before(date.today(), 3, skip=2)
    row: dict[str, Any] = {
        "account_number": "AG-1",
        "payer": person(random.Random(3)),
        "premises": [{"fias_house_guid": str(uuid.uuid4()), "address": "г. Казань, ул. Баумана, д. 1",
                      "region": "16", "number": "5", "kind": "apartment"}],
        "ledger": ledger(months, Decimal(1000)),
    }  # fmt: skip
    await import_accounts(gateway, org["id"], [row], tmp_path)
    account = str(account_id_for(uuid.UUID(org["id"]), "AG-1"))
    created = await client.post(
        "/api/v1/agreements",
        json={"organisation_id": org["id"], "account_id": account, "covered_through": max(months).isoformat(),
              "penalty_mode": "frozen",
              "schedule": {"months": 2, "first_date": (date.today() + timedelta(days=5)).isoformat()}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    agreement = created.json()
    assert agreement["status"] == "active"

    # Billing books the payments to the covered months; the next import carries them.
    row["ledger"] = ledger(months, Decimal(1000), paid=Decimal(1000))
    (tmp_path / "again").mkdir()
    await import_accounts(gateway, org["id"], [row], tmp_path / "again")
    deadline = time.monotonic() + 30
    while True:
        shown = (await client.get(f"/api/v1/agreements/{agreement['id']}")).json()
        if shown["status"] != "active" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    # The gateway's "today" is Moscow's (the machine's date differs from 21:00 UTC on).
    assert (shown["status"], shown["completed_on"]) == ("completed", moscow_today().isoformat()), shown
    audit = await client.get("/api/v1/audit", params={"limit": 100})
    assert "agreement.complete" in [e["action"] for e in audit.json()["items"]]
