"""Court-confirmed debts: the local registry and its GIS twin (debts service, importDebt / exportDebt).

A debt enters the local registry when its court order comes into force (`court_cases`), and is then placed in
GIS's registry of court-confirmed debts (gis-protocol §11). Debt-request answers reference those records by
`debtGUID`, or list the debtor from the local record when it is not placed (ЖК РФ ст. 159, 160).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.court import CourtConfirmedDebt


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """The debtor's identity document (type code as in NSI 95)."""

    type: str | None
    series: str | None = field(repr=False)
    number: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConfirmedDebt:
    """A court-confirmed debt of one account, as a debt-request answer needs it. Personal data: no repr."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    last_name: str = field(repr=False)
    first_name: str = field(repr=False)
    middle_name: str | None = field(repr=False)
    snils: str | None = field(repr=False)
    identity_document: IdentityDocument | None = field(repr=False)
    act_number: str
    #: Entry into force of the court act (JudicalActDate).
    act_date: date
    act_pronouncing_date: date
    amount: Decimal
    period_from: date | None
    period_to: date | None
    #: DebtGUID once placed in GIS's registry (and not annulled there); None otherwise.
    gis_debt_guid: str | None
    repaid: bool
    case_id: uuid.UUID | None


def _to_confirmed(row: CourtConfirmedDebt) -> ConfirmedDebt:
    document = (
        IdentityDocument(type=row.id_doc_type, series=row.id_doc_series, number=row.id_doc_number)
        if row.id_doc_number
        else None
    )
    published = row.gis_debt_guid if row.gis_status != "CANCELLED" else None
    return ConfirmedDebt(
        id=row.id,
        account_id=row.account_id,
        last_name=row.last_name,
        first_name=row.first_name,
        middle_name=row.middle_name,
        snils=row.snils,
        identity_document=document,
        act_number=row.act_number,
        act_date=row.act_date,
        act_pronouncing_date=row.act_pronouncing_date,
        amount=row.amount,
        period_from=row.period_from,
        period_to=row.period_to,
        gis_debt_guid=published,
        repaid=row.repayment_status == "PAID",
        case_id=row.case_id,
    )


async def confirmed_debts_for_accounts(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    include_repaid: bool = False,
) -> list[ConfirmedDebt]:
    """Return the organisation's unpaid, not annulled court-confirmed debts of these accounts.

    ЖК РФ ст. 159 ч. 1: only debt confirmed by a court act in force and still unpaid counts in debt-request
    answers, so repaid and annulled records are left out unless `include_repaid`. Ordered by account, then
    act date.
    """
    if not account_ids:
        return []
    stmt = (
        select(CourtConfirmedDebt)
        .where(
            CourtConfirmedDebt.organisation_id == organisation_id,
            CourtConfirmedDebt.account_id.in_(list(dict.fromkeys(account_ids))),
            CourtConfirmedDebt.annulled_on.is_(None),
        )
        .order_by(CourtConfirmedDebt.account_id, CourtConfirmedDebt.act_date, CourtConfirmedDebt.id)
    )
    if not include_repaid:
        stmt = stmt.where(CourtConfirmedDebt.repayment_status != "PAID")
    rows = (await session.scalars(stmt)).all()
    return [_to_confirmed(row) for row in rows]
