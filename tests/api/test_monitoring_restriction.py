"""Restriction under ПП 354: candidates, a timeline moving on recorded delivery, heating never suspended."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.importing import upsert_accounts
from app.domain.accounts.rows import account_id_for
from app.domain.monitoring import exclusions, restriction
from app.settings import MonitoringSettings
from tests.factories import bearer, make_org, make_token
from tests.monitoring_support import monitoring_rows

PAYMENT = {"payee": "УК", "inn": "7701234567", "bank": "Банк", "bik": "044525225", "account": "4" * 20}


async def _seeded(session: AsyncSession) -> tuple[str, dict[str, str]]:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
    token = await make_token(session, scopes=["court", "read", "answer"], orgs=[org.id])
    return str(org.id), bearer(token)


async def test_find_candidates_above_two_monthly_charges(session: AsyncSession) -> None:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
    settings = MonitoringSettings()
    found, left_out = await restriction.find_candidates(
        session=session, organisation_id=org.id, on_date=date(2026, 3, 31), settings=settings
    )
    # A2: debt 2300 > 2 × average(2000, 300, 500) = 1866.66; A1 1500 ≤ 2000, A6 5000 ≤ 6000, A4 100 ≤ 200.
    assert [(c.account_number, c.debt, c.monthly_charge) for c in found] == [
        ("A2", Decimal("2300.00"), Decimal("933.33"))
    ]
    assert found[0].charge_method == "average_6_months_approximation" and left_out == {}
    a2 = account_id_for(org.id, "A2")
    none, left_out = await restriction.find_candidates(
        session=session,
        organisation_id=org.id,
        on_date=date(2026, 3, 31),
        settings=settings,
        excluded_account_ids={a2},
    )
    assert none == [] and left_out == {"agreement": 1}
    standard = MonitoringSettings(restriction_charge_method="standard")
    a1 = account_id_for(org.id, "A1")
    found, left_out = await restriction.find_candidates(
        session=session,
        organisation_id=org.id,
        on_date=date(2026, 3, 31),
        settings=standard,
        standard_charges={a1: Decimal("700.00")},
    )
    assert [(c.account_number, c.charge_method) for c in found] == [("A1", "standard")]
    assert left_out == {"no_monthly_charge": 4}


async def _event(api: httpx.AsyncClient, case_id: str, auth: dict[str, str], **body: Any) -> httpx.Response:
    return await api.post(f"/api/v1/monitoring/restriction-cases/{case_id}/events", json=body, headers=auth)


async def test_heating_timeline_follows_recorded_delivery_and_stops_on_agreement(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    r = await api.post(
        "/api/v1/monitoring/restriction-cases",
        json={"organisation_id": org_id, "utility": "heating", "on_date": "2026-03-31"},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    (case,) = r.json()["opened"]
    assert (case["account_number"], case["status"], case["next_step"]) == (
        "A2",
        "candidate",
        "warning_delivered",
    )
    again = await api.post(
        "/api/v1/monitoring/restriction-cases",
        json={"organisation_id": org_id, "utility": "heating", "on_date": "2026-03-31"},
        headers=auth,
    )
    assert again.json() == {"opened": [], "left_out": {"open_case": 1}}

    run = await api.post(
        "/api/v1/monitoring/notice-runs",
        json={"organisation_id": org_id, "on_date": "2026-03-31", "payment_details": PAYMENT},
        headers=auth,
    )
    notice = next(n for n in run.json()["notices"] if n["account_number"] == "A2")
    await api.post(
        f"/api/v1/monitoring/notices/{notice['id']}/events",
        json={"event": "sent", "on_date": "2026-04-01", "channel": "registered_mail"},
        headers=auth,
    )
    undelivered = await _event(api, case["id"], auth, event="warning_delivered", notice_id=notice["id"])
    assert undelivered.status_code == 409 and "not_delivered" in undelivered.text
    await api.post(
        f"/api/v1/monitoring/notices/{notice['id']}/events",
        json={"event": "delivered", "on_date": "2026-04-06"},
        headers=auth,
    )
    # The delivery date in the journal counts, not the date given or the send date.
    warned = await _event(
        api, case["id"], auth, event="warning_delivered", notice_id=notice["id"], on_date="2026-04-01"
    )
    assert warned.status_code == 200, warned.text
    assert (warned.json()["warning_delivered_on"], warned.json()["restriction_allowed_from"]) == (
        "2026-04-06",
        "2026-04-27",
    )
    early = await _event(api, case["id"], auth, event="restricted", on_date="2026-04-26")
    assert early.status_code == 409 and early.json()["errors"][0]["path"] == "body.on_date"
    restricted = await _event(api, case["id"], auth, event="restricted", on_date="2026-04-27")
    assert restricted.json()["status"] == "restricted" and restricted.json()["next_step"] is None
    forbidden = await _event(api, case["id"], auth, event="suspension_notice_delivered", on_date="2026-05-01")
    assert forbidden.status_code == 409 and "suspension_forbidden" in forbidden.text
    stopped = await _event(api, case["id"], auth, event="agreement", on_date="2026-05-02")
    body = stopped.json()
    assert (body["status"], body["stopped_reason"], body["resume_by"]) == (
        "stopped",
        "agreement",
        "2026-05-04",
    )
    assert [e["event"] for e in body["events"]] == ["opened", "warning_delivered", "restricted", "agreement"]
    closed = await _event(api, case["id"], auth, event="restricted", on_date="2026-05-10")
    assert closed.status_code == 409 and "case_closed" in closed.text


async def test_electricity_timeline_reaches_suspension_and_resumption(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    r = await api.post(
        "/api/v1/monitoring/restriction-cases",
        json={"organisation_id": org_id, "utility": "electricity", "on_date": "2026-03-31"},
        headers=auth,
    )
    case_id = r.json()["opened"][0]["id"]
    assert (
        await _event(api, case_id, auth, event="warning_delivered", on_date="2026-04-01")
    ).status_code == 200
    restricted = await _event(api, case_id, auth, event="restricted", on_date="2026-04-22")
    assert restricted.json()["suspension_allowed_from"] == "2026-05-03"
    noticed = await _event(api, case_id, auth, event="suspension_notice_delivered", on_date="2026-05-01")
    assert (noticed.json()["next_step"], noticed.json()["next_step_from"]) == ("suspended", "2026-05-04")
    early = await _event(api, case_id, auth, event="suspended", on_date="2026-05-03")
    assert early.status_code == 409 and "too_early" in early.text
    suspended = await _event(api, case_id, auth, event="suspended", on_date="2026-05-04")
    assert suspended.json()["status"] == "suspended"
    not_paid = await _event(api, case_id, auth, event="resumed", on_date="2026-05-05")
    assert not_paid.status_code == 409
    paid = await _event(api, case_id, auth, event="debt_paid", on_date="2026-05-10")
    assert paid.json()["resume_by"] == "2026-05-12"
    resumed = await _event(api, case_id, auth, event="resumed", on_date="2026-05-11")
    assert resumed.json()["status"] == "resumed"
    assert resumed.json()["events"][-1]["details"] == {"late": "false"}

    await api.post(
        "/api/v1/monitoring/snapshots", json={"organisation_id": org_id, "month": "2026-04-01"}, headers=auth
    )
    report = await api.get(
        "/api/v1/monitoring/report", params={"organisation_id": org_id, "month": "2026-04-01"}, headers=auth
    )
    assert report.status_code == 200, report.text
    sheet = load_workbook(io.BytesIO(report.content))["Меры"]
    measures = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    count, amount, result = measures["Ограничение коммунальных услуг (ПП № 354)"]
    assert (count, amount) == (1, 2300.0) and result.startswith("предупреждений вручено: 1;")


async def test_cold_water_in_apartment_building_is_never_suspended(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    r = await api.post(
        "/api/v1/monitoring/restriction-cases",
        json={"organisation_id": org_id, "utility": "cold_water", "on_date": "2026-03-31"},
        headers=auth,
    )
    case_id = r.json()["opened"][0]["id"]
    await _event(api, case_id, auth, event="warning_delivered", on_date="2026-04-01")
    await _event(api, case_id, auth, event="restriction_impossible", on_date="2026-04-22")
    refused = await _event(api, case_id, auth, event="suspension_notice_delivered", on_date="2026-04-23")
    assert refused.status_code == 409 and "apartment building" in refused.text
    bad = await api.post(
        "/api/v1/monitoring/restriction-cases",
        json={"organisation_id": org_id, "utility": "steam", "on_date": "2026-03-31"},
        headers=auth,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "body.utility"


async def test_written_off_months_leave_the_restriction_debt(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
    auth = bearer(await make_token(session, scopes=["court", "read", "answer", "admin"], orgs=[org.id]))
    body = {"organisation_id": str(org.id), "utility": "heating", "on_date": "2026-03-31"}
    # Draft, approve and post an act over A2's January 2022 (2000 ₽, past limitation on 31 March 2026).
    a2 = str(account_id_for(org.id, "A2"))
    act = await api.post(
        "/api/v1/write-off/acts",
        json={"organisation_id": str(org.id), "on_date": "2026-03-31", "account_ids": [a2]},
        headers=auth,
    )
    assert act.status_code == 201, act.text
    assert [(x["period"], x["principal"]) for x in act.json()["lines"]] == [("2022-01-01", "2000.00")]
    act_id = act.json()["id"]
    # A draft (and an approved act) write nothing off yet: A2 (2300 ₽ > 2 × 933.33 ₽) is still a candidate.
    found, _ = await restriction.find_candidates(
        session=session, organisation_id=org.id, on_date=date(2026, 3, 31), settings=MonitoringSettings(),
        written_off=await exclusions.written_off_months(session, org.id),
    )  # fmt: skip
    assert [c.account_number for c in found] == ["A2"]
    for step in ("approve", "post"):
        r = await api.post(f"/api/v1/write-off/acts/{act_id}/{step}", json={"reason": "test"}, headers=auth)
        assert r.status_code == 200, r.text
    # Posted: A2 owes 300 ₽, below two monthly charges; the restriction run opens nothing.
    opened = await api.post("/api/v1/monitoring/restriction-cases", json=body, headers=auth)
    assert opened.status_code == 201, opened.text
    assert opened.json() == {"opened": [], "left_out": {}}
    found, _ = await restriction.find_candidates(
        session=session, organisation_id=org.id, on_date=date(2026, 3, 31), settings=MonitoringSettings(),
        written_off=await exclusions.written_off_months(session, org.id),
    )  # fmt: skip
    assert found == []
