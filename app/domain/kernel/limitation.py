"""Limitation period (исковая давность) for monthly ЖКУ charges, ГК ст. 196, 200 (domain-rules §6).

The term runs separately for each monthly payment (Пленум ВС № 43 of 29.09.2015, п. 24) from the day after its
due date. Not modelled ([U]): suspension while a court-order case is pending and the 6-month extension after
its cancellation (ГК ст. 204); the ГК ст. 193 shift of a last day that falls on a non-working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Protocol, TypeVar

from app.domain.kernel.rules import LimitationRules

DEFAULT_LIMITATION = LimitationRules()


class HasDueDate(Protocol):
    """Anything with the due date of one monthly payment."""

    @property
    def due_date(self) -> date: ...


T = TypeVar("T", bound=HasDueDate)


def _add_years(d: date, years: int) -> date:
    # ГК ст. 192 п. 3: a term ending in a month without the corresponding day ends on its last day (29 Feb).
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def limitation_expires(due_date: date, rules: LimitationRules = DEFAULT_LIMITATION) -> date:
    """Return the last day on which a payment due on `due_date` can still be claimed in time.

    The term starts the day after the due date (ГК ст. 200: the creditor learns of the breach then) and ends
    on the corresponding day `years` later (ГК ст. 191, 192): due 2021-01-10 → claimable through 2024-01-11.
    """
    return _add_years(due_date + timedelta(days=1), rules.years)


def is_time_barred(due_date: date, on_date: date, rules: LimitationRules = DEFAULT_LIMITATION) -> bool:
    """Tell whether a payment due on `due_date` is past limitation on `on_date`."""
    return on_date > limitation_expires(due_date, rules)


def split_by_limitation(
    months: Iterable[T], on_date: date, rules: LimitationRules = DEFAULT_LIMITATION
) -> tuple[list[T], list[T]]:
    """Split monthly items into (claimable, expired) as of `on_date`, keeping their order."""
    claimable: list[T] = []
    expired: list[T] = []
    for item in months:
        (expired if is_time_barred(item.due_date, on_date, rules) else claimable).append(item)
    return claimable, expired
