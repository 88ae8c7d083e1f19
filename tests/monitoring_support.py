"""The hand-computed monitoring fixture: seven accounts in two houses, figures at the end of March 2026.

At 2026-03-31 (due dates given explicitly; months overdue = months from the due date's month, plus one):
- A1 owner, H1: Dec 1000 unpaid (due Jan → 3 mo), Jan 500 of 1000 unpaid (due Feb → 2 mo), Feb paid, Mar 1000
  charged 200 paid (due Apr: not overdue) → debt 1500 in 2–3.
- A2 social tenant, H1: Jan 2022 2000 (due Feb 2022 → 50 mo, > 36), Jun 2025 300 (due Jul → 9 mo, 7–12),
  Mar 500 paid 500 → debt 2300.
- A3 owner, H2: Feb 800 unpaid (due Mar → 1 mo), Mar 800 charged 1600 paid: the credit covers Feb → no debt.
- A4 no category (unknown), H2: Oct 2025 100 (due Nov → 5 mo, 4–6), Mar 100 unpaid (not due) → debt 100.
- A5 owner, H2: billed from April only → not counted in March.
- A6 legal entity, H1: Mar 2024 5000 (due Apr 2024 → 24 mo, 13–36), Mar 1000 paid 1000 → debt 5000.
- A7 owner, H1: Jan 0.01 unpaid (2–3) → debt 0.01, not a debtor (debt must exceed 0.01).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

H1 = uuid.UUID("11111111-1111-4111-8111-111111111111")
H2 = uuid.UUID("22222222-2222-4222-8222-222222222222")
MONTH = date(2026, 3, 1)


def _m(period: str, charged: str, paid: str, due: str) -> dict[str, Any]:
    return {"period": period, "charged": charged, "paid": paid, "due_date": due}


def _row(number: str, house: uuid.UUID, category: str | None, months: list[dict[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account_number": number,
        "payer": {"kind": "person", "last_name": "Иванов", "first_name": "Иван"},
        "premises": [{"fias_house_guid": str(house), "number": number[-1]}],
        "ledger": months,
    }
    if category is not None:
        row["consumer_category"] = category
    return row


def monitoring_rows() -> list[dict[str, Any]]:
    """Return the fixture's import rows."""
    return [
        _row(
            "A1",
            H1,
            "owner",
            [
                _m("2025-12-01", "1000", "0", "2026-01-10"),
                _m("2026-01-01", "1000", "500", "2026-02-10"),
                _m("2026-02-01", "1000", "1000", "2026-03-10"),
                _m("2026-03-01", "1000", "200", "2026-04-10"),
            ],
        ),
        _row(
            "A2",
            H1,
            "social_tenant",
            [
                _m("2022-01-01", "2000", "0", "2022-02-10"),
                _m("2025-06-01", "300", "0", "2025-07-10"),
                _m("2026-03-01", "500", "500", "2026-04-10"),
            ],
        ),
        _row(
            "A3",
            H2,
            "owner",
            [_m("2026-02-01", "800", "0", "2026-03-10"), _m("2026-03-01", "800", "1600", "2026-04-10")],
        ),
        _row(
            "A4",
            H2,
            None,
            [_m("2025-10-01", "100", "0", "2025-11-10"), _m("2026-03-01", "100", "0", "2026-04-10")],
        ),
        _row("A5", H2, "owner", [_m("2026-04-01", "700", "0", "2026-05-10")]),
        _row(
            "A6",
            H1,
            "legal_entity",
            [_m("2024-03-01", "5000", "0", "2024-04-10"), _m("2026-03-01", "1000", "1000", "2026-04-10")],
        ),
        _row("A7", H1, "owner", [_m("2026-01-01", "0.01", "0", "2026-02-10")]),
    ]


_Z = Decimal("0.00")


def _fig(accounts: int, debtors: int, charged: str, paid: str, debt: str, **ages: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "accounts": accounts,
        "debtors": debtors,
        "charged": Decimal(charged),
        "paid": Decimal(paid),
        "debt": Decimal(debt),
    }
    for name in ("age_1", "age_2_3", "age_4_6", "age_7_12", "age_13_36", "age_over_36"):
        out[name] = Decimal(ages.get(name, "0.00"))
    return out


#: (house, category) → figures, computed by hand from the docstring above.
EXPECTED_ROWS: dict[tuple[uuid.UUID, str], dict[str, Any]] = {
    (H1, "owner"): _fig(2, 1, "1000.00", "200.00", "1500.01", age_2_3="1500.01"),
    (H1, "social_tenant"): _fig(
        1, 1, "500.00", "500.00", "2300.00", age_7_12="300.00", age_over_36="2000.00"
    ),
    (H1, "legal_entity"): _fig(1, 1, "1000.00", "1000.00", "5000.00", age_13_36="5000.00"),
    (H2, "owner"): _fig(1, 0, "800.00", "1600.00", "0.00"),
    (H2, "unknown"): _fig(1, 1, "100.00", "0.00", "100.00", age_4_6="100.00"),
}
EXPECTED_TOTALS = {
    **_fig(
        6,
        4,
        "3400.00",
        "3300.00",
        "8900.01",
        age_2_3="1500.01",
        age_4_6="100.00",
        age_7_12="300.00",
        age_13_36="5000.00",
        age_over_36="2000.00",
    ),
    "debtor_share": Decimal("0.6667"),
    "collection_rate": Decimal("0.9706"),
}
#: (account number, debt, months overdue of the oldest unpaid month), largest first.
EXPECTED_TOP = [("A6", "5000.00", 24), ("A2", "2300.00", 50), ("A1", "1500.00", 3), ("A4", "100.00", 5)]
