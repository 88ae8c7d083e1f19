"""Who is under a kept repayment agreement: excluded from notices and from restriction (ПП 354 п. 118).

The agreements area (#16, built separately) owns agreements. It plugs in here, in one place: replace the
body of `kept_agreement_accounts` with a call into it (e.g. `agreements.kept_on(session, organisation_id,
on_date)`) returning the ids of accounts whose agreement is in force and kept on `on_date`. Every
selection in this area takes that set (`excluded_account_ids`) and journals how many it left out under
rule `agreement`.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession


async def kept_agreement_accounts(
    session: AsyncSession,  # noqa: ARG001 - the agreements area reads its tables through it
    organisation_id: uuid.UUID,  # noqa: ARG001
    on_date: date,  # noqa: ARG001
) -> frozenset[uuid.UUID]:
    """Return the accounts under a kept repayment agreement on `on_date` (none until agreements exist)."""
    return frozenset()
