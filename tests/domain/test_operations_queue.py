"""The operation queue under one greedy key: fair between organisations, deadlines first, duplicates
folded into the pending operation, caps past which the caller is refused (issue #19)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Operation
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM, Principal
from tests.factories import make_org

KIND = "test-queue"


@pytest.fixture
def limits() -> Iterator[ops.QueueLimits]:
    """Small caps for the test; the process's caps come back afterwards."""
    saved = ops.LIMITS
    ops.LIMITS = ops.QueueLimits(per_key=5, per_organisation=8, retry_after=7)
    yield ops.LIMITS
    ops.LIMITS = saved


async def _claim(session: AsyncSession) -> Operation:
    op = await ops.claim_next(session=session, kinds=[KIND])
    assert op is not None
    await ops.finish(op.id, session=session, result={}, error=None)
    return op


async def test_claims_take_organisations_in_turn(session: AsyncSession) -> None:
    greedy, patient, third = [await make_org(session) for _ in range(3)]
    for n in range(50):
        await ops.create(
            session=session, principal=SYSTEM, kind=KIND, organisation_id=greedy.id, params={"n": n}
        )
    late = await ops.create(session=session, principal=SYSTEM, kind=KIND, organisation_id=patient.id)
    later = await ops.create(session=session, principal=SYSTEM, kind=KIND, organisation_id=third.id)
    order = [await _claim(session) for _ in range(4)]
    assert [op.organisation_id for op in order[:3]].count(greedy.id) == 1
    assert {late.id, later.id} <= {op.id for op in order[:3]}, "the others' work does not wait for the 50"


async def test_deadline_work_goes_first(session: AsyncSession) -> None:
    org = await make_org(session)
    for n in range(5):
        await ops.create(
            session=session, principal=SYSTEM, kind=KIND, organisation_id=org.id, params={"n": n}
        )
    urgent = await ops.create(
        session=session,
        principal=SYSTEM,
        kind=KIND,
        organisation_id=org.id,
        params={"urgent": True},
        priority=10,
    )
    assert (await _claim(session)).id == urgent.id


async def test_duplicate_submission_returns_the_pending_operation(session: AsyncSession) -> None:
    org = await make_org(session)
    first = await ops.create(
        session=session, principal=SYSTEM, kind=KIND, organisation_id=org.id, params={"a": 1}
    )
    again = await ops.create(
        session=session, principal=SYSTEM, kind=KIND, organisation_id=org.id, params={"a": 1}
    )
    other = await ops.create(
        session=session, principal=SYSTEM, kind=KIND, organisation_id=org.id, params={"a": 2}
    )
    assert again.id == first.id and other.id != first.id
    await _claim(session)  # no longer pending: a new submission is new work
    fresh = await ops.create(
        session=session, principal=SYSTEM, kind=KIND, organisation_id=org.id, params={"a": 1}
    )
    assert fresh.id != first.id


async def test_pending_caps_per_key_and_per_organisation(
    session: AsyncSession, limits: ops.QueueLimits
) -> None:
    org, other = await make_org(session), await make_org(session)
    key = Principal(key_id=uuid.uuid4(), name="greedy", scopes=SYSTEM.scopes, all_organisations=True)
    for n in range(limits.per_key):
        await ops.create(session=session, principal=key, kind=KIND, organisation_id=org.id, params={"n": n})
    with pytest.raises(d.TooManyRequests) as refused:
        await ops.create(
            session=session, principal=key, kind=KIND, organisation_id=other.id, params={"n": 99}
        )
    assert refused.value.rule == "pending_operations_per_key" and refused.value.retry_after == 7
    # A duplicate of pending work is not new work: it is answered even at the cap.
    await ops.create(session=session, principal=key, kind=KIND, organisation_id=org.id, params={"n": 0})
    for n in range(limits.per_organisation - limits.per_key):
        await ops.create(
            session=session, principal=SYSTEM, kind=KIND, organisation_id=org.id, params={"m": n}
        )
    with pytest.raises(d.TooManyRequests) as refused:
        await ops.create(
            session=session, principal=SYSTEM, kind=KIND, organisation_id=org.id, params={"x": 1}
        )
    assert refused.value.rule == "pending_operations_per_organisation"
