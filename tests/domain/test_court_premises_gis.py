"""Counting premises placed in GIS with a fake GIS port: 1000-account blocks, bounded, resumable."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.models.houses import GisPremises
from app.domain.court import premises_gis
from app.domain.court.eligibility import check_eligibility
from app.domain.court.rules import court_rules
from app.gis_client.errors import GisTransportError
from app.gis_client.messages import (
    Accommodation,
    Account,
    ExportAccountQuery,
    ExportPaymentDocumentQuery,
    Payer,
    PaymentDocument,
    PaymentDocumentExport,
)
from app.settings import Settings
from tests.factories import make_org

HOUSES = [uuid.UUID(int=h + 1) for h in range(3)]
PER_HOUSE = 900  # 2,700 accounts: three blocks of ≤1000 a month
NON_RESIDENTIAL = f"{uuid.UUID(int=10**9)}"


def _account(house: int, i: int) -> Account:
    guid = f"{uuid.UUID(int=house * 10_000 + i)}"
    premises = NON_RESIDENTIAL if (house, i) == (0, 0) else f"{uuid.UUID(int=10**6 + house * 10_000 + i)}"
    return Account(
        kind="isRCAccount",
        account_guid=guid,
        unified_account_number=f"{house:02d}{i:08d}",
        payer=Payer(),
        accommodations=(Accommodation("PremisesGUID", premises),),
    )


class FakeGis:
    """Accounts per house; documents in March for every account, in April for the first 100 of each house."""

    def __init__(self, fail_month: int | None = None) -> None:
        self.fail_month = fail_month
        self.calls: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.accounts = {h: [_account(n, i) for i in range(PER_HOUSE)] for n, h in enumerate(HOUSES)}

    async def _step(self, key: str | None) -> None:
        self.calls.append(key or "")
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1

    async def export_accounts(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportAccountQuery,
        ref_kind: str,
        ref_id: str | None,
        idempotency_key: str | None,
    ) -> tuple[Account, ...]:
        del organisation_id, ref_kind, ref_id
        await self._step(idempotency_key)
        return tuple(self.accounts[uuid.UUID(query.fias_house_guid or "")])

    async def export_payment_documents(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportPaymentDocumentQuery,
        ref_kind: str,
        ref_id: str | None,
        idempotency_key: str | None,
    ) -> PaymentDocumentExport:
        del organisation_id, ref_kind, ref_id
        assert len(query.account_guids) <= 1000
        await self._step(idempotency_key)
        if query.month == self.fail_month:
            raise GisTransportError("stand unreachable")
        docs = [
            PaymentDocument(g, f"{n:018d}", year=query.year, month=query.month)
            for n, g in enumerate(query.account_guids)
            if query.month == 3 or (query.month == 4 and uuid.UUID(g).int % 10_000 < 100)
        ]
        return PaymentDocumentExport(tuple(docs))

    async def export_house(self, **_: object) -> None:
        raise AssertionError("not used")


@pytest.fixture
async def org_id(db: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with db() as session, session.begin():
        org = await make_org(session, org_type="settlement_centre")
        session.add(
            GisPremises(
                id=uuid.uuid4(), organisation_id=org.id, month=date(2025, 3, 1), fias_house_guid=HOUSES[0],
                premises_guid=uuid.UUID(NON_RESIDENTIAL), unique_number="1", kind="non_residential",
                seen_at=utcnow(),
            )
        )  # fmt: skip
        return org.id


async def test_count_premises_reads_blocks_bounded_and_resumes(
    db: async_sessionmaker[AsyncSession], org_id: uuid.UUID
) -> None:
    op_id = uuid.uuid4()
    houses = [str(h) for h in HOUSES]
    failing = FakeGis(fail_month=5)
    with pytest.raises(GisTransportError):
        await premises_gis.count_premises(
            sessionmaker=db, gis=failing, organisation_id=org_id, year=2025, months=range(1, 13),
            operation_id=op_id, fias_house_guids=houses, concurrency=2,
        )  # fmt: skip
    assert failing.most_in_flight == 2
    async with db() as session:
        stored = await premises_gis.stored_counts(session, org_id, 2025)
    assert [c.month for c in stored] == [1, 2, 3, 4]
    # The non-residential premises of house 0 is left out; every other account covers one flat.
    assert stored[2].gis_premises == 3 * PER_HOUSE - 1 and stored[2].gis_accounts == 3 * PER_HOUSE
    assert stored[3].gis_premises == 3 * 100 - 1 and stored[3].payment_documents == 300
    assert stored[0].gis_premises == 0 and stored[2].billing_premises == 0

    resumed = FakeGis()
    report = await premises_gis.count_premises(
        sessionmaker=db, gis=resumed, organisation_id=org_id, year=2025, months=range(1, 13),
        operation_id=op_id, fias_house_guids=houses, concurrency=3,
    )  # fmt: skip
    assert report.months_skipped == [1, 2, 3, 4]
    # Same idempotency keys as the first run (the engine reuses finished exchanges); months 1-4 not asked.
    asked = {k.split(":")[2] for k in resumed.calls if ":documents:" in k}
    assert asked == {f"2025-{m:02d}" for m in range(5, 13)}
    accounts_keys = {k for k in resumed.calls if ":accounts:" in k}
    assert accounts_keys == {k for k in failing.calls if ":accounts:" in k} and len(accounts_keys) == 3
    may_2025 = {k for k in resumed.calls if "2025-05" in k}
    assert {k for k in failing.calls if "2025-05" in k} <= may_2025 and len(may_2025) == 3
    assert len([k for k in resumed.calls if ":documents:" in k]) == 8 * 3
    async with db() as session:
        assert len(await premises_gis.stored_counts(session, org_id, 2025)) == 12
        verdict = await check_eligibility(
            session=session, organisation_id=org_id, rules=court_rules(Settings()), on_date=date(2026, 3, 2)
        )
    premises = next(c for c in verdict.criteria if c.name == "premises")
    assert premises.source == "gis_payment_documents" and premises.value == 3 * PER_HOUSE - 1
    assert premises.evidence["maximum_month"] == 3 and premises.met is False  # below 200,000
    assert verdict.region.status == "not configured"
