"""Who is under a kept repayment agreement: excluded from notices and from restriction (ПП 354 п. 118).

The agreements area owns agreements; this is the one place the pre-court work asks it. Every selection in this
area takes that set (`excluded_account_ids`) and journals how many it left out under rule `agreement`.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.agreements.service import kept_agreement_accounts as _kept


async def kept_agreement_accounts(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    on_date: date,  # noqa: ARG001 - "kept" is the agreement's status at its last matching to the ledger
) -> frozenset[uuid.UUID]:
    """Return the accounts under an active, kept repayment agreement (as of the last payment matching)."""
    return frozenset(await _kept(session=session, organisation_id=organisation_id))
