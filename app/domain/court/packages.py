"""Court-order application packages: the data set of ГПК ст. 124 as JSON and as a printable HTML document.

A package is built for a ready case (see `court_readiness`) and stored as a draft `court_cases` row, so the
document can be printed again later exactly as filed. The claim by month carries the penalty calculation with
its segments (ЖК РФ ст. 155 ч. 14), as the court expects a «расчёт пеней».
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Operation, Organisation
from app.db.models.court import DRAFT, CourtCase, CourtCaseEvent, CourtReadinessResult, CourtReadinessRun
from app.domain.court import adapters
from app.domain.court.assessment import Assessment, kopecks_to_money
from app.domain.court.readiness import group_cases, iter_assessments
from app.domain.court.rules import CourtRules, court_rules
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal, require_organisation
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.masking import mask_fields
from app.domain.kernel.penalties import penalty_for_amount

# ГПК ст. 132 and the usual ЖКУ practice: what goes with the application (the court returns it without them).
STANDARD_ATTACHMENTS = (
    "Расчёт задолженности по месяцам",
    "Расчёт пеней (ЖК РФ ст. 155 ч. 14)",
    "Выписка из лицевого счёта",
    "Документ об уплате государственной пошлины",
    "Документ о праве взыскателя (договор управления, лицензия или договор ресурсоснабжения)",
    "Доверенность представителя (при подаче представителем)",
)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def build_claim(assessment: Assessment, *, rules: CourtRules) -> dict[str, Any]:
    """Return the claim part of the package (no personal data): months, penalty calculation, totals."""
    rate = rules.penalty.cap_rate if rules.key_rate is None else rules.key_rate
    months: list[dict[str, Any]] = []
    for m in assessment.months:
        outstanding = kopecks_to_money(m.outstanding)
        calc = penalty_for_amount(
            amount=outstanding,
            due_date=m.due_date,
            until=assessment.on_date,
            key_rate=rate,
            rules=rules.penalty,
            period=m.period,
        )
        months.append(
            {
                "account_id": str(m.account_id),
                "period": m.period.isoformat(),
                "due_date": m.due_date.isoformat(),
                "charged": _money(kopecks_to_money(m.charged)),
                "paid": _money(kopecks_to_money(m.paid)),
                "outstanding": _money(outstanding),
                "penalty": _money(calc.total),
                "penalty_segments": [
                    {
                        "from": s.start.isoformat(),
                        "to": s.end.isoformat(),
                        "days": s.days,
                        "balance": _money(s.balance),
                        "rate": f"{s.key_rate * 100:.2f}",
                        "fraction": s.rate_fraction,
                        "moratorium": s.moratorium,
                        "amount": _money(s.amount),
                    }
                    for s in calc.segments
                ],
            }
        )
    penalties = sum((Decimal(m["penalty"]) for m in months), Decimal("0.00"))
    return {
        "on_date": assessment.on_date.isoformat(),
        "key_rate": f"{rate * 100:.2f}",
        "months": months,
        "excluded": [e.as_dict() for e in assessment.excluded],
        "principal": _money(assessment.principal),
        "penalties": _money(penalties),
        "total": _money(assessment.principal + penalties),
        "duty": _money(assessment.duty) if assessment.duty is not None else None,
        "attachments": list(STANDARD_ATTACHMENTS),
        "warnings": [w.as_dict() for w in assessment.warnings],
        **({"notice": assessment.notice.as_dict()} if assessment.notice is not None else {}),
    }


def creditor_of(org: Organisation) -> dict[str, Any]:
    """Return the creditor block (ГПК ст. 124 ч. 2 п. 2: name, address, INN, OGRN)."""
    return {"name": org.name, "inn": org.inn, "ogrn": org.ogrn, "address": org.address}


async def create_draft_case(
    *,
    session: AsyncSession,
    organisation: Organisation,
    assessment: Assessment,
    rules: CourtRules,
    actor: str,
    package_operation_id: uuid.UUID | None = None,
    replace_earlier: bool = True,
) -> CourtCase:
    """Store a ready case as a draft court case; an earlier draft for the same accounts is replaced.

    A batch caller deletes the earlier drafts of its whole batch at once (`replace_earlier=False`) and
    flushes once: the case gets its id here, so nothing is written until then.
    """
    if not assessment.ready:
        raise errors.RuleViolation(
            "The case is not ready for a court order.",
            errors=[
                errors.FieldProblem("account_ids", b.rule, f"{b.message} {b.unblock}")
                for b in assessment.blockers
            ],
            rule="court_readiness",
        )
    first = assessment.account_ids[0]
    if replace_earlier:
        # Re-running a package export must not pile up drafts: the newest draft replaces older ones.
        await session.execute(
            delete(CourtCase).where(
                CourtCase.organisation_id == organisation.id,
                CourtCase.account_id == first,
                CourtCase.status == DRAFT,
            )
        )
    claim = build_claim(assessment, rules=rules)
    court = assessment.court.model_dump(mode="json") if assessment.court else None
    case = CourtCase(
        id=uuid.uuid4(),
        organisation_id=organisation.id,
        account_id=first,
        account_ids=[str(a) for a in assessment.account_ids],
        package_operation_id=package_operation_id,
        status=DRAFT,
        debtor=assessment.debtor.pii(),
        court=court,
        months=sorted({m["period"] for m in claim["months"]}),
        period_from=assessment.months[0].period,
        period_to=assessment.months[-1].period,
        on_date=assessment.on_date,
        principal=Decimal(claim["principal"]),
        penalties=Decimal(claim["penalties"]),
        duty=Decimal(claim["duty"]),
        total=Decimal(claim["total"]),
        claim={**claim, "creditor": creditor_of(organisation)},
        version=1,
    )
    session.add(case)
    if replace_earlier:
        await session.flush()
    session.add(
        CourtCaseEvent(
            case_id=case.id, type="created", on_date=assessment.on_date, to_status=DRAFT, actor=actor
        )
    )
    return case


# ----------------------------------------------------------------------------------------- the document

PII_FIELDS = (
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "birth_place",
    "snils",
    "inn",
    "id_doc_series",
    "id_doc_number",
    "address",
    "premises_number",
)


def mask_debtor(debtor: dict[str, Any], *, show_pii: bool) -> dict[str, Any]:
    """Return the debtor with personal data masked unless the caller holds the `pii` scope."""
    return mask_fields(debtor, PII_FIELDS, pii=show_pii)


def application_data(case: CourtCase, *, show_pii: bool) -> dict[str, Any]:
    """Return the full application data set of a case (creditor, debtor, court, claim, duty, attachments)."""
    claim = dict(case.claim)
    creditor = claim.pop("creditor", None)
    return {
        "case_id": str(case.id),
        "organisation_id": str(case.organisation_id),
        "status": case.status,
        "creditor": creditor,
        "debtor": mask_debtor(case.debtor, show_pii=show_pii),
        "court": case.court,
        "claim": claim,
        "duty": claim.get("duty"),
        "payee": (case.court or {}).get("payee"),
        "attachments": claim.get("attachments", []),
    }


def render_application_html(case: CourtCase, *, show_pii: bool, today: date | None = None) -> str:
    """Render the printable application (заявление о вынесении судебного приказа) as HTML."""
    return adapters.render_html(application_data(case, show_pii=show_pii), today=today or moscow_today())


async def cases_of_operation(
    *, session: AsyncSession, operation_id: uuid.UUID, after: uuid.UUID | None = None, limit: int = 500
) -> Sequence[CourtCase]:
    """Return the draft cases a package export created, ordered by id (keyset)."""
    stmt = (
        select(CourtCase)
        .where(CourtCase.package_operation_id == operation_id)
        .order_by(CourtCase.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(CourtCase.id > after)
    return (await session.scalars(stmt)).all()


# ---------------------------------------------------------------------------------------- batch export

PACKAGES_JOB = "court-packages"


async def request_packages(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    run_id: uuid.UUID | None,
    account_ids: Sequence[uuid.UUID] | None,
    on_date: date,
    group_by: str,
) -> Operation:
    """Queue a package export for the ready cases of a readiness run or of the given accounts."""
    principal.require_org(organisation_id)
    if run_id is not None:
        run = await session.get(CourtReadinessRun, run_id)
        if run is None or run.organisation_id != organisation_id:
            raise errors.NotFoundError(f"Readiness run {run_id} not found.")
        if run.status != "done":
            raise errors.ConflictError("The readiness run has not finished yet.", rule="run_pending")
    elif not account_ids:
        raise errors.RuleViolation(
            "Give a readiness run or account ids.",
            errors=[errors.FieldProblem("body.run_id", "missing", "run_id or account_ids is required")],
        )
    op = await ops.create(
        session=session,
        principal=principal,
        kind=PACKAGES_JOB,
        organisation_id=organisation_id,
        params={
            "run_id": str(run_id) if run_id else None,
            "account_ids": [str(a) for a in account_ids] if account_ids else None,
            "on_date": on_date.isoformat(),
            "group_by": group_by,
            "actor": principal.actor,
        },
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court_packages.export",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
    )
    return op


async def _package_cases(
    session: AsyncSession, organisation_id: uuid.UUID, params: dict[str, Any]
) -> list[list[uuid.UUID]]:
    if params.get("run_id"):
        stmt = (
            select(CourtReadinessResult.account_ids)
            .where(
                CourtReadinessResult.run_id == uuid.UUID(params["run_id"]),
                CourtReadinessResult.ready.is_(True),
            )
            .order_by(CourtReadinessResult.seq)
        )
        return [[uuid.UUID(a) for a in ids] for ids in (await session.scalars(stmt)).all()]
    ids = [uuid.UUID(a) for a in params.get("account_ids") or []]
    return await group_cases(
        session=session, organisation_id=organisation_id, account_ids=ids, group_by=params["group_by"]
    )


async def run_packages_job(op: Operation, progress: ops.Progress, ctx: Any) -> dict[str, Any]:
    """Re-assess each case on the filing date and store a draft court case with its package per ready one."""
    params = dict(op.params or {})
    assert op.organisation_id is not None
    rules = court_rules(ctx.settings)
    on_date = date.fromisoformat(params["on_date"])
    created = blocked = 0
    blockers: dict[str, int] = {}
    async with ctx.sessionmaker() as session:
        org = await session.get(Organisation, op.organisation_id)
        if org is None:
            raise errors.NotFoundError(f"Organisation {op.organisation_id} not found.")
        # Idempotent: a re-run after a crash starts again from a clean slate.
        await session.execute(
            delete(CourtCase).where(CourtCase.package_operation_id == op.id, CourtCase.status == DRAFT)
        )
        cases = await _package_cases(session, org.id, params)
        done = 0
        async for batch in iter_assessments(
            session=session,
            organisation_id=org.id,
            cases=cases,
            on_date=on_date,
            rules=rules,
            chunk=min(ctx.settings.court.readiness_chunk, 500),
        ):
            ready = [a for a in batch if a.ready]
            if ready:
                await session.execute(
                    delete(CourtCase).where(
                        CourtCase.organisation_id == org.id,
                        CourtCase.account_id.in_([a.account_ids[0] for a in ready]),
                        CourtCase.status == DRAFT,
                    )
                )
            for assessment in batch:
                if assessment.ready:
                    await create_draft_case(
                        session=session,
                        organisation=org,
                        assessment=assessment,
                        rules=rules,
                        actor=params.get("actor") or "system",
                        package_operation_id=op.id,
                        replace_earlier=False,
                    )
                    created += 1
                else:
                    blocked += 1
                    for b in assessment.blockers:
                        blockers[b.rule] = blockers.get(b.rule, 0) + 1
            done += len(batch)
            await session.commit()
            await progress(done, len(cases))
        await session.commit()
    return {
        "cases": created,
        "blocked": blocked,
        "blockers": blockers,
        "jsonl": f"/api/v1/court-orders/packages/{op.id}.jsonl",
    }


async def create_case_for_accounts(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    on_date: date,
    rules: CourtRules,
) -> CourtCase:
    """Assess one debtor's accounts and open a draft case with its package (422 naming the blockers)."""
    org = await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    ids = list(dict.fromkeys(account_ids))
    found: list[Assessment] = []
    async for batch in iter_assessments(
        session=session, organisation_id=org.id, cases=[ids], on_date=on_date, rules=rules
    ):
        found.extend(batch)
    if not found or set(found[0].account_ids) != set(ids):
        raise errors.NotFoundError(
            "Some accounts were not found for this organisation.", rule="account_exists"
        )
    case = await create_draft_case(
        session=session, organisation=org, assessment=found[0], rules=rules, actor=principal.actor
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court_case.create",
        resource_type="court_case",
        resource_id=case.id,
        organisation_id=org.id,
    )
    return case
