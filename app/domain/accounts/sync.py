"""Sync with GIS ZhKKh: exportAccountData by house or by ≤1000 ЕЛС / ЖКУ ids, diffed against billing data.

The diff is a pure function (`diff_accounts`) over billing snapshots and parsed `exportAccountResult`s; the
operation around it only fetches, fills in identifiers GIS assigned (AccountGUID, ЕЛС, ЖКУ id) on matched
accounts, and stores the report. The report names accounts by number and fields by name: no personal data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import AppContext
from app.db.models.accounts import Account, AccountPremises, House, Premises
from app.db.models.core import Operation
from app.domain.accounts.rows import fold
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal
from app.domain.kernel.gis_port import HouseManagementGis
from app.gis_client import messages as m

SYNC_JOB = "accounts-sync"
MAX_IDS = m.MAX_ACCOUNT_IDS
Selector = Literal["fias_house_guid", "els", "zhku_id"]


@dataclass(frozen=True)
class BillingAccount:
    """What the diff needs of a billing account."""

    id: uuid.UUID
    account_number: str
    els: str | None
    zhku_id: str | None
    gis_account_guid: uuid.UUID | None
    closed: bool
    payer_kind: str
    snils: str | None
    name: str | None  # folded "last first middle"
    birth_date: date | None
    #: GIS premises GUID → share percent, for premises whose GIS GUID is known.
    shares: dict[str, Decimal | None] = field(default_factory=dict)


@dataclass
class Difference:
    """A matched account whose data differ between billing and GIS."""

    account_number: str
    account_id: uuid.UUID
    gis_account_guid: str
    fields: list[str]


@dataclass
class SyncDiff:
    """Result of comparing billing accounts with GIS accounts."""

    matched: list[tuple[BillingAccount, m.Account]] = field(default_factory=list)
    missing_in_gis: list[BillingAccount] = field(default_factory=list)
    missing_in_billing: list[m.Account] = field(default_factory=list)
    different: list[Difference] = field(default_factory=list)

    def as_dict(self, limit: int = 1000) -> dict[str, Any]:
        """Return a JSON-ready report without personal data (the first `limit` items of each list)."""
        return {
            "matched": len(self.matched),
            "missing_in_gis": len(self.missing_in_gis),
            "missing_in_billing": len(self.missing_in_billing),
            "different": len(self.different),
            "missing_in_gis_accounts": [
                {"account_id": str(b.id), "account_number": b.account_number}
                for b in self.missing_in_gis[:limit]
            ],
            "missing_in_billing_accounts": [
                {
                    "gis_account_guid": g.account_guid,
                    "els": g.unified_account_number,
                    "account_number": g.account_number,
                }
                for g in self.missing_in_billing[:limit]
            ],
            "different_accounts": [
                {
                    "account_id": str(x.account_id),
                    "account_number": x.account_number,
                    "gis_account_guid": x.gis_account_guid,
                    "fields": x.fields,
                }
                for x in self.different[:limit]
            ],
        }


def _gis_name(ind: m.IndividualPayer) -> str | None:
    parts = [p for p in (ind.surname, ind.first_name, ind.patronymic) if p]
    return fold(" ".join(parts)) if parts else None


def _payer_differs(b: BillingAccount, g: m.Account) -> bool:
    ind = g.payer.individual
    if g.payer.org_version_guid is not None or (ind is None and b.payer_kind == "person"):
        return b.payer_kind != "organisation"
    if ind is None:
        return False  # GIS names no payer: nothing to compare
    if b.payer_kind != "person":
        return True
    if b.snils and ind.snils and b.snils != ind.snils.replace("-", "").replace(" ", ""):
        return True
    gis_name = _gis_name(ind)
    if b.name and gis_name and b.name != gis_name:
        return True
    return bool(b.birth_date and ind.date_of_birth and b.birth_date != ind.date_of_birth)


def _share_differs(b: BillingAccount, g: m.Account) -> bool:
    for acc in g.accommodations:
        if acc.kind != "PremisesGUID" and acc.kind != "LivingRoomGUID":
            continue
        if acc.guid.lower() in b.shares:
            ours = b.shares[acc.guid.lower()]
            if (
                ours is not None
                and acc.share_percent is not None
                and Decimal(ours) != Decimal(acc.share_percent)
            ):
                return True
    return False


def diff_accounts(billing: Iterable[BillingAccount], gis: Iterable[m.Account]) -> SyncDiff:
    """Match billing and GIS accounts (AccountGUID, then ЕЛС, ЖКУ id, account number) and list differences."""
    gis_list = list(gis)
    by_guid = {g.account_guid.lower(): g for g in gis_list}
    by_els = {g.unified_account_number.upper(): g for g in gis_list}
    by_service = {g.service_id.upper(): g for g in gis_list if g.service_id}
    by_number = {g.account_number: g for g in gis_list if g.account_number}
    used: set[str] = set()
    out = SyncDiff()
    for b in billing:
        candidates = [
            by_guid.get(str(b.gis_account_guid).lower()) if b.gis_account_guid else None,
            by_els.get(b.els.upper()) if b.els else None,
            by_service.get(b.zhku_id.upper()) if b.zhku_id else None,
            by_number.get(b.account_number),
        ]
        g = next((c for c in candidates if c is not None and c.account_guid.lower() not in used), None)
        if g is None:
            out.missing_in_gis.append(b)
            continue
        used.add(g.account_guid.lower())
        out.matched.append((b, g))
        fields = []
        if _payer_differs(b, g):
            fields.append("payer")
        if _share_differs(b, g):
            fields.append("share_percent")
        if b.closed != (g.closed is not None):
            fields.append("closed")
        if b.els and b.els.upper() != g.unified_account_number.upper():
            fields.append("els")
        if fields:
            out.different.append(Difference(b.account_number, b.id, g.account_guid, fields))
    out.missing_in_billing = [g for g in gis_list if g.account_guid.lower() not in used]
    return out


# --- loading billing snapshots ---------------------------------------------------------------------------


async def billing_accounts(
    *, session: AsyncSession, organisation_id: uuid.UUID, selector: Selector, values: Sequence[str]
) -> list[BillingAccount]:
    """Load the organisation's accounts a GIS export covers: a house's accounts, or those with the ids."""
    stmt = select(Account).where(Account.organisation_id == organisation_id)
    if selector == "fias_house_guid":
        house_ids = select(House.id).where(House.fias_house_guid == uuid.UUID(values[0]))
        in_house = (
            select(AccountPremises.account_id)
            .join(Premises, Premises.id == AccountPremises.premises_id)
            .where(Premises.house_id.in_(house_ids))
        )
        stmt = stmt.where(Account.id.in_(in_house))
    elif selector == "els":
        stmt = stmt.where(Account.els.in_([v.upper() for v in values]))
    else:
        stmt = stmt.where(Account.zhku_id.in_([v.upper() for v in values]))
    accounts = list((await session.scalars(stmt)).all())
    shares: dict[uuid.UUID, dict[str, Decimal | None]] = {a.id: {} for a in accounts}
    if accounts:
        rows = await session.execute(
            select(AccountPremises.account_id, Premises.gis_premises_guid, AccountPremises.share_percent)
            .join(Premises, Premises.id == AccountPremises.premises_id)
            .where(AccountPremises.account_id.in_(list(shares)), Premises.gis_premises_guid.is_not(None))
        )
        for account_id, guid, share in rows.all():
            shares[account_id][str(guid).lower()] = share
    return [
        BillingAccount(
            id=a.id,
            account_number=a.account_number,
            els=a.els,
            zhku_id=a.zhku_id,
            gis_account_guid=a.gis_account_guid,
            closed=a.closed,
            payer_kind=a.payer_kind,
            snils=a.snils,
            name=fold(" ".join(p for p in (a.last_name, a.first_name, a.middle_name) if p)) or None,
            birth_date=a.birth_date,
            shares=shares[a.id],
        )
        for a in accounts
    ]


def export_queries(selector: Selector, values: Sequence[str]) -> list[m.ExportAccountQuery]:
    """Split a selection into exportAccountRequest queries (one house, or ≤1000 ids each)."""
    if selector == "fias_house_guid":
        return [m.ExportAccountQuery(fias_house_guid=str(values[0]))]
    batches = [tuple(values[i : i + MAX_IDS]) for i in range(0, len(values), MAX_IDS)]
    if selector == "els":
        return [m.ExportAccountQuery(unified_account_numbers=b) for b in batches]
    return [m.ExportAccountQuery(service_ids=b) for b in batches]


async def fill_gis_identifiers(diff: SyncDiff, *, session: AsyncSession) -> int:
    """Store GIS identifiers on matched billing accounts that lack them; return how many were updated."""
    changed = 0
    for b, g in diff.matched:
        values: dict[str, Any] = {}
        if b.gis_account_guid is None:
            values["gis_account_guid"] = uuid.UUID(g.account_guid)
        if b.els is None:
            values["els"] = g.unified_account_number.upper()
        if b.zhku_id is None and g.service_id:
            values["zhku_id"] = g.service_id.upper()
        if values:
            await session.execute(update(Account).where(Account.id == b.id).values(**values))
            changed += 1
    return changed


# --- the operation ---------------------------------------------------------------------------------------


async def queue_sync(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    selector: Selector,
    values: Sequence[str],
) -> Operation:
    """Queue a sync of the organisation's accounts with GIS (one house or lists of ЕЛС / ЖКУ ids)."""
    principal.require_org(organisation_id)
    if not values or (selector == "fias_house_guid" and len(values) != 1):
        raise d.RuleViolation(
            "Give one FIAS house GUID, or a list of ЕЛС or ЖКУ ids.",
            errors=[d.FieldProblem(f"body.{selector}", "required", "one house or a non-empty list")],
        )
    op = await ops.create(
        session=session,
        principal=principal,
        kind=SYNC_JOB,
        organisation_id=organisation_id,
        params={"selector": selector, "values": list(values)},
    )
    await audit.record(
        session=session,
        principal=principal,
        action="accounts.sync.queue",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details={"selector": selector, "count": len(values)},
    )
    return op


