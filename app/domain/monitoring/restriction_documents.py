"""The documents of a restriction timeline (ПП 354 п. 117–120), one PDF per step, each generation journaled.

- `warning` — the written warning of п. 119 а: the debt, two monthly charges, restriction 20 days after
  delivery (or suspension where restriction is impossible);
- `restriction_notice` — the notice of restriction: the utility and the computed date (the recorded one once
  restricted), once the warning's delivery is recorded;
- `suspension_notice` — the notice of suspension (п. 119 в), once the restriction is recorded; the date it
  states is never earlier than the earliest day the timeline allows nor N days (setting) after the notice's
  delivery; never for heating, nor cold water in an apartment building;
- `resumption_record` — the record of resumption (п. 120), once the resumption is recorded.

A document is generated only when the recorded facts allow it (the timeline moves on delivery dates, never on
send dates): otherwise 409 naming the step still missing. The PDFs use the notices' library and fonts (fpdf2,
`GISGW_MONITORING_NOTICE_FONT`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

from fpdf import FPDF
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.db.models.monitoring import Notice, RestrictionCase, RestrictionEvent
from app.domain.kernel import audit, errors
from app.domain.kernel.access import Principal
from app.domain.monitoring.documents import _Writer, long_date, rub
from app.domain.monitoring.notices import Addressee, addressees
from app.domain.monitoring.restriction import get_case, suspension_forbidden
from app.settings import MonitoringSettings

Kind = Literal["warning", "restriction_notice", "suspension_notice", "resumption_record"]
KINDS: tuple[Kind, ...] = get_args(Kind)

TITLES: dict[str, str] = {
    "warning": "ПРЕДУПРЕЖДЕНИЕ",
    "restriction_notice": "УВЕДОМЛЕНИЕ ОБ ОГРАНИЧЕНИИ",
    "suspension_notice": "УВЕДОМЛЕНИЕ О ПРИОСТАНОВЛЕНИИ",
    "resumption_record": "АКТ О ВОЗОБНОВЛЕНИИ",
}
SUBTITLES: dict[str, str] = {
    "warning": "об ограничении (приостановлении) предоставления коммунальной услуги",
    "restriction_notice": "предоставления коммунальной услуги",
    "suspension_notice": "предоставления коммунальной услуги",
    "resumption_record": "предоставления коммунальной услуги",
}
UTILITY_NAMES: dict[str, str] = {
    "electricity": "электроснабжение",
    "hot_water": "горячее водоснабжение",
    "cold_water": "холодное водоснабжение",
    "wastewater": "водоотведение",
    "gas": "газоснабжение",
    "heating": "отопление",
}
_RULES = "Правила, утв. постановлением Правительства РФ от 06.05.2011 № 354"


@dataclass(frozen=True)
class StepDocument:
    """A generated document: its kind, the date it states (restriction, suspension, resumption), the PDF."""

    kind: Kind
    stated_date: date | None
    pdf: bytes


def refusal(case: RestrictionCase, kind: Kind) -> tuple[str, str] | None:
    """Return (rule, message) when the recorded facts do not allow the document yet, else None."""
    closed_early = case.status == "stopped"
    if kind == "warning":
        if closed_early and case.warning_delivered_on is None:
            return "case_closed", f"The timeline stopped ({case.stopped_reason}) before any warning."
        return None
    if kind == "restriction_notice":
        if case.warning_delivered_on is None:
            return "warning_not_delivered", "Record the warning's delivery first (warning_delivered)."
        if closed_early and case.restricted_on is None:
            return "case_closed", f"The timeline stopped ({case.stopped_reason}) before the restriction."
        return None
    if kind == "suspension_notice":
        if suspension_forbidden(case.utility, case.apartment_building):
            return "suspension_forbidden", (
                f"Suspension of {case.utility} is not allowed"
                + (" in an apartment building" if case.utility == "cold_water" else "")
                + " (ПП 354 п. 119); there is no suspension notice."
            )
        if case.restricted_on is None:
            return "not_restricted", "The suspension notice follows the recorded restriction (restricted)."
        if closed_early and case.suspension_notice_delivered_on is None and case.suspended_on is None:
            return "case_closed", f"The timeline stopped ({case.stopped_reason}) before the suspension."
        return None
    if case.resumed_on is None:
        return "not_resumed", "Record the resumption first (debt_paid, then resumed)."
    return None


def suspension_date(case: RestrictionCase, *, today: date, notice_days: int) -> date:
    """Return the suspension date a notice states: recorded, or the earliest the facts allow.

    Not before `suspension_allowed_from` (п. 119 в) nor `notice_days` after the notice's delivery; a notice
    not yet delivered is taken as delivered today at the earliest.
    """
    if case.suspended_on is not None:
        return case.suspended_on
    assert case.suspension_allowed_from is not None
    delivered = case.suspension_notice_delivered_on or today
    return max(case.suspension_allowed_from, delivered + timedelta(days=notice_days))


def _stated_date(case: RestrictionCase, kind: Kind, today: date, notice_days: int) -> date | None:
    if kind == "restriction_notice":
        return case.restricted_on or case.restriction_allowed_from
    if kind == "suspension_notice":
        return suspension_date(case, today=today, notice_days=notice_days)
    if kind == "resumption_record":
        return case.resumed_on
    return None


def render(
    *,
    case: RestrictionCase,
    kind: Kind,
    org: Organisation,
    to: Addressee,
    today: date,
    settings: MonitoringSettings,
    warning_notice: Notice | None = None,
) -> StepDocument:
    """Return the PDF of one step (the caller checked `refusal`)."""
    notice_days = settings.restriction_suspension_notice_days
    stated = _stated_date(case, kind, today, notice_days)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("main", "", str(settings.notice_font))
    pdf.add_font("main", "B", str(settings.notice_bold_font))
    pdf.set_title(f"{TITLES[kind].capitalize()} {SUBTITLES[kind]}")
    pdf.set_creator("gisgw")
    out = _Writer(pdf)
    pdf.add_page()
    pdf.set_font("main", size=10)
    out.paragraph(f"{org.name}\nИНН {org.inn or '—'}\n{org.address or ''}".rstrip(), 5, align="R")
    pdf.ln(4)
    out.paragraph(f"Кому: {to.name}\nАдрес: {to.address}\nЛицевой счёт № {case.account_number}", 5)
    pdf.ln(6)
    pdf.set_font("main", "B", 13)
    pdf.cell(0, 8, TITLES[kind], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("main", size=10)
    pdf.cell(0, 6, SUBTITLES[kind], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"от {long_date(today)}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    utility = f"«{UTILITY_NAMES.get(case.utility, case.utility)}»"
    for text in _body(case, kind, utility, stated, notice_days, warning_notice):
        out.paragraph(text, 5)
        pdf.ln(2)
    pdf.ln(6)
    out.paragraph(f"{org.name}  ____________________ / подпись /", 5)
    return StepDocument(kind, stated, bytes(pdf.output()))


def _body(
    case: RestrictionCase,
    kind: Kind,
    utility: str,
    stated: date | None,
    notice_days: int,
    warning_notice: Notice | None,
) -> list[str]:
    charge = f"ежемесячный размер платы за коммунальную услугу {utility} — {rub(case.monthly_charge)}" + (
        " (по нормативу потребления и тарифу)"
        if case.charge_method == "standard"
        else " (приблизительно, по среднему начислению последних месяцев)"
    )
    debt = (
        f"Задолженность по оплате коммунальной услуги {utility} по лицевому счёту № {case.account_number} "
        f"составляет {rub(case.debt)} и превышает сумму двух месячных размеров платы ({charge}), "
        f"{_RULES}, п. 117, 118."
    )
    forbidden = suspension_forbidden(case.utility, case.apartment_building)
    if kind == "warning":
        lines = [
            debt,
            "Предупреждаем: если задолженность не будет погашена (или не будет заключено и исполняться "
            "соглашение о её погашении) в течение 20 дней со дня доставки настоящего предупреждения, "
            f"предоставление коммунальной услуги {utility} будет ограничено"
            + (
                " (п. 119 а, б); приостановление предоставления этой услуги не допускается (п. 119)."
                if forbidden
                else ", а при отсутствии технической возможности ограничения — приостановлено без "
                "предварительного введения ограничения (п. 119 а, б)."
            ),
        ]
        if not forbidden:
            lines.append(
                "Если задолженность не будет погашена в течение 10 дней со дня введения ограничения, "
                f"предоставление услуги будет приостановлено (п. 119 в), о чём Вы будете уведомлены не "
                f"менее чем за {notice_days} дн."
            )
        if case.warning_delivered_on is not None:
            via = (
                f" (уведомление о задолженности № {warning_notice.seq}, способ: {warning_notice.channel})"
                if warning_notice is not None
                else ""
            )
            lines.append(
                f"Предупреждение доставлено {long_date(case.warning_delivered_on)}{via}; ограничение "
                f"допускается с {long_date(case.restriction_allowed_from or case.warning_delivered_on)}."
            )
        return lines
    if kind == "restriction_notice":
        assert case.warning_delivered_on is not None and stated is not None
        when = "ограничено" if case.restricted_on is not None else "будет ограничено"
        step = f"Предоставление коммунальной услуги {utility} {when} с {long_date(stated)} (п. 119 б)."
        if case.restriction_impossible:
            step = (
                f"Ввиду отсутствия технической возможности ограничение предоставления коммунальной услуги "
                f"{utility} не вводится (установлено {long_date(stated)}); "
                + (
                    "приостановление предоставления этой услуги не допускается (п. 119)."
                    if forbidden
                    else "предоставление услуги может быть приостановлено без предварительного введения "
                    "ограничения (п. 119 в)."
                )
            )
        return [
            debt,
            f"Предупреждение об ограничении доставлено Вам {long_date(case.warning_delivered_on)}; в течение "
            "20 дней со дня его доставки задолженность не погашена (п. 119 а).",
            step,
            "Предоставление услуги возобновляется в течение 2 календарных дней со дня погашения "
            "задолженности или заключения соглашения о её погашении (п. 120).",
        ]
    if kind == "suspension_notice":
        assert case.restricted_on is not None and stated is not None
        since = (
            "введение ограничения технически невозможно"
            if case.restriction_impossible
            else f"предоставление услуги ограничено с {long_date(case.restricted_on)}"
        )
        delivered = (
            f" Настоящее уведомление доставлено {long_date(case.suspension_notice_delivered_on)}."
            if case.suspension_notice_delivered_on is not None
            else ""
        )
        return [
            debt,
            f"Задолженность не погашена: {since} (п. 119 б).",
            f"Уведомляем: предоставление коммунальной услуги {utility} будет приостановлено "
            f"{long_date(stated)}, не ранее чем через {notice_days} дн. со дня доставки настоящего "
            f"уведомления (п. 119 в).{delivered}",
            "Предоставление услуги возобновляется в течение 2 календарных дней со дня погашения "
            "задолженности или заключения соглашения о её погашении (п. 120).",
        ]
    assert case.resumed_on is not None and stated is not None
    cause = (
        f"задолженность погашена {long_date(case.debt_paid_on)}"
        if case.debt_paid_on is not None and case.stopped_reason != "agreement"
        else f"заключено соглашение о погашении задолженности ({long_date(case.debt_paid_on)})"
        if case.debt_paid_on is not None
        else "причина ограничения устранена"
    )
    limited = (
        f"приостановлено {long_date(case.suspended_on)}"
        if case.suspended_on is not None
        else f"ограничено {long_date(case.restricted_on)}"
        if case.restricted_on is not None
        else "не ограничивалось"
    )
    late = case.resume_by is not None and case.resumed_on > case.resume_by
    return [
        f"Лицевой счёт № {case.account_number}; коммунальная услуга {utility}; предоставление услуги было "
        f"{limited}.",
        f"Основание возобновления: {cause} (п. 120).",
        f"Предоставление коммунальной услуги {utility} возобновлено {long_date(stated)}"
        + (
            f"; срок возобновления — до {long_date(case.resume_by)} включительно"
            + (" (срок пропущен)." if late else " (срок соблюдён).")
            if case.resume_by is not None
            else "."
        ),
    ]


async def generate(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    kind: Kind,
    today: date,
    settings: MonitoringSettings,
) -> StepDocument:
    """Generate one step's document when the recorded facts allow it; journal the generation."""
    case = await get_case(session=session, principal=principal, case_id=case_id)
    refused = refusal(case, kind)
    if refused is not None:
        rule, message = refused
        raise errors.ConflictError(
            message, errors=[errors.FieldProblem("path.kind", rule, message)], rule=rule
        )
    org = await session.get(Organisation, case.organisation_id)
    assert org is not None  # the case's foreign key cascades
    to = (await addressees(session, [case.account_id])).get(case.account_id, Addressee("", ""))
    notice = await session.get(Notice, case.warning_notice_id) if case.warning_notice_id else None
    doc = render(case=case, kind=kind, org=org, to=to, today=today, settings=settings, warning_notice=notice)
    details = {"kind": kind, "stated_date": doc.stated_date.isoformat() if doc.stated_date else ""}
    session.add(RestrictionEvent(case_id=case.id, event="document", on_date=today, details=details))
    await audit.record(
        session=session,
        principal=principal,
        action="restriction.document",
        resource_type="restriction_case",
        resource_id=case.id,
        organisation_id=case.organisation_id,
        details={**details, "status": case.status},
    )
    await session.flush()
    return doc


def available(case: RestrictionCase) -> list[tuple[Kind, str | None]]:
    """Return each step's document with the rule that still refuses it (None: it can be generated)."""
    return [(kind, (refusal(case, kind) or (None, ""))[0]) for kind in KINDS]
