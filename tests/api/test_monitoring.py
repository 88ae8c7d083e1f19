"""Monitoring API: compute a snapshot, read it as JSON, CSV and XLSX, refuse a silent re-computation."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.importing import upsert_accounts
from tests.factories import bearer, make_org, make_token
from tests.monitoring_support import EXPECTED_TOP, EXPECTED_TOTALS, monitoring_rows


async def _seeded(session: AsyncSession) -> tuple[str, dict[str, str]]:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
    token = await make_token(session, scopes=["read", "answer"], orgs=[org.id])
    return str(org.id), bearer(token)


async def test_post_snapshot_returns_hand_computed_figures(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    r = await api.post(
        "/api/v1/monitoring/snapshots", json={"organisation_id": org_id, "month": "2026-03-31"}, headers=auth
    )
    assert r.status_code == 200, r.text
    snap = r.json()["snapshot"]
    assert snap["month"] == "2026-03-01" and snap["version"] == 1
    assert {k: Decimal(str(v)) for k, v in snap["totals"].items()} == {
        k: Decimal(str(v)) for k, v in EXPECTED_TOTALS.items()
    }
    assert len(snap["rows"]) == 5
    assert [
        (t["account_number"], t["debt"], t["months_overdue"]) for t in snap["top_debtors"]
    ] == EXPECTED_TOP

    again = await api.post(
        "/api/v1/monitoring/snapshots", json={"organisation_id": org_id, "month": "2026-03-01"}, headers=auth
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "recompute" in again.text
    recomputed = await api.post(
        "/api/v1/monitoring/snapshots",
        json={"organisation_id": org_id, "month": "2026-03-01", "recompute": True},
        headers=auth,
    )
    assert recomputed.status_code == 200 and recomputed.json()["snapshot"]["version"] == 2

    trend = await api.get("/api/v1/monitoring/snapshots", params={"organisation_id": org_id}, headers=auth)
    assert trend.status_code == 200
    assert [(p["month"], p["totals"]["debt"]) for p in trend.json()] == [("2026-03-01", "8900.01")]


async def test_get_snapshot_exports_csv_and_xlsx(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org_id, auth = await _seeded(session)
    r = await api.post(
        "/api/v1/monitoring/snapshots", json={"organisation_id": org_id, "month": "2026-03-01"}, headers=auth
    )
    snapshot_id = r.json()["snapshot"]["id"]

    as_csv = await api.get(
        f"/api/v1/monitoring/snapshots/{snapshot_id}", params={"format": "csv"}, headers=auth
    )
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff")), delimiter=";"))
    assert len(lines) == 6
    assert lines[-1]["house_id"] == "total" and lines[-1]["debt"] == "8900.01"
    assert sum(Decimal(x["debt"]) for x in lines[:-1]) == Decimal("8900.01")

    as_xlsx = await api.get(
        f"/api/v1/monitoring/snapshots/{snapshot_id}", params={"format": "xlsx"}, headers=auth
    )
    assert as_xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(as_xlsx.content))
    ws = wb["Мониторинг"]
    header = [c.value for c in ws[2]]
    total = {header[i]: c.value for i, c in enumerate(ws[ws.max_row])}
    assert total["Дом (id)"] == "Итого"
    assert total["Задолженность на конец месяца, ₽"] == 8900.01
    assert total["более 36 мес., ₽"] == 2000.0 and total["Уровень сбора"] == 0.9706
    top = [[c.value for c in row] for row in wb["Крупнейшие должники"].iter_rows(min_row=2)]
    assert top == [[n, float(d), m] for n, d, m in EXPECTED_TOP]


async def test_snapshot_of_other_organisation_is_not_found(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    other = await make_org(session, inn="7709876543")
    r = await api.post(
        "/api/v1/monitoring/snapshots",
        json={"organisation_id": str(other.id), "month": "2026-03-01"},
        headers=auth,
    )
    assert r.status_code == 404
    bad = await api.post(
        "/api/v1/monitoring/snapshots", json={"organisation_id": org_id, "month": "March"}, headers=auth
    )
    assert bad.status_code == 422 and "month" in bad.text
