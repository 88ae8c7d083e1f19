"""GIS notice texts: the template's placeholders and length are checked before anything is queued."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest

from app.domain.monitoring.gis_notices import DEFAULT_TEMPLATE, MAX_TEXT, notice_text, template_problems


@pytest.mark.parametrize(
    ("template", "rule"),
    [
        ("{snils}", "template_placeholder"),
        ("{0}", "template_placeholder"),
        ("{debt", "template_syntax"),
        ("   ", "template_length"),
        ("x" * (MAX_TEXT - 5) + "{payee}", "template_length"),
    ],
)
def test_template_problems_name_the_rule(template: str, rule: str) -> None:
    problems = template_problems(template)
    assert [(p.path, p.rule) for p in problems] == [("body.template", rule)]


def test_default_template_renders_the_notice() -> None:
    assert template_problems(DEFAULT_TEMPLATE) == []
    notice = SimpleNamespace(
        account_number="A-17", debt=Decimal("12345.6"), penalties=Decimal("10"), months_overdue=4
    )
    run = SimpleNamespace(
        on_date=date(2026, 3, 31),
        payment_details={"payee": "ООО «УК»", "inn": "7701234567", "bank": "ПАО Банк", "bik": "044525225",
                         "account": "40702810938000000001"},
    )  # fmt: skip
    text = notice_text(cast(Any, notice), cast(Any, run), None)
    assert "№ A-17 на 31.03.2026" in text and "12 345,60 ₽" in text and "пени 10,00 ₽" in text
    assert "ИНН 7701234567" in text and "БИК 044525225" in text
    assert notice_text(cast(Any, notice), cast(Any, run), "{months_overdue} мес.") == "4 мес."
