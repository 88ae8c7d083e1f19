"""The dashboard's Russian conventions (numbers, money, dates, months) and its chart geometry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.api.charts import HEIGHT, ageing_chart, trend_chart
from app.api.i18n import (
    LABELS,
    NARROW_NBSP,
    NBSP,
    Translator,
    format_date,
    format_datetime,
    format_money,
    format_month,
    format_number,
    format_percent,
)
from app.domain.monitoring.figures import BUCKET_NAMES
from app.domain.monitoring.trend import DebtPoint, point_of


@pytest.mark.parametrize(
    ("value", "places", "ru", "en"),
    [
        (Decimal("1234567.89"), 2, f"1{NARROW_NBSP}234{NARROW_NBSP}567,89", "1,234,567.89"),
        (Decimal("0.005"), 2, "0,01", "0.01"),  # half up, as accountants round
        (Decimal("-1000"), 2, f"-1{NARROW_NBSP}000,00", "-1,000.00"),
        (999, 0, "999", "999"),
        (1000, 0, f"1{NARROW_NBSP}000", "1,000"),
        (Decimal("123456.4"), 0, f"123{NARROW_NBSP}456", "123,456"),
    ],
)
def test_format_number_in_both_languages(value: Decimal | int, places: int, ru: str, en: str) -> None:
    assert format_number(value, "ru", places) == ru
    assert format_number(value, "en", places) == en


def test_format_money_dates_and_months() -> None:
    assert format_money(Decimal("1234567.89"), "ru") == f"1{NARROW_NBSP}234{NARROW_NBSP}567,89{NBSP}₽"
    assert format_money(0, "en") == f"0.00{NBSP}₽"
    assert format_date(date(2026, 12, 5), "ru") == "05.12.2026"
    assert format_date(date(2026, 12, 5), "en") == "2026-12-05"
    assert format_date(None, "ru") == "—"
    # 21:30 UTC is already the next day in Moscow (UTC+3).
    assert format_datetime(datetime(2026, 12, 4, 21, 30, tzinfo=UTC), "ru") == "05.12.2026 00:30 МСК"
    assert format_month(date(2026, 12, 1), "ru") == "декабрь 2026"
    assert format_month(date(2026, 5, 1), "en") == "May 2026"
    assert format_percent(Decimal("0.9512"), "ru") == f"95,1{NBSP}%"
    assert format_percent(None, "en") == "—"


def test_every_label_has_both_languages() -> None:
    assert all(set(entry) == {"ru", "en"} and all(entry.values()) for entry in LABELS.values())
    assert Translator("ru").t("no-such-label") == "no-such-label"


def _point(month: date, debt: str, **ages: str) -> DebtPoint:
    totals: dict[str, object] = {"debt": debt, "debtors": 2, **dict.fromkeys(BUCKET_NAMES, "0"), **ages}
    return point_of(month, totals)


def test_ageing_chart_scales_bars_to_the_largest_bucket() -> None:
    point = _point(date(2026, 11, 1), "1500", age_1="1000", age_13_36="500")
    chart = ageing_chart(point, Translator("ru"))
    assert [b.key for b in chart.bars] == list(BUCKET_NAMES)
    heights = {b.key: b.height for b in chart.bars}
    assert heights["age_1"] == pytest.approx(2 * heights["age_13_36"])
    assert heights["age_2_3"] == 0 and all(b.y + b.height == chart.baseline for b in chart.bars)
    assert chart.bars[0].label == "до 1 мес." and chart.bars[0].value == f"1{NARROW_NBSP}000,00{NBSP}₽"


def test_trend_chart_draws_one_point_per_month_oldest_left() -> None:
    points = [_point(date(2024 + (m - 1) // 12, (m - 1) % 12 + 1, 1), str(100 * m)) for m in range(1, 37)]
    chart = trend_chart(points, Translator("en"))
    assert len(chart.points) == 36
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and len(set(xs)) == 36
    assert chart.points[-1].y < chart.points[0].y  # larger debt is drawn higher
    assert 0 <= min(p.y for p in chart.points) and max(p.y for p in chart.points) <= HEIGHT
    assert chart.points[0].label == "Jan 24" and chart.points[-1].show_label
    assert sum(p.show_label for p in chart.points) <= 12
    assert len(chart.polyline.split()) == 36
    single = trend_chart(points[:1], Translator("ru"))
    assert len(single.points) == 1 and single.points[0].label == "янв 24"


@pytest.mark.parametrize(
    ("n", "ru", "en"),
    [
        (0, "0 запросов", "0 requests"),
        (1, "1 запрос", "1 request"),
        (3, "3 запроса", "3 requests"),
        (11, "11 запросов", "11 requests"),
        (14, "14 запросов", "14 requests"),
        (21, "21 запрос", "21 requests"),
        (1022, f"1{NARROW_NBSP}022 запроса", "1,022 requests"),
    ],
)
def test_count_takes_the_plural_form(n: int, ru: str, en: str) -> None:
    assert Translator("ru").count(n, "requests") == ru
    assert Translator("en").count(n, "requests") == en
