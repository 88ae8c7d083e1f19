"""Court orders over HTTP: eligibility, readiness, packages, case lifecycle, confirmed debts."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_session
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Operation
from app.domain.accounts.ledger import encode_months
from app.domain.court.packages import application_data, cases_of_operation, run_packages_job
from app.domain.court.registry import confirmed_debts_for_accounts
from app.domain.kernel.penalties import due_date_for
from app.domain.kernel.snils import random_valid_snils
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import COURTS, bearer, make_org, make_token

ON = date(2025, 11, 20)


@pytest.fixture
async def court_api(session: AsyncSession, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a court table, its requests sharing the test's session."""
    app = create_app(make_settings(database_url, court_courts=COURTS, court_pilot_regions=["16"]))

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            yield client


def _months(n: int) -> list[date]:
    out, y, m = [], ON.year, ON.month
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(date(y, m, 1))
    return out


async def seed_account(
    session: AsyncSession, org_id: uuid.UUID, *, months: int = 12, amount: str = "3000", **payer: Any
) -> uuid.UUID:
    """Add a house, a flat, an account with a citizen payer and unpaid months."""
    rng = random.Random(str(uuid.uuid4()))
    house = House(
        id=uuid.uuid4(), fias_house_guid=uuid.uuid4(), address="г. Казань, ул. Баумана, д. 7", region="16"
    )
    flat = Premises(
        id=uuid.uuid4(),
        house_id=house.id,
        number_raw="12",
        number_norm="12",
        kind="apartment",
        residential=True,
    )
    values: dict[str, Any] = {
        "last_name": "Петров",
        "first_name": "Пётр",
        "middle_name": "Петрович",
        "birth_date": date(1975, 5, 6),
        "birth_place": "г. Казань",
        "snils": random_valid_snils(rng),
    }
    values.update(payer)
    account = Account(
        id=uuid.uuid4(),
        organisation_id=org_id,
        account_number=f"LS{rng.randrange(10**8)}",
        payer_kind="person",
        closed=False,
        dispute=False,
        bankruptcy=False,
        **values,
    )
    session.add_all([house, flat])
    await session.flush()
    session.add(account)
    await session.flush()
    session.add(AccountPremises(account_id=account.id, premises_id=flat.id))
    ledger = [(period, Decimal(amount), 0, due_date_for(period)) for period in _months(months)]
    session.add(AccountLedger(account_id=account.id, months=encode_months(ledger)))
    await session.flush()
    return account.id


