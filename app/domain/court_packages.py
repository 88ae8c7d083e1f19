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
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.db.models.court import DRAFT, CourtCase, CourtCaseEvent
from app.domain import errors
from app.domain.court_readiness import Assessment, kopecks_to_money
from app.domain.court_rules import CourtRules
from app.domain.penalties import penalty_for_amount

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
    }


def creditor_of(org: Organisation) -> dict[str, Any]:
    """Return the creditor block (ГПК ст. 124 ч. 2 п. 2: name, address, INN, OGRN)."""
    return {"name": org.name, "inn": org.inn, "ogrn": org.ogrn, "address": org.address}


async def create_draft_case(
    session: AsyncSession,
    *,
    organisation: Organisation,
    assessment: Assessment,
    rules: CourtRules,
    actor: str,
    package_operation_id: uuid.UUID | None = None,
) -> CourtCase:
    """Store a ready case as a draft court case; an earlier draft for the same accounts is replaced."""
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
    await session.flush()
    session.add(
        CourtCaseEvent(
            case_id=case.id, type="created", on_date=assessment.on_date, to_status=DRAFT, actor=actor
        )
    )
    return case


# ----------------------------------------------------------------------------------------- the document

MASK = "***"
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
    if show_pii:
        return dict(debtor)
    return {k: (MASK if k in PII_FIELDS and v else v) for k, v in debtor.items()}


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


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("app.domain", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_application_html(case: CourtCase, *, show_pii: bool, today: date | None = None) -> str:
    """Render the printable application (заявление о вынесении судебного приказа) as HTML."""
    data = application_data(case, show_pii=show_pii)
    return (
        _environment()
        .get_template("court_application.html")
        .render(app=data, today=(today or date.today()).isoformat())
    )


async def cases_of_operation(
    session: AsyncSession, *, operation_id: uuid.UUID, after: uuid.UUID | None = None, limit: int = 500
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
