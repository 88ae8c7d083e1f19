"""SMS and e-mail lists of a notice run for a provider (CSV), and the texts from templates given as data.

Templates are `str.format` texts with named placeholders only (`{debt}`); an unknown placeholder, a format
spec or a conversion is refused when the run is requested (422 naming the template). An SMS template must fit
`GISGW_MONITORING_NOTICE_SMS_MAX_LENGTH` characters with every placeholder at its longest (the run's own
payment details, a 30-character account number, amounts up to 999 999 999,99 ₽), so no debtor's text is cut.

Phones and e-mails are personal data: the lists are served with the `pii` scope only and nothing here logs.
Debtors without a phone (e-mail) are not listed and are counted: the run's `contacts` and the list's header
`X-Notices-Without-Contact`.
"""

from __future__ import annotations

import csv
import io
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account
from app.db.models.monitoring import Notice, NoticeRun
from app.domain.kernel import errors
from app.domain.monitoring.documents import rub
from app.domain.monitoring.notices import Addressee, PaymentDetails

#: Placeholders of every template.
COMMON = ("account_number", "debt", "penalties", "total", "on_date", "months_overdue", "payee", "phone")
#: Placeholders of the e-mail templates only (an SMS carries no name or address).
EMAIL_ONLY = ("name", "address")

DEFAULT_SMS = "Долг по л/с {account_number}: {debt} на {on_date}. Оплатите, иначе суд и ограничение услуг."
DEFAULT_EMAIL_SUBJECT = "Уведомление о задолженности по лицевому счёту № {account_number}"
DEFAULT_EMAIL_BODY = (
    "Здравствуйте!\n\nПо состоянию на {on_date} по лицевому счёту № {account_number} числится задолженность "
    "за жилищно-коммунальные услуги: {debt}, пени: {penalties}. Уведомление — во вложении.\n\n{payee}"
)

#: Each placeholder at its longest, for the SMS length check (the payment details come from the run).
_LONGEST = {
    "account_number": "X" * 30,
    "debt": rub(Decimal("999999999.99")),
    "penalties": rub(Decimal("999999999.99")),
    "total": rub(Decimal("999999999.99")),
    "on_date": "31.12.2099",
    "months_overdue": "600",
}


def _placeholders(text: str, allowed: Sequence[str]) -> str:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone brace
        raise PydanticCustomError(
            "template_syntax", "unbalanced braces: write {{ and }} for literal ones"
        ) from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            raise PydanticCustomError(
                "unknown_placeholder",
                "unknown placeholder {name}; known: {known}",
                {"name": name, "known": ", ".join(allowed)},
            )
        if spec or conversion:
            raise PydanticCustomError("template_syntax", "placeholders take no format spec or conversion")
    return text


class NoticeTemplates(BaseModel):
    """The SMS and e-mail texts of a run's notices, with `{placeholders}` (validated; see the module)."""

    model_config = ConfigDict(extra="forbid")

    sms: str = Field(
        DEFAULT_SMS,
        min_length=1,
        max_length=1000,
        description=f"SMS text; placeholders: {', '.join(COMMON)}",
    )
    email_subject: str = Field(
        DEFAULT_EMAIL_SUBJECT,
        min_length=1,
        max_length=300,
        description=f"e-mail subject; placeholders: {', '.join(COMMON + EMAIL_ONLY)}",
    )
    email_body: str = Field(
        DEFAULT_EMAIL_BODY,
        min_length=1,
        max_length=10_000,
        description="e-mail text (the notice PDF is attached); placeholders: "
        + ", ".join(COMMON + EMAIL_ONLY),
    )

    @field_validator("sms")
    @classmethod
    def _sms(cls, value: str) -> str:
        return _placeholders(value, COMMON)

    @field_validator("email_subject", "email_body")
    @classmethod
    def _email(cls, value: str) -> str:
        return _placeholders(value, COMMON + EMAIL_ONLY)