async def sync_accounts(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gis: HouseManagementGis,
    organisation_id: uuid.UUID,
    selector: Selector,
    values: Sequence[str],
    operation_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Export the accounts from GIS, diff them with billing, fill in GIS identifiers; return the report."""
    gis_accounts: list[m.Account] = []
    for i, query in enumerate(export_queries(selector, values)):
        found = await gis.export_accounts(
            organisation_id=organisation_id,
            query=query,
            ref_kind=SYNC_JOB,
            ref_id=str(operation_id) if operation_id else None,
            # The same key on a re-run after a crash reuses the finished exchange instead of asking again.
            idempotency_key=f"{operation_id}:{i}" if operation_id else None,
        )
        gis_accounts.extend(found)
    async with sessionmaker() as session, session.begin():
        billing = await billing_accounts(
            session=session, organisation_id=organisation_id, selector=selector, values=values
        )
        diff = diff_accounts(billing, gis_accounts)
        filled = await fill_gis_identifiers(diff, session=session)
    return {**diff.as_dict(), "gis_accounts": len(gis_accounts), "identifiers_filled": filled}


async def run_sync_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Run a queued sync (idempotent: exchanges are keyed by the operation, identifier fills are upserts)."""
    gis = ctx.gis
    if gis is None:
        raise d.UpstreamUnavailable("The GIS client is not running.")
    params = op.params or {}
    await progress(0, None)
    assert op.organisation_id is not None
    report = await sync_accounts(
        sessionmaker=ctx.sessionmaker,
        gis=gis,
        organisation_id=op.organisation_id,
        selector=params["selector"],
        values=params["values"],
        operation_id=op.id,
    )
    await progress(report["matched"] + report["missing_in_gis"], None)
    return report
