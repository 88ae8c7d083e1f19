"""Monitoring API: compute a snapshot, read it as JSON, CSV and XLSX, refuse a silent re-computation."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal

import httpx
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.court import CourtCase
from app.domain.accounts.importing import upsert_accounts
from tests.factories import bearer, make_org, make_token
from tests.monitoring_support import (
    EXPECTED_EFFECT,
    EXPECTED_TOP,
    EXPECTED_TOTALS,
    effect_rows,
    monitoring_rows,
    record_measures,
)


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


async def test_get_municipal_report_holds_snapshot_and_measures(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    missing = await api.get(
        "/api/v1/monitoring/report", params={"organisation_id": org_id, "month": "2026-03-01"}, headers=auth
    )
    assert missing.status_code == 409 and "snapshot_missing" in missing.text
    await api.post(
        "/api/v1/monitoring/snapshots", json={"organisation_id": org_id, "month": "2026-03-01"}, headers=auth
    )
    for submitted, total in (
        (date(2026, 3, 5), "1200.50"),
        (date(2026, 3, 31), "800.00"),
        (date(2026, 4, 1), "9.00"),
    ):
        session.add(
            CourtCase(
                organisation_id=uuid.UUID(org_id),
                account_ids=[],
                debtor={},
                months=[],
                period_from=submitted,
                period_to=submitted,
                on_date=submitted,
                principal=Decimal(total),
                penalties=Decimal(0),
                duty=Decimal(0),
                total=Decimal(total),
                claim={},
                status="submitted",
                submitted_on=submitted,
            )
        )
    await session.flush()

    r = await api.get(
        "/api/v1/monitoring/report", params={"organisation_id": org_id, "month": "2026-03-15"}, headers=auth
    )
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    debt = wb["Задолженность"]
    assert debt["A1"].value == "Отчёт о задолженности за ЖКУ: март 2026 г."
    table = [[c.value for c in row] for row in debt.iter_rows(min_row=5)]
    header = table[0]
    body = {row[0]: dict(zip(header, row, strict=True)) for row in table[1:]}
    assert list(body) == [
        "Собственники",
        "Наниматели по договору социального найма",
        "Юридические лица",
        "Не указана",
        "Итого",
    ]
    owners = body["Собственники"]
    assert (owners["Лицевых счетов"], owners["Должников"]) == (3, 1)
    assert owners["Задолженность на конец месяца, ₽"] == 1500.01 and owners["2–3 мес., ₽"] == 1500.01
    assert owners["Уровень сбора"] == round(1800 / 1800, 4)
    assert body["Наниматели по договору социального найма"]["более 36 мес., ₽"] == 2000.0
    assert body["Итого"]["Задолженность на конец месяца, ₽"] == 8900.01
    assert body["Итого"]["Доля должников"] == 0.6667
    measures = {row[0]: row[1:] for row in wb["Меры"].iter_rows(min_row=2, values_only=True)}
    assert measures["Заявления о выдаче судебного приказа"][:2] == (2, 2000.5)
    assert measures["Судебные приказы"][:2] == (0, 0.0)
    assert measures["Уведомления о задолженности (досудебные)"][:2] == (0, 0.0)
    assert measures["Ограничение коммунальных услуг (ПП № 354)"][:2] == (0, 0.0)


async def test_snapshot_effect_of_measures_in_json_csv_xlsx_and_report(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=effect_rows())
    await record_measures(session, org.id)
    auth = bearer(await make_token(session, scopes=["read", "answer"], orgs=[org.id]))
    r = await api.post(
        "/api/v1/monitoring/snapshots",
        json={"organisation_id": str(org.id), "month": "2026-03-01"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    snap = r.json()["snapshot"]
    assert snap["effect"] == EXPECTED_EFFECT

    as_csv = await api.get(
        f"/api/v1/monitoring/snapshots/{snap['id']}",
        params={"format": "csv", "table": "effect"},
        headers=auth,
    )
    assert as_csv.status_code == 200 and "effect" in as_csv.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff")), delimiter=";"))
    assert [{k: v for k, v in line.items() if k != "month"} for line in lines] == [
        {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in e.items()} for e in EXPECTED_EFFECT
    ]

    as_xlsx = await api.get(
        f"/api/v1/monitoring/snapshots/{snap['id']}", params={"format": "xlsx"}, headers=auth
    )
    sheet = load_workbook(io.BytesIO(as_xlsx.content))["Результативность мер"]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    notices = dict(zip(table[0], table[1], strict=True))
    assert notices["Мера"] == "Уведомления о задолженности (направлены в месяце)"
    assert (notices["Должников охвачено"], notices["Оплатили в течение 30 дней"]) == (3, 1)
    assert (notices["Оплачено за 90 дней, ₽"], notices["Доля оплативших (90 дней)"]) == (3000.0, 0.6667)

    report = await api.get(
        "/api/v1/monitoring/report",
        params={"organisation_id": str(org.id), "month": "2026-03-01"},
        headers=auth,
    )
    assert report.status_code == 200, report.text
    results = [
        list(row)
        for row in load_workbook(io.BytesIO(report.content))["Результаты мер"].iter_rows(
            min_row=2, values_only=True
        )
    ]
    by_measure = {row[0]: dict(zip(results[0], row, strict=True)) for row in results[1:]}
    orders = by_measure["Судебные приказы (вынесены в месяце)"]
    assert (orders["Должников охвачено"], orders["Сумма по мерам, ₽"]) == (2, 9000.0)
    assert (orders["Оплатили в течение 30 дней"], orders["Оплатили в течение 90 дней"]) == (0, 1)
    assert orders["Оплачено за 90 дней, ₽"] == 5000.0 and orders["Период 90 дней завершён"] == "да"
    agreements = by_measure["Соглашения о погашении задолженности (заключены в месяце)"]
    assert (agreements["Оплачено за 30 дней, ₽"], agreements["из них полностью (30 дней)"]) == (200.0, 0)
