"""A posted write-off act's registry update: importDebt messages of ≤ 100 items, each sent once, resumable.

A fake debts port stands in for GIS (a unit of the job, not of the engine): like the exchange engine, it
answers a message submitted again under the same idempotency key from what it already sent, and counts what
actually went out. The first run dies while the second message is in flight; the re-run skips the message
already applied, waits for the one in flight instead of sending it again, and sends the last.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import AppContext
from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import Operation
from app.db.models.court import CourtConfirmedDebt
from app.domain.court.written_off import WRITE_OFF_REGISTRY_JOB, run_write_off_registry
from app.domain.kernel import operations as ops
from app.gis_client import messages as m
from app.gis_client.errors import GisTransportError
from tests.conftest import make_settings
from tests.factories import make_org

DEBTS = 250
REFUSED = 240  # GIS refuses this one item (the record was annulled there meanwhile, say)


class FakeDebts:
    """importDebt by idempotency key: a key seen before is answered from memory, never sent again."""

    def __init__(self, *, die_on: int | None = None) -> None:
        self.die_on = die_on
        self.answered: dict[str, tuple[m.CommonResult, ...]] = {}
        self.sent: list[tuple[str, int]] = []

    @staticmethod
    def _answer(item: m.DebtImportItem) -> m.CommonResult:
        op = item.operation
        if isinstance(op, m.AnnulmentDebt) and op.debt_guid.endswith(f"{REFUSED:012d}"):
            refusal = m.ErrorInfo("INT002000", "annulled")
            return m.CommonResult(transport_guid=item.transport_guid, errors=(refusal,))
        return m.CommonResult(transport_guid=item.transport_guid, guid=str(uuid.uuid4()))

    async def import_debts(
        self,
        *,
        organisation_id: uuid.UUID,
        items: Sequence[m.DebtImportItem],
        ref_kind: str,
        ref_id: str,
        idempotency_key: str,
    ) -> tuple[m.CommonResult, ...]:
        del organisation_id, ref_kind, ref_id
        assert 1 <= len(items) <= m.MAX_DEBT_ITEMS
        if idempotency_key not in self.answered:
            self.sent.append((idempotency_key, len(items)))
            self.answered[idempotency_key] = tuple(
                m.CommonResult(
                    transport_guid=i.transport_guid, errors=(m.ErrorInfo("INT002000", "annulled"),)
                )
                if isinstance(i.operation, m.AnnulmentDebt)
                and i.operation.debt_guid.endswith(f"{REFUSED:012d}")
                else m.CommonResult(transport_guid=i.transport_guid, guid=str(uuid.uuid4()))
                for i in items
            )
        if self.die_on is not None and len(self.sent) == self.die_on:
            self.die_on = None
            raise GisTransportError("the gateway died while the message was in flight")
        return self.answered[idempotency_key]


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_registry_job_sends_each_message_once_and_resumes(
    db: async_sessionmaker[AsyncSession], fresh_database_url: str
) -> None:
    async with db() as session, session.begin():
        org = await make_org(session)
        debts = [
            CourtConfirmedDebt(
                organisation_id=org.id, last_name="Сидоров", first_name="Семён", act_number=f"2-{i}/2023",
                act_date=date(2023, 5, 1), act_pronouncing_date=date(2023, 4, 1), principal=Decimal(2000),
                penalties=Decimal(0), duty=Decimal(400), amount=Decimal(2400), placement="placed",
                gis_debt_guid=f"00000000-0000-4000-8000-{i:012d}", gis_status="PUBLISHED",
            )
            for i in range(DEBTS)
        ]  # fmt: skip
        session.add_all(debts)
        await session.flush()
        items = [{"debt_id": str(d.id), "action": "annul", "text": f"акт {i}"} for i, d in enumerate(debts)]
        op = Operation(
            kind=WRITE_OFF_REGISTRY_JOB, organisation_id=org.id, status=ops.RUNNING, progress_total=DEBTS,
            params={"act_id": str(uuid.uuid4()), "reason_code": "5", "reason_guid": str(uuid.uuid4()),
                    "items": items},
        )  # fmt: skip
        session.add(op)
    gis = FakeDebts(die_on=2)
    ctx = AppContext(settings=make_settings(fresh_database_url), engine=create_engine(fresh_database_url),
                     sessionmaker=db, gis=gis)  # type: ignore[arg-type]  # fmt: skip

    async def run() -> dict[str, object]:
        async with db() as session:
            claimed = await session.get(Operation, op.id)
        assert claimed is not None
        return await run_write_off_registry(claimed, ops.Progress(db, op.id, WRITE_OFF_REGISTRY_JOB), ctx)

    with pytest.raises(GisTransportError):
        await run()
    async with db() as session:
        first = await session.get(Operation, op.id)
        assert first is not None and first.progress_done == 100  # the first message applied, the second not
        waiting = (await session.scalars(select(CourtConfirmedDebt.last_error))).all()
    # The debts not updated yet say why; the updated ones carry no error.
    assert sum(1 for e in waiting if e and e.startswith("write-off not sent to GIS")) == DEBTS - 100
    result = await run()
    key = f"{WRITE_OFF_REGISTRY_JOB}:{op.id}"
    # Three messages (100 + 100 + 50), each sent once: the re-run waited for the second, sent the third.
    assert gis.sent == [(f"{key}:0", 100), (f"{key}:1", 100), (f"{key}:2", 50)]
    assert (result["debts"], result["annulled"], result["messages"], result["ok"]) == (DEBTS, DEBTS, 3, False)
    assert [f["debt_id"] for f in result["failed"]] == [str(debts[REFUSED].id)]  # type: ignore[index]
    async with db() as session:
        rows = (await session.scalars(select(CourtConfirmedDebt))).all()
        done = await session.get(Operation, op.id)
    assert done is not None and (done.progress_done, done.progress_total) == (DEBTS, DEBTS)
    by_id = {d.id: d for d in rows}
    annulled = [by_id[d.id] for i, d in enumerate(debts) if i != REFUSED]
    assert all(d.gis_status == "CANCELLED" and d.annulled_on and d.last_error is None for d in annulled)
    refused = by_id[debts[REFUSED].id]
    assert refused.gis_status == "PUBLISHED" and refused.last_error and "INT002000" in refused.last_error
