"""State duty (госпошлина) on claims and court-order applications, НК РФ ст. 333.19 (domain-rules §4).

Two regimes, chosen by the filing date against `DutyRules.effective_date`: the 259-ФЗ bands (filings from
September 2024) and the earlier bands. A court-order application costs 50 % of the duty on a claim of the same
value in both (НК ст. 333.19 п. 1 пп. 2). Rounding point: the duty is computed exactly, halved for an order,
and rounded once at the end, half up, to whole roubles or kopecks as `DutyRules.rounding` says.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from app.domain.kernel.errors import RuleViolation
from app.domain.kernel.rules import DutyRules

DEFAULT_DUTY_RULES = DutyRules()

# (lower bound, base duty, percentage over the bound) in ascending order; the last band whose bound the
# claim exceeds applies. Both tables are continuous, so the duty never drops as the claim grows.
_BANDS_259_FZ: tuple[tuple[Decimal, Decimal, Decimal], ...] = (
    (Decimal("0"), Decimal("4000"), Decimal("0")),
    (Decimal("100000"), Decimal("4000"), Decimal("0.03")),
    (Decimal("300000"), Decimal("10000"), Decimal("0.025")),
    (Decimal("500000"), Decimal("15000"), Decimal("0.02")),
    (Decimal("1000000"), Decimal("25000"), Decimal("0.01")),
    (Decimal("3000000"), Decimal("45000"), Decimal("0.007")),
)
# The shared domain rules list the new bands only up to 8,000,000 ₽; larger claims are refused rather than
# priced from an unverified table (ЖКУ claims of that size do not occur in this gateway).
_MAX_CLAIM_259_FZ = Decimal("8000000")

# НК ст. 333.19 п. 1 пп. 1 before 259-ФЗ: 4 % with a 400 ₽ minimum up to 20,000 ₽, capped at 60,000 ₽.
_BANDS_OLD: tuple[tuple[Decimal, Decimal, Decimal], ...] = (
    (Decimal("0"), Decimal("0"), Decimal("0.04")),
    (Decimal("20000"), Decimal("800"), Decimal("0.03")),
    (Decimal("100000"), Decimal("3200"), Decimal("0.02")),
    (Decimal("200000"), Decimal("5200"), Decimal("0.01")),
    (Decimal("1000000"), Decimal("13200"), Decimal("0.005")),
)
_OLD_MIN = Decimal("400")
_OLD_MAX = Decimal("60000")


def _banded(amount: Decimal, bands: tuple[tuple[Decimal, Decimal, Decimal], ...]) -> Decimal:
    bound, base, share = next(band for band in reversed(bands) if amount > band[0])
    return base + (amount - bound) * share


def _round(value: Decimal, rules: DutyRules) -> Decimal:
    step = Decimal("1") if rules.rounding == "rouble" else Decimal("0.01")
    return value.quantize(step, rounding=ROUND_HALF_UP)


def _exact_claim_duty(amount: Decimal, filing_date: date | None, rules: DutyRules) -> Decimal:
    if amount <= 0:
        raise RuleViolation(detail="The claim amount must be positive.", rule="duty")
    if filing_date is None or filing_date >= rules.effective_date:
        if amount > _MAX_CLAIM_259_FZ:
            raise RuleViolation(
                detail="State duty is only computed for claims up to 8,000,000 ₽.", rule="duty"
            )
        return _banded(amount, _BANDS_259_FZ)
    return min(max(_banded(amount, _BANDS_OLD), _OLD_MIN), _OLD_MAX)


def claim_duty(
    amount: Decimal, *, filing_date: date | None = None, rules: DutyRules = DEFAULT_DUTY_RULES
) -> Decimal:
    """Return the duty on a property claim of `amount` ₽ (current bands unless filed before them)."""
    return _round(_exact_claim_duty(amount, filing_date, rules), rules)


def court_order_duty(amount: Decimal, filing_date: date, rules: DutyRules = DEFAULT_DUTY_RULES) -> Decimal:
    """Return the state duty on a court-order application for `amount` ₽ filed on `filing_date`.

    50 % of the claim duty: at least 2,000 ₽ under 259-ФЗ (200 ₽ before it), at most 7,500 ₽ at the
    500,000 ₽ court-order limit (ГПК ст. 121), above which the claim is refused.
    """
    if amount > rules.court_order_limit:
        raise RuleViolation(
            detail=f"A court order covers claims up to {rules.court_order_limit:,.0f} ₽; file a lawsuit.",
            rule="court_order_limit",
        )
    return _round(_exact_claim_duty(amount, filing_date, rules) / 2, rules)
