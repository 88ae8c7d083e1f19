"""The dashboard's language: Russian by default (the utilities' staff read it), English as an option.

Numbers, money and dates follow Russian conventions: `1 234 567,89 ₽` (groups split by a narrow no-break space
U+202F, decimal comma, a no-break space before the sign), dates `05.12.2026`, months by their Russian names.
Formatting is done here with the standard library rather than Babel: the handful of patterns the page needs is
fixed, and CLDR's Russian data groups digits with U+00A0, not the narrow space Russian typography
(and this page) uses, so Babel would need post-processing anyway.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"
_MOSCOW = ZoneInfo("Europe/Moscow")

MONTHS_RU = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)
MONTHS_RU_SHORT = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_number(value: Decimal | int | float, lang: Lang, places: int = 0) -> str:
    """Format a number with grouped thousands and `places` decimals (half up) in the language's convention."""
    quant = Decimal(1).scaleb(-places) if places else Decimal(1)
    number = Decimal(str(value)).quantize(quant, rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, frac = f"{abs(number):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    if lang == "ru":
        text = NARROW_NBSP.join(groups) + ("," + frac if frac else "")
        return sign + text
    return sign + ",".join(groups) + ("." + frac if frac else "")


def format_money(value: Decimal | int | float, lang: Lang) -> str:
    """Format roubles with kopecks: `1 234 567,89 ₽` (ru), `1,234,567.89 ₽` (en)."""
    return f"{format_number(value, lang, 2)}{NBSP}₽"


def format_percent(value: Decimal | float | None, lang: Lang) -> str:
    """Format a share (0..1) as a percentage with one decimal; a dash when unknown."""
    if value is None:
        return "—"
    return f"{format_number(Decimal(str(value)) * 100, lang, 1)}{NBSP}%"


def format_date(value: date | None, lang: Lang) -> str:
    """Format a date: `05.12.2026` (ru), `2026-12-05` (en); a dash when unknown."""
    if value is None:
        return "—"
    return value.strftime("%d.%m.%Y") if lang == "ru" else value.isoformat()


def format_datetime(value: datetime | None, lang: Lang) -> str:
    """Format a moment in Moscow time: `05.12.2026 09:30 МСК` (ru), `2026-12-05 09:30 MSK` (en)."""
    if value is None:
        return "—"
    local = value.astimezone(_MOSCOW)
    return f"{format_date(local.date(), lang)} {local:%H:%M} {'МСК' if lang == 'ru' else 'MSK'}"


def format_month(value: date, lang: Lang) -> str:
    """Name a month with its year: `декабрь 2026` (ru), `December 2026` (en)."""
    names = MONTHS_RU if lang == "ru" else MONTHS_EN
    return f"{names[value.month - 1]} {value.year}"


def format_month_short(value: date, lang: Lang) -> str:
    """Name a month briefly for a chart axis: `дек 26` (ru), `Dec 26` (en)."""
    name = MONTHS_RU_SHORT[value.month - 1] if lang == "ru" else MONTHS_EN[value.month - 1][:3]
    return f"{name} {value:%y}"


def plural_ru(n: int, one: str, few: str, many: str) -> str:
    """Pick the Russian plural form for `n`: 1 запрос, 2 запроса, 5 запросов (11–14 take `many`)."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


#: Counted nouns: Russian one / few / many, English one / many.
NOUNS: dict[str, tuple[tuple[str, str, str], tuple[str, str]]] = {
    "requests": (("запрос", "запроса", "запросов"), ("request", "requests")),
    "debtors": (("должник", "должника", "должников"), ("debtor", "debtors")),
}

LABELS: dict[str, dict[Lang, str]] = {
    "title": {"ru": "gisgw · оперативная сводка", "en": "gisgw · operations"},
    "key": {"ru": "ключ", "en": "key"},
    "sign_out": {"ru": "Выйти", "en": "Sign out"},
    "no_orgs": {"ru": "Этот ключ не видит ни одной организации.", "en": "This key sees no organisations."},
    "section_requests": {"ru": "Запросы о задолженности", "en": "Debt requests"},
    "status.received": {"ru": "получены", "en": "received"},
    "status.prepared": {"ru": "подготовлены", "en": "prepared"},
    "status.sent": {"ru": "отправлены", "en": "sent"},
    "status.revoked": {"ru": "отозваны", "en": "revoked"},
    "status.archived": {"ru": "в архиве", "en": "archived"},
    "at_risk": {"ru": "срок под угрозой (≤ 1 рабочий день)", "en": "deadline at risk (≤ 1 working day)"},
    "overdue": {"ru": "просрочены", "en": "overdue"},
    "pending_exchanges": {"ru": "обмены с ГИС в работе", "en": "pending GIS exchanges"},
    "last_fetch": {"ru": "последняя загрузка", "en": "last fetch"},
    "last_send": {"ru": "последняя отправка", "en": "last send"},
    "never": {"ru": "не было", "en": "never"},
    "answers_per_day": {"ru": "Ответы по дням", "en": "Answers per day"},
    "recent_errors": {"ru": "Последние ошибки ГИС", "en": "Recent GIS errors"},
    "none": {"ru": "нет", "en": "none"},
    "when": {"ru": "когда", "en": "when"},
    "operation": {"ru": "операция", "en": "operation"},
    "code": {"ru": "код", "en": "code"},
    "message": {"ru": "сообщение", "en": "message"},
    "section_monitoring": {"ru": "Мониторинг задолженности", "en": "Debt monitoring"},
    "ageing": {"ru": "Задолженность по срокам", "en": "Debt by age"},
    "trend": {"ru": "Динамика задолженности", "en": "Debt trend"},
    "no_snapshots": {
        "ru": "Снимков мониторинга ещё нет.",
        "en": "No monitoring snapshots yet.",
    },
    "debt_at": {"ru": "Задолженность на конец месяца", "en": "Debt at month end"},
    "max": {"ru": "макс.", "en": "max"},
    "collection_rate": {"ru": "собираемость", "en": "collection rate"},
    "age_1": {"ru": "до 1 мес.", "en": "≤ 1 month"},
    "age_2_3": {"ru": "2–3 мес.", "en": "2–3 months"},
    "age_4_6": {"ru": "4–6 мес.", "en": "4–6 months"},
    "age_7_12": {"ru": "7–12 мес.", "en": "7–12 months"},
    "age_13_36": {"ru": "13–36 мес.", "en": "13–36 months"},
    "age_over_36": {"ru": "более 36 мес.", "en": "over 36 months"},
    "section_court": {"ru": "Судебная работа", "en": "Court work"},
    "stage": {"ru": "этап", "en": "stage"},
    "count": {"ru": "количество", "en": "count"},
    "amount": {"ru": "сумма", "en": "amount"},
    "funnel.debtors": {"ru": "должники", "en": "debtors"},
    "funnel.ready": {"ru": "готовы к подаче", "en": "ready"},
    "funnel.packaged": {"ru": "пакеты сформированы", "en": "packaged"},
    "funnel.filed": {"ru": "заявления поданы", "en": "filed"},
    "funnel.order_issued": {"ru": "приказы вынесены", "en": "order issued"},
    "funnel.in_force": {"ru": "вступили в силу", "en": "in force"},
    "funnel.enforcement": {"ru": "на исполнении (ФССП)", "en": "enforcement"},
    "funnel.paid": {"ru": "оплачено", "en": "paid"},
    "source.monitoring_snapshot": {"ru": "по снимку мониторинга", "en": "from the monitoring snapshot"},
    "source.readiness_run": {"ru": "по проверке готовности", "en": "from the readiness run"},
    "source.none": {"ru": "нет снимка и проверки за месяц", "en": "no snapshot or readiness run this month"},
    "month": {"ru": "месяц", "en": "month"},
    "section_recovery": {"ru": "Соглашения и списание", "en": "Agreements and write-off"},
    "agreements.active": {"ru": "соглашения действуют", "en": "agreements active"},
    "agreements.breached": {
        "ru": "соглашения нарушены в этом месяце",
        "en": "agreements breached this month",
    },
    "agreements.completed": {"ru": "соглашения исполнены", "en": "agreements completed"},
    "write_off.draft": {"ru": "списание: черновики (актов)", "en": "write-off drafts (acts)"},
    "write_off.approved": {"ru": "списание: утверждено (актов)", "en": "write-off approved (acts)"},
    "write_off.posted": {"ru": "списание: проведено (актов)", "en": "write-off posted (acts)"},
    "show": {"ru": "Показать", "en": "Show"},
    "language": {"ru": "English", "en": "Русский"},
}


class Translator:
    """The page's helpers for one language: `t(key)` and the formatters, handed to the template."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang

    def t(self, key: str) -> str:
        """Return the label in the page's language (the key itself when unknown, so a gap shows)."""
        entry = LABELS.get(key)
        return entry[self.lang] if entry else key

    def count(self, n: int, noun: str) -> str:
        """Format a count with its noun in the right form: `5 запросов`, `1 request`."""
        ru, en = NOUNS[noun]
        word = plural_ru(n, *ru) if self.lang == "ru" else en[0 if n == 1 else 1]
        return f"{format_number(n, self.lang)} {word}"

    def money(self, value: Decimal | int | float) -> str:
        """Format roubles."""
        return format_money(value, self.lang)

    def number(self, value: Decimal | int | float, places: int = 0) -> str:
        """Format a number."""
        return format_number(value, self.lang, places)

    def percent(self, value: Decimal | float | None) -> str:
        """Format a share as a percentage."""
        return format_percent(value, self.lang)

    def day(self, value: date | None) -> str:
        """Format a date."""
        return format_date(value, self.lang)

    def moment(self, value: datetime | None) -> str:
        """Format a moment in Moscow time."""
        return format_datetime(value, self.lang)

    def month(self, value: date) -> str:
        """Name a month with its year."""
        return format_month(value, self.lang)
