"""Write-off over HTTP: candidates, a draft act, approval and posting by an admin, CSV export, 422 and 409."""

from __future__ import annotations

import io
import uuid
from datetime import date
from decimal import Decimal

import httpx
import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.domain.accounts.ledger import encode_months
from tests.factories import bearer, make_org, make_token


async def test_write_off_act_lifecycle(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    clerk = await make_token(session, scopes=["read", "answer"], orgs=[org.id])
    admin = await make_token(session, scopes=["read", "admin"], orgs=[org.id], name="chief")
    account = Account(id=uuid.uuid4(), organisation_id=org.id, account_number="LS-WO-1", payer_kind="person")
    session.add(account)
    await session.flush()
    months = [
        (date(2020, 1, 1), Decimal(1500), 0, date(2020, 2, 10)),
        (date(2099, 1, 1), 1, 0, date(2099, 2, 10)),
    ]
    session.add(AccountLedger(account_id=account.id, months=encode_months(months)))
    await session.flush()

    found = await api.get(
        "/api/v1/write-off/candidates", params={"organisation_id": str(org.id)}, headers=bearer(clerk)
    )
    assert found.status_code == 200, found.text
    assert [(x["period"], x["ground"], x["principal"]) for x in found.json()["items"]] == [
        ("2020-01-01", "limitation", "1500.00")
    ]
    wrong = await api.post(
        "/api/v1/write-off/acts",
        json={
            "organisation_id": str(org.id),
            "months": [{"account_id": str(account.id), "period": "2099-01-01"}],
        },
        headers=bearer(clerk),
    )
    assert wrong.status_code == 422
    assert [(e["path"], e["rule"]) for e in wrong.json()["errors"]] == [("body.months.0", "not_a_candidate")]

    created = await api.post(
        "/api/v1/write-off/acts",
        json={"organisation_id": str(org.id), "reason": "ГК 196"},
        headers=bearer(clerk),
    )
    assert created.status_code == 201, created.text
    act = created.json()
    assert act["status"] == "draft" and act["principal"] == "1500.00" and len(act["lines"]) == 1
    denied = await api.post(f"/api/v1/write-off/acts/{act['id']}/approve", json={}, headers=bearer(clerk))
    assert denied.status_code == 403
    approved = await api.post(
        f"/api/v1/write-off/acts/{act['id']}/approve", json={"reason": "checked"}, headers=bearer(admin)
    )
    assert approved.json()["approved_by"] == "key:chief"
    late = await api.post(f"/api/v1/write-off/acts/{act['id']}/cancel", json={}, headers=bearer(clerk))
    assert late.status_code == 409
    posted = await api.post(f"/api/v1/write-off/acts/{act['id']}/post", json={}, headers=bearer(admin))
    assert posted.json()["status"] == "posted"
    exported = await api.get(f"/api/v1/write-off/acts/{act['id']}/export.csv", headers=bearer(clerk))
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[1].startswith("LS-WO-1;2020-01-01;2020-02-10;limitation;1500.00;")
    workbook = await api.get(f"/api/v1/write-off/acts/{act['id']}/export.xlsx", headers=bearer(clerk))
    assert workbook.status_code == 200 and workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    rows = list(openpyxl.load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True))
    line = next(r for r in rows if r and r[0] == "LS-WO-1" and r[1] is not None)
    assert (line[1].date(), Decimal(str(line[4]))) == (date(2020, 1, 1), Decimal(1500))
    assert ("Провёл", "key:chief") in [tuple(r[:2]) for r in rows if r]
    after = await api.get(
        "/api/v1/write-off/candidates", params={"organisation_id": str(org.id)}, headers=bearer(clerk)
    )
    assert after.json()["items"] == []


async def test_write_off_bad_input_is_refused_whole(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    clerk = await make_token(session, scopes=["read", "answer"], orgs=[org.id])
    account = Account(id=uuid.uuid4(), organisation_id=org.id, account_number="LS-WO-2", payer_kind="person")
    session.add(account)
    await session.flush()
    months = [(date(2020, m, 1), Decimal(100), 0, date(2020, m + 1, 10)) for m in (1, 2)]
    session.add(AccountLedger(account_id=account.id, months=encode_months(months)))
    await session.flush()
    first = {"account_id": str(account.id), "period": "2020-01-01"}

    async def acts() -> int:
        listed = await api.get(
            "/api/v1/write-off/acts", params={"organisation_id": str(org.id)}, headers=bearer(clerk)
        )
        return len(listed.json()["items"])

    stranger = {"account_id": str(uuid.uuid4()), "period": "2020-01-01"}
    garbled = {"account_id": str(account.id), "period": "not-a-date"}
    cases: list[tuple[dict[str, object], list[tuple[str, str]]]] = [
        ({"months": [first, first]}, [("body.months.1", "duplicate_month")]),
        ({"on_date": "2999-01-01"}, [("body.on_date", "date_in_future")]),
        ({"months": [stranger]}, [("body.months.0", "not_a_candidate")]),
        ({"months": [garbled]}, [("body.months.0.period", "date_from_datetime_parsing")]),
    ]
    for extra, want in cases:
        resp = await api.post(
            "/api/v1/write-off/acts", json={"organisation_id": str(org.id), **extra}, headers=bearer(clerk)
        )
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        got = [(e["path"], e["rule"]) for e in resp.json()["errors"]]
        assert got == want, got
    assert await acts() == 0

    # One act takes both months; an act over a month already taken is refused, nothing else written.
    made = await api.post(
        "/api/v1/write-off/acts",
        json={"organisation_id": str(org.id), "months": [first]},
        headers=bearer(clerk),
    )
    assert made.status_code == 201, made.text
    again = await api.post(
        "/api/v1/write-off/acts",
        json={"organisation_id": str(org.id),
              "months": [{"account_id": str(account.id), "period": "2020-02-01"}, first]},
        headers=bearer(clerk),
    )  # fmt: skip
    assert again.status_code == 422
    assert [(e["path"], e["rule"]) for e in again.json()["errors"]] == [
        ("body.months.1", "already_written_off")
    ]
    assert await acts() == 1

    # Selection over the whole organisation is an operation; a future date is refused the same way.
    queued = await api.post(
        "/api/v1/write-off/selections", json={"organisation_id": str(org.id)}, headers=bearer(clerk)
    )
    assert queued.status_code == 202, queued.text
    assert (queued.json()["kind"], queued.json()["status"]) == ("write-off-candidates", "pending")
    future = await api.post(
        "/api/v1/write-off/selections",
        json={"organisation_id": str(org.id), "on_date": "2999-01-01"},
        headers=bearer(clerk),
    )
    assert future.status_code == 422
    assert [(e["path"], e["rule"]) for e in future.json()["errors"]] == [("body.on_date", "date_in_future")]