async def test_eligibility_criterion_by_criterion(
    court_api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, region_code="16")
    token = await make_token(session, scopes=["court"], orgs=[org.id])
    r = await court_api.get(
        "/api/v1/court-orders/eligibility",
        params={"organisation_id": str(org.id), "max_premises": 25000, "on_date": "2025-11-01"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["eligible"] is True and body["verdict"] == "eligible"
    assert {c["name"] for c in body["criteria"]} == {
        "organisation_type",
        "premises",
        "software",
        "mass_upload",
        "period",
    }
    assert all({"value", "source", "threshold"} <= set(c) for c in body["criteria"])
    assert body["region"]["status"] == "pilot"
    assert body["lines"][-1] == "region: pilot (16)"
    low = await court_api.get(
        "/api/v1/court-orders/eligibility",
        params={"organisation_id": str(org.id), "max_premises": 100, "on_date": "2026-08-01"},
        headers=bearer(token),
    )
    failed = {c["name"] for c in low.json()["criteria"] if c["met"] is False}
    assert failed == {"premises", "period"}


async def test_readiness_inline_names_blocking_rules(
    court_api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, region_code="16")
    token = await make_token(session, scopes=["court"], orgs=[org.id])
    ready = await seed_account(session, org.id)
    no_birth = await seed_account(session, org.id, birth_place=None)
    disputed = await seed_account(session, org.id)
    acc = await session.get(Account, disputed)
    assert acc is not None
    acc.dispute = True
    await session.flush()
    r = await court_api.post(
        "/api/v1/court-orders/readiness",
        json={"organisation_id": str(org.id), "account_ids": "all", "on_date": ON.isoformat()},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["run"]["total"] == 3 and body["run"]["ready"] == 1
    verdicts = {item["account_id"]: item for item in body["results"]["items"]}
    assert verdicts[str(ready)]["ready"] and Decimal(verdicts[str(ready)]["duty"]) == Decimal("2000")
    assert [b["rule"] for b in verdicts[str(no_birth)]["blockers"]] == ["debtor_birth_place"]
    assert [b["rule"] for b in verdicts[str(disputed)]["blockers"]] == ["dispute"]
    blocked = await court_api.get(
        f"/api/v1/court-orders/readiness/{body['run']['id']}/results",
        params={"rule": "dispute"},
        headers=bearer(token),
    )
    assert [i["account_id"] for i in blocked.json()["items"]] == [str(disputed)]


async def test_readiness_of_other_organisation_is_not_found(
    court_api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org, other = await make_org(session), await make_org(session)
    token = await make_token(session, scopes=["court"], orgs=[org.id])
    r = await court_api.post(
        "/api/v1/court-orders/readiness",
        json={"organisation_id": str(other.id), "account_ids": "all"},
        headers=bearer(token),
    )
    assert r.status_code == 404
    reader = await make_token(session, scopes=["read"], orgs=[org.id])
    r = await court_api.post(
        "/api/v1/court-orders/readiness",
        json={"organisation_id": str(org.id), "account_ids": "all"},
        headers=bearer(reader),
    )
    assert r.status_code == 403


async def test_case_lifecycle_to_confirmed_debt(court_api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session, region_code="16")
    token = await make_token(session, scopes=["court"], orgs=[org.id])
    pii = await make_token(session, scopes=["court", "pii"], orgs=[org.id])
    account = await seed_account(session, org.id)
    r = await court_api.post(
        "/api/v1/court-cases",
        json={"organisation_id": str(org.id), "account_ids": [str(account)], "on_date": ON.isoformat()},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "draft" and case["debtor"]["last_name"] == "***"
    cid = case["id"]
    html = await court_api.get(f"/api/v1/court-cases/{cid}/application.html", headers=bearer(pii))
    assert html.status_code == 200 and "Петров" in html.text and "судебного приказа" in html.text
    masked = await court_api.get(f"/api/v1/court-cases/{cid}/application.html", headers=bearer(token))
    assert "Петров" not in masked.text

    async def event(payload: dict[str, Any], status: int = 200) -> dict[str, Any]:
        resp = await court_api.post(f"/api/v1/court-cases/{cid}/events", json=payload, headers=bearer(token))
        assert resp.status_code == status, resp.text
        return dict(resp.json())

    future = await event({"type": "submitted", "on_date": "2999-01-01"}, status=422)
    assert (future["errors"][0]["path"], future["errors"][0]["rule"]) == ("body.on_date", "future_date")
    bogus = await court_api.get("/api/v1/court-cases", params={"status": "zzz"}, headers=bearer(token))
    assert bogus.status_code == 422 and "not 'zzz'" in bogus.json()["errors"][0]["message"]
    await event({"type": "submitted", "on_date": "2025-11-21", "case_number": "2-1234/2025"})
    await event({"type": "issued", "on_date": "2025-11-28", "act_number": "2-1234/2025"})
    received = await event({"type": "received", "on_date": "2025-12-01"})
    # 10 working days from 2025-12-01 (Mon) → 2025-12-15.
    assert received["objection_deadline"] == "2025-12-15"
    await event({"type": "in_force", "on_date": "2025-12-10"}, status=409)
    done = await event({"type": "in_force", "on_date": "2025-12-16"})
    assert done["status"] == "in_force" and [e["type"] for e in done["events"]][-1] == "in_force"

    debts = await confirmed_debts_for_accounts(session=session, organisation_id=org.id, account_ids=[account])
    assert len(debts) == 1
    assert debts[0].act_number == "2-1234/2025" and debts[0].act_date == date(2025, 12, 16)
    assert debts[0].gis_debt_guid is None and debts[0].last_name == "Петров"
    # A filed case now covers these months: readiness excludes them.
    r = await court_api.post(
        "/api/v1/court-orders/readiness",
        json={"organisation_id": str(org.id), "account_ids": [str(account)], "on_date": ON.isoformat()},
        headers=bearer(token),
    )
    assert [b["rule"] for b in r.json()["results"]["items"][0]["blockers"]] == ["no_claimable_debt"]
    reg = await court_api.get(f"/api/v1/court-cases/{cid}/registry", headers=bearer(token))
    assert reg.status_code == 200 and reg.json()["placement"] == "not_placed"
    annul = await court_api.post(f"/api/v1/court-cases/{cid}/registry/annul", headers=bearer(token))
    assert annul.status_code == 409


async def test_packages_job_creates_drafts_and_jsonl(
    court_api: httpx.AsyncClient, session: AsyncSession, database_url: str
) -> None:
    org = await make_org(session, region_code="16")
    token = await make_token(session, scopes=["court", "pii"], orgs=[org.id])
    ids = [await seed_account(session, org.id) for _ in range(3)]
    ids.append(await seed_account(session, org.id, snils=None))  # blocked: no identifier
    r = await court_api.post(
        "/api/v1/court-orders/packages",
        json={
            "organisation_id": str(org.id),
            "account_ids": [str(i) for i in ids],
            "on_date": ON.isoformat(),
        },
        headers=bearer(token),
    )
    assert r.status_code == 202, r.text
    op = await session.get(Operation, uuid.UUID(r.json()["id"]))
    assert op is not None

    class _Shared:
        """Session factory handing out the test's session (commits become flushes)."""

        def __call__(self) -> Any:
            return self

        async def __aenter__(self) -> AsyncSession:
            return session

        async def __aexit__(self, *exc: object) -> None:
            await session.flush()

    progress_calls: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None = None) -> None:
        progress_calls.append((done, total))

    original_commit = session.commit
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        ctx = SimpleNamespace(
            settings=make_settings(database_url, court_courts=COURTS), sessionmaker=_Shared()
        )
        result = await run_packages_job(op, progress, ctx)  # type: ignore[arg-type]
    finally:
        session.commit = original_commit  # type: ignore[method-assign]
    assert result["cases"] == 3 and result["blockers"] == {"debtor_identifier": 1}
    assert progress_calls[-1] == (4, 4)
    drafts = await cases_of_operation(session=session, operation_id=op.id)
    assert {c.account_id for c in drafts} == set(ids[:3])
    data = application_data(drafts[0], show_pii=True)
    assert data["creditor"]["inn"] == org.inn and data["court"]["district"] == "3"
    assert len(data["claim"]["months"]) == 12 and data["claim"]["attachments"]
    assert Decimal(data["claim"]["total"]) == drafts[0].principal + drafts[0].penalties
    # The download streams from its own session (committed data only); here it must at least answer.
    r = await court_api.get(result["jsonl"], headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")


async def test_outcomes_upload_queues_one_operation(
    court_api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, region_code="16")
    other = await make_org(session, region_code="16")
    token = await make_token(session, scopes=["court"], orgs=[org.id])
    csv_file = ("outcomes.csv", b"case_id,event,date\n", "text/csv")
    r = await court_api.post(
        "/api/v1/court-cases/outcomes",
        data={"organisation_id": str(org.id)},
        files={"file": csv_file},
        headers=bearer(token),
    )
    assert r.status_code == 202, r.text
    op = await session.get(Operation, uuid.UUID(r.json()["id"]))
    assert op is not None and op.kind == "court-outcomes-import" and op.params["format"] == "csv"
    denied = await court_api.post(
        "/api/v1/court-cases/outcomes",
        data={"organisation_id": str(other.id)},
        files={"file": csv_file},
        headers=bearer(token),
    )
    assert denied.status_code == 404


def test_case_status_enum_matches_the_model() -> None:
    from typing import get_args

    from app.api.court_orders import CaseStatus
    from app.db.models.court import CASE_STATUSES

    assert set(get_args(CaseStatus)) == set(CASE_STATUSES)
