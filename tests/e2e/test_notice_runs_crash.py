"""Stop the gateway in the middle of a notice run (kill -9, or SIGTERM for a graceful shutdown); after a
restart the run resumes after its last committed step and every selected debtor has exactly one notice."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.db.base import utcnow
from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import Operation
from app.db.models.monitoring import Notice
from app.domain.accounts.importing import upsert_accounts
from tests.e2e.conftest import GatewayProcess, KeyFiles, StandHandle, admin_token, gateway_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 3000  # accounts; every third a debtor
PAYMENT = {
    "payee": "ООО «УК Crash»", "inn": "7701234567", "bank": "ПАО Сбербанк", "bik": "044525225",
    "account": "40702810938000000001",
}  # fmt: skip


def _rows() -> list[dict[str, Any]]:
    months = [("2025-10-01", "2025-11-10"), ("2025-11-01", "2025-12-10"), ("2025-12-01", "2026-01-10")]
    return [
        {
            "account_number": f"C{i:05d}",
            "payer": {"kind": "person", "last_name": "Сидоров", "first_name": "Сидор"},
            "premises": [{"fias_house_guid": str(uuid.UUID(int=i // 100 + 1)), "number": str(i % 100 + 1)}],
            "ledger": [
                {"period": p, "charged": "1000", "paid": "0" if i % 3 == 0 else "1000", "due_date": d}
                for p, d in months
            ],
        }
        for i in range(N)
    ]


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_kill_mid_notice_run_then_restart_gives_each_debtor_one_notice(
    stop_signal: signal.Signals,
    fresh_database_url: str,
    stand: StandHandle,
    e2e_keys: KeyFiles,
    gateway_process: Callable[[dict[str, Any]], GatewayProcess],
) -> None:
    token = await admin_token(fresh_database_url)
    values = gateway_settings(
        fresh_database_url,
        stand.base_url,
        e2e_keys,
        monitoring_notice_inline_limit=0,
        monitoring_notice_chunk=20,
    )
    first = gateway_process(values)
    await first.ready()
    headers = {"Authorization": f"Bearer {token}"}
    engine = create_engine(fresh_database_url)
    db = create_sessionmaker(engine)
    try:
        async with httpx.AsyncClient(base_url=first.base_url, headers=headers, timeout=60) as client:
            org = (
                await client.post(
                    "/api/v1/organisations",
                    json={"name": "ООО «УК Crash»", "inn": "7701234567", "org_type": "management_company",
                          "ppa_guid": str(uuid.uuid4()), "executor_guid": str(uuid.uuid4())},
                )
            ).json()  # fmt: skip
            async with db() as session, session.begin():
                await upsert_accounts(session=session, organisation_id=uuid.UUID(org["id"]), rows=_rows())
            body = {
                "organisation_id": org["id"],
                "on_date": "2026-03-31",
                "rules": {"min_debt": "100.00", "min_months_overdue": 2, "noticed_within_days": 0},
                "payment_details": PAYMENT,
            }
            queued = await client.post("/api/v1/monitoring/notice-runs", json=body)
            assert queued.status_code == 202, queued.text
            run_id, op_id = queued.json()["id"], queued.json()["operation_id"]
            deadline = time.monotonic() + 120
            while True:  # stop the gateway while the run is part-way
                op = (await client.get(f"/api/v1/operations/{op_id}")).json()
                if 0 < op["progress_done"] < N:
                    break
                assert op["status"] in ("pending", "running"), "the run finished before the stop"
                assert time.monotonic() < deadline, op
                await asyncio.sleep(0.01)
        first.stop(stop_signal)
        async with db() as session:
            part = await session.scalar(select(func.count()).where(Notice.run_id == uuid.UUID(run_id)))
            assert part is not None and 0 < part <= N // 3, part
            # kill -9 leaves the run part-way; SIGTERM's graceful shutdown may let the job finish first.
            assert part < N // 3 or stop_signal == signal.SIGTERM, part
            if stop_signal == signal.SIGKILL:
                # The dead worker's lease (two minutes) runs out: moved into the past instead of waiting.
                await session.execute(
                    update(Operation)
                    .where(Operation.id == uuid.UUID(op_id))
                    .values(lease_until=utcnow() - timedelta(seconds=1))
                )
                await session.commit()
        second = gateway_process(values)
        await second.ready()
        async with httpx.AsyncClient(base_url=second.base_url, headers=headers, timeout=60) as client:
            deadline = time.monotonic() + 120
            while (op := (await client.get(f"/api/v1/operations/{op_id}")).json())["status"] != "succeeded":
                assert op["status"] != "failed" and time.monotonic() < deadline, op
                await asyncio.sleep(0.1)
            assert op["result"]["notices"] == N // 3 and op["progress_done"] == N
            run = (await client.get(f"/api/v1/monitoring/notice-runs/{run_id}")).json()
        assert run["status"] == "done" and run["total"] == N // 3
        numbers = [n["account_number"] for n in run["notices"]]
        assert numbers == [f"C{i:05d}" for i in range(0, N, 3)]  # each debtor once, in order
        assert [n["seq"] for n in run["notices"]] == list(range(1, N // 3 + 1))
    finally:
        await engine.dispose()
