"""Court-confirmed debts after a write-off: a posted act updates the debts it touches in GIS's registry.

GIS's registry of court-confirmed debts (debts service, importDebt 15.3.0.0) holds no amounts: a record
confirms that a court act found a debt. When a posted write-off act (app/domain/writeoff) covers every
month the court case claimed, the creditor gives the debt up (uncollectable receivables, НК РФ ст. 266 п. 2):
the record is annulled (`AnnulmentDebt`, the NSI 365 reason of `GISGW_COURT_WRITEOFF_REASON_*`, the reason
text naming the act). A write-off of some of the claimed months leaves the record in force and says so in
its `AdditionalInfo` (`EditDebt`). It is never a repayment: `PlacingDebtRepayment` records money received,
which a write-off is not.

The court area also runs the write-off candidate selection operation (`write-off-candidates`): its penalties
are priced as court readiness prices them (`PenaltyPricer`, ЖК РФ ст. 155 ч. 14), and the court area reads
write-off while write-off may not import the court area back.

Each update is an ordinary registry action (an operation run through the exchange engine, journaled as
`court_registry.annul` / `.edit`), queued in the posting's own transaction: both happen or neither does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.db.models.core import Operation
from app.db.models.court import CourtCase, CourtConfirmedDebt
from app.db.models.writeoff import WriteOffAct, WriteOffLine
from app.domain import writeoff
from app.domain.court.assessment import PenaltyPricer
from app.domain.court.registry import REPORT_LIST_LIMIT, ConfirmedDebt, apply_registry_result
from app.domain.court.rules import CourtRules, court_rules
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal
from app.domain.writeoff import written_off_months
from app.domain.writeoff.rules import case_month_keys
from app.gis_client import messages as m
from app.gis_client.messages import MAX_DEBT_ITEMS

_INFO_LIMIT = 1000  # AdditionalInfo and AnnulmentTextReason: 1..1000 characters (hcs-debts-types.xsd)
_IN_LIMIT = 5000  # accounts per IN list


def _months_text(periods: list[date]) -> str:
    shown = ", ".join(f"{p:%m.%Y}" for p in periods[:24])
    return shown + (f" и ещё {len(periods) - 24}" if len(periods) > 24 else "")


def _note(act: WriteOffAct, periods: list[date], amount: Decimal, whole: bool) -> str:
    head = "Задолженность списана как безнадёжная" if whole else "Часть задолженности списана как безнадёжная"
    text = (
        f"{head}: акт списания {act.id} от {act.on_date:%d.%m.%Y}, месяцы {_months_text(periods)}, "
        f"{amount:.2f} руб."
    )
    return text[:_INFO_LIMIT]


#: One operation per posting updates every touched debt: importDebt messages of up to 100 Debt items each.
WRITE_OFF_REGISTRY_JOB = "court-registry-write-off"


async def update_registry_after_write_off(
    session: AsyncSession, principal: Principal, act: WriteOffAct, *, rules: CourtRules
) -> list[uuid.UUID]:
    """Queue the registry update a posted act calls for: one operation over every placed debt it touches.

    Returns the operation's id (none when nothing is touched). What each debt gets — annulment or edit, and
    its text — is fixed here, in the posting's transaction, so the job's messages are the same on every run
    (each is sent once, under its own idempotency key) however many debts the act touches: the per-key queue
    cap counts one operation, not one per debt. Debts not placed in GIS (or annulled there) need nothing in
    GIS: debt-request answers leave out a debt written off whole (`without_written_off`), and
    `written_off_months` keeps the months out of new claims.
    """
    line = WriteOffLine
    lines = (
        await session.execute(
            select(line.account_id, line.period, line.principal, line.penalties, line.duty).where(
                line.act_id == act.id, line.ground != "amnesty"
            )
        )
    ).all()
    if not lines:
        return []
    amounts = {(a, p): pr + pe + du for a, p, pr, pe, du in lines}
    accounts = list({a for a, _ in amounts})
    touched: list[tuple[CourtConfirmedDebt, set[tuple[uuid.UUID, date]]]] = []
    for start in range(0, len(accounts), _IN_LIMIT):
        stmt = (
            select(CourtConfirmedDebt, CourtCase.account_ids, CourtCase.months, CourtCase.claim)
            .join(CourtCase, CourtCase.id == CourtConfirmedDebt.case_id)
            .where(
                CourtConfirmedDebt.organisation_id == act.organisation_id,
                CourtConfirmedDebt.gis_debt_guid.is_not(None),
                or_(CourtConfirmedDebt.gis_status.is_(None), CourtConfirmedDebt.gis_status != "CANCELLED"),
                CourtConfirmedDebt.annulled_on.is_(None),
                CourtConfirmedDebt.account_id.in_(accounts[start : start + _IN_LIMIT]),
            )
        )
        touched.extend(
            (debt, keys)
            for debt, account_ids, months, claim in (await session.execute(stmt)).all()
            if (keys := set(case_month_keys(account_ids, months, claim))) & amounts.keys()
        )
    if not touched:
        return []
    touched.sort(key=lambda t: (t[0].act_date, str(t[0].id)))
    gone = await written_off_months(session=session, organisation_id=act.organisation_id)
    items: list[dict[str, str]] = []
    for debt, keys in touched:
        mine = sorted(k for k in keys if k in amounts)
        periods = sorted({p for _, p in mine})
        amount = sum((amounts[k] for k in mine), Decimal(0))
        whole = keys <= gone
        action = "annul" if whole and rules.writeoff_reason is not None else "edit"
        items.append({"debt_id": str(debt.id), "action": action, "text": _note(act, periods, amount, whole)})
        if whole and rules.writeoff_reason is None:
            debt.last_error = (
                "Written off whole but still placed in GIS: set GISGW_COURT_WRITEOFF_REASON_CODE and _GUID "
                "(NSI 365) or annul it by hand."
            )
    code, guid = rules.writeoff_reason or (None, None)
    op = await ops.create(
        session=session,
        principal=principal,
        kind=WRITE_OFF_REGISTRY_JOB,
        organisation_id=act.organisation_id,
        params={"act_id": str(act.id), "reason_code": code, "reason_guid": guid, "items": items},
        total=len(items),
    )
    for debt, item in zip((d for d, _ in touched), items, strict=True):
        await audit.record(
            session=session,
            principal=principal,
            action=f"court_registry.{item['action']}",
            resource_type="court_confirmed_debt",
            resource_id=debt.id,
            organisation_id=debt.organisation_id,
            details={"operation_id": str(op.id), "write_off_act_id": str(act.id)},
        )
    return [op.id]


def _write_off_operation(
    debt: CourtConfirmedDebt, item: dict[str, str], params: dict[str, Any]
) -> m.DebtOperation:
    guid = debt.gis_debt_guid or ""
    if item["action"] == "annul":
        return m.AnnulmentDebt(
            debt_guid=guid,
            reason=m.NsiRef(code=params["reason_code"], guid=params["reason_guid"]),
            text_reason=item["text"],
        )
    # Only the note: the court act's file is not this update's business (a placement or edit of its own).
    return m.EditDebt(debt_guid=guid, additional_info=item["text"])


async def run_write_off_registry(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Send a posted act's registry updates in importDebt messages of ≤ 100 items; apply GIS's answers.

    Exactly once and resumable: message k carries the same items under the idempotency key `…:{op}:{k}` on
    every run, so a re-run after a crash waits for the exchange already sent instead of sending it again;
    batches whose answers were applied (the progress reached past them) are skipped.
    """
    params = dict(op.params or {})
    items: list[dict[str, str]] = list(params["items"])
    gis = ctx.gis
    if gis is None:
        raise errors.UpstreamUnavailable("The GIS client is not running.")
    assert op.organisation_id is not None
    done = min(op.progress_done or 0, len(items))
    done -= done % MAX_DEBT_ITEMS  # a batch is applied whole: resume at its start
    failed: list[dict[str, str]] = list((op.result or {}).get("failed", [])) if done else []
    for start in range(done, len(items), MAX_DEBT_ITEMS):
        batch = items[start : start + MAX_DEBT_ITEMS]
        ids = [uuid.UUID(x["debt_id"]) for x in batch]
        async with ctx.sessionmaker() as session:
            rows = await session.scalars(select(CourtConfirmedDebt).where(CourtConfirmedDebt.id.in_(ids)))
            debts = {d.id: d for d in rows}
        sent = [
            (x, debts[i], str(uuid.uuid5(op.id, x["debt_id"])))
            for x, i in zip(batch, ids, strict=True)
            if i in debts and debts[i].gis_debt_guid
        ]
        results: dict[str, m.CommonResult] = {}
        if sent:
            try:
                answered = await gis.import_debts(
                    organisation_id=op.organisation_id,
                    items=[
                        m.DebtImportItem(transport_guid=t, operation=_write_off_operation(d, x, params))
                        for x, d, t in sent
                    ],
                    ref_kind="court-registry",
                    ref_id=str(params["act_id"]),
                    idempotency_key=f"{WRITE_OFF_REGISTRY_JOB}:{op.id}:{start // MAX_DEBT_ITEMS}",
                )
            except Exception as exc:
                # The operation fails; every debt not updated yet says why (the posting itself stands).
                left = [uuid.UUID(x["debt_id"]) for x in items[start:]]
                why = f"write-off not sent to GIS: {type(exc).__name__}: {exc}"[:2000]
                async with ctx.sessionmaker() as session, session.begin():
                    for part in range(0, len(left), _IN_LIMIT):
                        await session.execute(
                            update(CourtConfirmedDebt)
                            .where(CourtConfirmedDebt.id.in_(left[part : part + _IN_LIMIT]))
                            .values(last_error=why)
                        )
                raise
            results = {r.transport_guid: r for r in answered}
        async with ctx.sessionmaker() as session, session.begin():
            for x, _, transport in sent:
                debt = await session.get(CourtConfirmedDebt, uuid.UUID(x["debt_id"]))
                assert debt is not None
                wanted = {"action": x["action"], "reason_code": params.get("reason_code"),
                          "reason_text": x["text"]}  # fmt: skip
                if not apply_registry_result(debt, wanted, results.get(transport)):
                    failed.append({"debt_id": x["debt_id"], "error": debt.last_error or "refused"})
            missing = [x["debt_id"] for x in batch if uuid.UUID(x["debt_id"]) not in debts]
            failed.extend({"debt_id": i, "error": "not found"} for i in missing)
            # Keep what failed so far with the progress: a resumed run reports the batches it skips.
            kept = {"failed": failed[:REPORT_LIST_LIMIT]}
            await session.execute(update(Operation).where(Operation.id == op.id).values(result=kept))
        await progress(start + len(batch), len(items))
    return {
        "act_id": params["act_id"],
        "ok": not failed,
        "debts": len(items),
        "annulled": sum(1 for x in items if x["action"] == "annul"),
        "edited": sum(1 for x in items if x["action"] == "edit"),
        "messages": -(-len(items) // MAX_DEBT_ITEMS),
        "failed": failed[:REPORT_LIST_LIMIT],
        "failed_count": len(failed),
    }


async def without_written_off(
    *, session: AsyncSession, organisation_id: uuid.UUID, debts: Sequence[ConfirmedDebt]
) -> list[ConfirmedDebt]:
    """Leave out the court-confirmed debts every claimed month of which a posted act has written off.

    A debt given up is no longer an unpaid debt confirmed by a court act (ЖК РФ ст. 159 ч. 1), even while its
    GIS record still awaits the annulment or was never placed: a debt-request answer must not name it. A debt
    written off in part stays (the record is in force). Debts without a case of ours (imported from GIS)
    carry no claimed months and stay.
    """
    case_ids = {d.case_id for d in debts if d.case_id is not None}
    if not case_ids:
        return list(debts)
    rows = (
        await session.execute(
            select(CourtCase.id, CourtCase.account_ids, CourtCase.months, CourtCase.claim).where(
                CourtCase.id.in_(case_ids)
            )
        )
    ).all()
    claimed = {cid: set(case_month_keys(a, m, c)) for cid, a, m, c in rows}
    accounts = {a for keys in claimed.values() for a, _ in keys}
    gone = await written_off_months(session=session, organisation_id=organisation_id, account_ids=accounts)
    given_up = {cid for cid, keys in claimed.items() if keys and keys <= gone}
    return [d for d in debts if d.case_id not in given_up]


async def run_write_off_selection(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Select an organisation's write-off candidates with progress; with `draft`, draft an act over them.

    One transaction: after a crash the operation runs again from the start and nothing was half-written.
    """
    params = dict(op.params or {})
    organisation_id = op.organisation_id
    assert organisation_id is not None
    on_date = date.fromisoformat(params["on_date"])
    pricer = PenaltyPricer(court_rules(ctx.settings), on_date).price
    draft = bool(params.get("draft"))
    async with ctx.sessionmaker() as session, session.begin():
        summary, found = await writeoff.select_all(
            session=session, organisation_id=organisation_id, on_date=on_date, pricer=pricer,
            progress=progress, keep=draft,
        )  # fmt: skip
        summary["act_id"] = None
        if draft and found:
            who = Principal(
                key_id=op.key_id,
                name=str(params.get("requested_by") or "write-off-selection"),
                scopes=frozenset({"answer"}),
                organisation_ids=frozenset({organisation_id}),
            )
            act = await writeoff.draft_act(
                session=session, principal=who, organisation_id=organisation_id, on_date=on_date,
                reason=params.get("reason"), candidates=found,
            )  # fmt: skip
            summary["act_id"] = str(act.id)
    return summary
