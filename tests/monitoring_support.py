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


# The effect-of-measures fixture (another organisation; snapshot month March 2026). Every account is charged
# 1000 a month from January to July 2026; "pays" lists what billing booked as paid per month (others 0).
# - E1 notice sent 10.03 (sent again 25.03 after a return: counts once, at 10.03), debt 1000; pays 1000 in
#   April → within 30 (first billing month after March) and 90 days, in full.
# - E2 notice sent 20.03, debt 2000; pays 500 in May and 1500 in June → not within 30, within 90 in full.
# - E3 notice sent 05.03, debt 800; pays 800 in February and 300 in March (before or in the measure's month:
#   never counted), nothing later → no payment.
# - E4 agreement signed 15.03, total 3000; pays 200 in April, 300 in May → paid, not in full, in both windows.
# - E5 agreement signed 10.02 (another month) → not a March measure, although it pays 3000 in April.
# - court order issued 25.03 over E6 and E7, total 5000; E6 pays 2000, E7 3000 in June → one debtor,
#   paid in full within 90 days.
# - E8 court order issued 02.03, total 4000; pays 4000 in July (after the 90-day window) → no payment.
EFFECT_PAYS: dict[str, dict[str, str]] = {
    "E1": {"2026-04-01": "1000"},
    "E2": {"2026-05-01": "500", "2026-06-01": "1500"},
    "E3": {"2026-02-01": "800", "2026-03-01": "300"},
    "E4": {"2026-04-01": "200", "2026-05-01": "300"},
    "E5": {"2026-04-01": "3000"},
    "E6": {"2026-06-01": "2000"},
    "E7": {"2026-06-01": "3000"},
    "E8": {"2026-07-01": "4000"},
}


def effect_rows() -> list[dict[str, Any]]:
    """Return the effect fixture's import rows."""
    out = []
    for number, pays in EFFECT_PAYS.items():
        months = []
        for m in range(1, 8):
            period = f"2026-{m:02d}-01"
            months.append(_m(period, "1000", pays.get(period, "0"), f"2026-{m + 1:02d}-10"))
        out.append(_row(number, H1, "owner", months))
    return out


def _effect(
    kind: str, debtors: int, amount: str, w30: tuple[int, int, str], w90: tuple[int, int, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {"measure": kind, "debtors": debtors, "amount": amount}
    for days, (any_, full, paid) in ((30, w30), (90, w90)):
        out[f"paid_any_{days}"] = any_
        out[f"paid_full_{days}"] = full
        out[f"paid_{days}"] = paid
        out[f"share_paid_{days}"] = str((Decimal(any_) / debtors).quantize(Decimal("0.0001")))
        out[f"complete_{days}"] = True
    return out


#: The effect of March's measures, computed by hand from the comment above.
EXPECTED_EFFECT = [
    _effect("notice", 3, "3800.00", (1, 1, "1000.00"), (2, 2, "3000.00")),
    _effect("agreement", 1, "3000.00", (1, 0, "200.00"), (1, 0, "500.00")),
    _effect("court_order", 2, "9000.00", (0, 0, "0.00"), (1, 1, "5000.00")),
]


async def record_measures(session: Any, organisation_id: uuid.UUID) -> None:
    """Record the effect fixture's notices, agreements and court orders (the accounts imported first)."""
    from sqlalchemy import select

    from app.db.models.accounts import Account
    from app.db.models.agreements import Agreement
    from app.db.models.court import CourtCase
    from app.db.models.monitoring import Notice, NoticeEvent, NoticeRun

    ids = dict(
        (
            await session.execute(
                select(Account.account_number, Account.id).where(Account.organisation_id == organisation_id)
            )
        ).all()
    )
    run = NoticeRun(organisation_id=organisation_id, on_date=date(2026, 3, 1), rules={}, payment_details={},
                    excluded={})  # fmt: skip
    session.add(run)
    await session.flush()
    notices = {
        "E1": ("1000", [("sent", "2026-03-10"), ("returned", "2026-03-15"), ("sent", "2026-03-25")]),
        "E2": ("2000", [("sent", "2026-03-20"), ("delivered", "2026-03-27")]),
        "E3": ("800", [("sent", "2026-03-05")]),
        "E4": ("3000", [("sent", "2026-04-02")]),  # April: not a March measure
    }
    for seq, (number, (debt, events)) in enumerate(notices.items(), 1):
        notice = Notice(run_id=run.id, organisation_id=organisation_id, account_id=ids[number], seq=seq,
                        account_number=number, debt=Decimal(debt), penalties=Decimal(0), months_overdue=2,
                        months=[], status=events[-1][0],
                        sent_on=date.fromisoformat(events[-1][1]))  # fmt: skip
        session.add(notice)
        await session.flush()
        for event, on in events:
            session.add(
                NoticeEvent(notice_id=notice.id, event=event, on_date=date.fromisoformat(on), source="api")
            )
    for number, signed, status in (("E4", "2026-03-15", "active"), ("E5", "2026-02-10", "active"),
                                   ("E8", "2026-03-20", "cancelled")):  # fmt: skip
        session.add(
            Agreement(
                organisation_id=organisation_id,
                account_id=ids[number],
                status=status,
                signed_on=date.fromisoformat(signed),
                covered_through=date(2026, 2, 1),
                principal=Decimal(3000),
                penalties=Decimal(0),
                penalty_mode="included",
                total=Decimal(3000),
                baseline_paid=Decimal(0),
            )  # fmt: skip
        )
    for numbers, issued, total in ((("E6", "E7"), "2026-03-25", "5000"), (("E8",), "2026-03-02", "4000"),
                                   (("E1",), None, "1000")):  # fmt: skip
        session.add(
            CourtCase(
                organisation_id=organisation_id,
                account_id=ids[numbers[0]],
                account_ids=[str(ids[n]) for n in numbers],
                status="issued" if issued else "submitted",
                debtor={},
                months=["2026-01-01"],
                period_from=date(2026, 1, 1),
                period_to=date(2026, 2, 1),
                on_date=date(2026, 3, 1),
                principal=Decimal(total),
                penalties=Decimal(0),
                duty=Decimal(0),
                total=Decimal(total),
                claim={},
                issued_on=date.fromisoformat(issued) if issued else None,
            )  # fmt: skip
        )
    await session.flush()
