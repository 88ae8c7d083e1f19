"""Immutable configs of the legal rules the calculations depend on, with their documented defaults.

Every item marked [U] (unconfirmed) in `shared/docs/domain-rules.md` is a field here, so a settings layer can
override it without touching the calculations. The dataclasses are plain and frozen on purpose: they are
passed into pure functions and may be shared between requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Literal


@dataclass(frozen=True, slots=True)
class DateRange:
    """A closed range of dates; whether `end` itself counts is decided by the rule that uses it."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("DateRange end precedes its start")

    def contains(self, d: date, *, end_inclusive: bool = True) -> bool:
        """Tell whether `d` lies in the range."""
        return self.start <= d <= self.end if end_inclusive else self.start <= d < self.end


def _frozen_overrides(overrides: Mapping[date, bool]) -> Mapping[date, bool]:
    return MappingProxyType(dict(overrides))


@dataclass(frozen=True, slots=True)
class CalendarRules:
    """Production-calendar overrides (date → working?) applied on top of `holidays.RU` (domain-rules §8)."""

    # A new government decree is usually published in autumn; until the holidays package catches up, the
    # operator adds its transfers here. Empty by default: holidays>=0.107 matches the 2024-2026 decrees.
    overrides: Mapping[date, bool] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        # Copy into a read-only view so a caller mutating its dict cannot change a shared config.
        object.__setattr__(self, "overrides", _frozen_overrides(self.overrides))

    def __hash__(self) -> int:
        return hash(frozenset(self.overrides.items()))


@dataclass(frozen=True, slots=True)
class Moratorium:
    """A period without penalty accrual; `debts_before` limits it to charges for periods starting earlier."""

    period: DateRange
    # ПП № 497 (bankruptcy moratorium) covers only obligations that arose before it began;
    # ПП № 424 covers all.
    debts_before: date | None = None


# ПП № 424 of 02.04.2020: no ЖКУ penalties from 2020-04-06 to 2021-01-01.
MORATORIUM_2020 = Moratorium(DateRange(date(2020, 4, 6), date(2021, 1, 1)))
# ПП № 497 of 28.03.2022: bankruptcy moratorium 2022-04-01 → 2022-10-01, for debts that arose before it.
MORATORIUM_2022 = Moratorium(DateRange(date(2022, 4, 1), date(2022, 10, 1)), debts_before=date(2022, 4, 1))

# The 9.5 % cap on the key rate (the rate of 27.02.2022): ПП № 474 of 26.03.2022 and ПП № 1681 of 23.09.2022
# (to 2022-12-31), ПП № 2382 of 29.12.2023 (2023-2024), ПП № 329 of 18.03.2025 (2025-01-01 → 2027-01-01,
# closing the January-March 2025 gap). "Until 2027-01-01" is read as the last capped day being 2026-12-31.
DEFAULT_CAP_PERIODS: tuple[DateRange, ...] = (
    DateRange(date(2022, 2, 28), date(2022, 12, 31)),
    DateRange(date(2023, 1, 1), date(2024, 12, 31)),
    DateRange(date(2025, 1, 1), date(2026, 12, 31)),
)


@dataclass(frozen=True, slots=True)
class PenaltyRules:
    """Parameters of the ЖК РФ ст. 155 ч. 14 penalty (пени) calculation (domain-rules §5)."""

    cap_rate: Decimal = Decimal("0.095")
    cap_periods: tuple[DateRange, ...] = DEFAULT_CAP_PERIODS
    moratoria: tuple[Moratorium, ...] = (MORATORIUM_2020, MORATORIUM_2022)
    # [U] Whether a moratorium's end date is itself penalty-free. Default True: the conservative reading,
    # which never claims a penalty a court could strike out.
    moratorium_end_inclusive: bool = True
    grace_days: int = 30  # days 1-30 after the due date: no penalty
    low_rate_last_day: int = 90  # days 31-90: 1/300 of the key rate; from day 91: 1/130
    low_divisor: int = 300
    high_divisor: int = 130
    # 177-ФЗ of 24.06.2025: bills fall due on the 15th of the next month from 2026-03-01 (the 10th before).
    due_day_change_date: date = date(2026, 3, 1)
    due_day_before: int = 10
    due_day_after: int = 15
    # [U] Due day of the bills for the month just before the change (February 2026). Default 10: the
    # obligation for February arose before 177-ФЗ took effect and a law has no retroactive force (ГК ст. 4);
    # sources conflict, so it is a setting.
    feb_2026_due_day: int = 10


@dataclass(frozen=True, slots=True)
class DutyRules:
    """Parameters of the state duty (госпошлина) calculation, НК ст. 333.19 (domain-rules §4)."""

    # [U] 259-ФЗ applies to filings from 8 or 9 September 2024; the court site says the 9th.
    effective_date: date = date(2024, 9, 9)
    # [U] Whole roubles, half up (the НК ст. 52 п. 6 rounding principle); "kopeck" keeps kopecks.
    rounding: Literal["rouble", "kopeck"] = "rouble"
    # ГПК ст. 121: a court order only for claims up to 500,000 ₽.
    court_order_limit: Decimal = Decimal("500000")


@dataclass(frozen=True, slots=True)
class LimitationRules:
    """Parameters of the limitation period (исковая давность), ГК ст. 196, 200 (domain-rules §6)."""

    years: int = 3


@dataclass(frozen=True, slots=True)
class ObjectionRules:
    """How the 10-day term for objections to a court order is counted (ГПК ст. 128, 107; domain-rules §3)."""

    # [U] ГПК ст. 107 ч. 3 excludes non-working days from terms counted in days; some count calendar days.
    mode: Literal["working", "calendar"] = "working"
    days: int = 10