def check_sms_length(templates: NoticeTemplates, payment: PaymentDetails, max_length: int, path: str) -> None:
    """Refuse an SMS template longer than `max_length` with its placeholders at their longest (422)."""
    longest = len(templates.sms.format(**_LONGEST, payee=payment.payee, phone=payment.phone or ""))
    if longest > max_length:
        raise errors.RuleViolation(
            f"The SMS text may reach {longest} characters; at most {max_length} are allowed.",
            errors=[
                errors.FieldProblem(
                    path, "sms_too_long", f"up to {longest} characters with long values; limit {max_length}"
                )
            ],
            rule="sms_too_long",
        )


def run_templates(run: NoticeRun) -> NoticeTemplates:
    """Return the templates a run was requested with (the defaults for runs without)."""
    return NoticeTemplates.model_validate(run.templates or {})


def values(run: NoticeRun, notice: Notice, to: Addressee | None = None) -> dict[str, str]:
    """Return one notice's placeholder values."""
    pay = run.payment_details
    out = {
        "account_number": notice.account_number,
        "debt": rub(notice.debt),
        "penalties": rub(notice.penalties),
        "total": rub(Decimal(notice.debt) + Decimal(notice.penalties)),
        "on_date": f"{run.on_date:%d.%m.%Y}",
        "months_overdue": str(notice.months_overdue),
        "payee": str(pay.get("payee") or ""),
        "phone": str(pay.get("phone") or ""),
    }
    if to is not None:
        out.update(name=to.name, address=to.address)
    return out


@dataclass(frozen=True)
class Contact:
    """An account's phone and e-mail (personal data)."""

    phone: str | None
    email: str | None


async def contacts(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
    """Return the current phone and e-mail of each account."""
    out: dict[uuid.UUID, Contact] = {}
    for start in range(0, len(account_ids), 500):
        part = account_ids[start : start + 500]
        rows = await session.execute(
            select(Account.id, Account.phone, Account.email).where(Account.id.in_(part))
        )
        out.update({a: Contact(p, e) for a, p, e in rows.all()})
    return out


def _ready(run: NoticeRun) -> None:
    if run.status != "done":
        raise errors.ConflictError(
            f"The notice run is {run.status}; its lists are ready when it is done.",
            errors=[errors.FieldProblem("path.run_id", "run_not_done", f"status {run.status}")],
            rule="run_not_done",
        )


def sms_csv(
    run: NoticeRun, notices: Sequence[Notice], reach: Mapping[uuid.UUID, Contact], max_length: int
) -> tuple[str, int]:
    """Return the SMS list (UTF-8 with BOM, `;`) and how many notices it leaves out for want of a phone."""
    _ready(run)
    template = run_templates(run).sms
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(("seq", "account_number", "phone", "text", "notice_id"))
    missing = 0
    for n in notices:
        contact = reach.get(n.account_id)
        if contact is None or not contact.phone:
            missing += 1
            continue
        text = template.format(**values(run, n))
        writer.writerow((n.seq, n.account_number, contact.phone, text[:max_length], n.id))
    return "\ufeff" + buffer.getvalue(), missing


def email_csv(
    run: NoticeRun,
    notices: Sequence[Notice],
    reach: Mapping[uuid.UUID, Contact],
    addressees: Mapping[Any, Addressee],
) -> tuple[str, int]:
    """Return the e-mail list (UTF-8 with BOM, `;`) and how many notices lack an e-mail (not listed)."""
    _ready(run)
    templates = run_templates(run)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(("seq", "account_number", "email", "subject", "text", "notice_id"))
    missing = 0
    for n in notices:
        contact = reach.get(n.account_id)
        if contact is None or not contact.email:
            missing += 1
            continue
        data = values(run, n, addressees.get(n.account_id, Addressee("", "")))
        writer.writerow(
            (
                n.seq,
                n.account_number,
                contact.email,
                templates.email_subject.format(**data),
                templates.email_body.format(**data),
                n.id,
            )
        )
    return "\ufeff" + buffer.getvalue(), missing


def email_texts(run: NoticeRun, notice: Notice, to: Addressee) -> tuple[str, str]:
    """Return one notice's e-mail subject and text from the run's templates."""
    templates = run_templates(run)
    data = values(run, notice, to)
    return templates.email_subject.format(**data), templates.email_body.format(**data)


__all__ = [
    "Contact",
    "NoticeTemplates",
    "check_sms_length",
    "contacts",
    "email_csv",
    "email_texts",
    "sms_csv",
    "values",
]
