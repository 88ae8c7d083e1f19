"""Who is under a kept repayment agreement: excluded from notices and from restriction (ПП 354 п. 118).

And which months are written off (posted acts): notices and restriction no longer count them.

The agreements area owns agreements; this is the one place the pre-court work asks it. Every selection in this
area takes that set (`excluded_account_ids`) and journals how many it left out under rule `agreement`.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.agreements.service import kept_agreement_accounts as _kept
from app.domain.writeoff import written_off_months as _written_off


async def kept_agreement_accounts(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    on_date: date,  # noqa: ARG001 - "kept" is the agreement's status at its last matching to the ledger
) -> frozenset[uuid.UUID]:
    """Return the accounts under an active, kept repayment agreement (as of the last payment matching)."""
    return frozenset(await _kept(session=session, organisation_id=organisation_id))


async def written_off_months(
    session: AsyncSession, organisation_id: uuid.UUID
) -> frozenset[tuple[uuid.UUID, date]]:
    """Return the (account, month) written off by posted acts: notices and restriction skip them (#16)."""
    return frozenset(await _written_off(session=session, organisation_id=organisation_id))
