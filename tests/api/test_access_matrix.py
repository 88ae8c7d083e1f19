"""Every /api/v1 operation refuses a missing key, a key without its scope, and other organisations' data."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import render_openapi
from app.db.models.court import CourtCase, CourtReadinessRun
from app.db.models.exchange import Exchange
from app.domain.accounts.importing import upsert_accounts
from app.domain.kernel import operations as ops
from app.domain.kernel.access import ALL_SCOPES, SYSTEM
from tests.factories import bearer, make_org, make_subrequest, make_token

SPEC = __import__("json").loads(render_openapi())
OPERATIONS = [
    (method.upper(), path, op)
    for path, methods in SPEC["paths"].items()
    if path.startswith("/api/v1")
    for method, op in methods.items()
]
SCOPE_RE = re.compile(r"scopes? `(\w+)`(?: and `(\w+)`)?")


def _scopes(op: dict[str, Any]) -> set[str]:
    found = SCOPE_RE.search(op.get("description", ""))
    assert found, f"{op['operationId']}: the description must name its scope, e.g. (scope `read`)"
    return {s for s in found.groups() if s}


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), path)


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
async def test_missing_and_wrong_scope_refused(
    api: httpx.AsyncClient, session: AsyncSession, method: str, path: str, op: dict[str, Any]
) -> None:
    needed = _scopes(op)
    others = [s for s in ALL_SCOPES if s not in needed]
    wrong = await make_token(session, scopes=others, all_orgs=True)
    url = _url(path, {"action": "place"})
    body = {"json": {}} if "requestBody" in op else {}
    missing = await api.request(method, url, **body)
    assert missing.status_code == 401, (method, path, missing.text)
    assert missing.headers["content-type"] == "application/problem+json"
    refused = await api.request(method, url, headers=bearer(wrong), **body)
    assert refused.status_code == 403, (method, path, refused.text)
    assert refused.headers["content-type"] == "application/problem+json"


async def _other_org_resources(session: AsyncSession) -> dict[str, str]:
    other = await make_org(session, name="УК Чужая")
    sub = await make_subrequest(session, other)
    [account_id] = await upsert_accounts(
        session=session,
        organisation_id=other.id,
        rows=[
            {
                "account_number": "X-1",
                "payer": {"kind": "person", "last_name": "Петров", "first_name": "Пётр"},
                "premises": [{"fias_house_guid": str(uuid.uuid4()), "number": "кв. 1"}],
                "ledger": [],
            }
        ],
    )
    op = await ops.create(session=session, principal=SYSTEM, kind="debt-fetch", organisation_id=other.id)
    run = CourtReadinessRun(organisation_id=other.id, on_date=date.today())
    today = date.today()
    case = CourtCase(
        organisation_id=other.id,
        account_ids=[str(account_id)],
        debtor={},
        months=[],
        period_from=today,
        period_to=today,
        on_date=today,
        principal=Decimal(0),
        penalties=Decimal(0),
        duty=Decimal(0),
        total=Decimal(0),
        claim={},
    )
    exchange = Exchange(
        organisation_id=other.id, service="debt-requests", operation="exportDebtSubrequests", payload={}
    )
    key_token = await make_token(session, scopes=["read"], orgs=[other.id], name="other-org-key")
    session.add_all([run, case, exchange])
    await session.flush()
    from app.domain.kernel.access import authenticate

    other_key = await authenticate(session=session, token=key_token)
    return {
        "organisation_id": str(other.id),
        "debt_request_id": str(sub.id),
        "account_id": str(account_id),
        "operation_id": str(op.id),
        "run_id": str(run.id),
        "case_id": str(case.id),
        "exchange_id": str(exchange.id),
        "key_id": str(other_key.key_id),
        "entry_id": "1",
        "document_id": str(uuid.uuid4()),
        "action": "place",
        "fias_house_guid": str(uuid.uuid4()),
        "figure": "area_differences",
        "kind": "warning",
    }


BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/court-orders/readiness"): {"account_ids": []},
    ("POST", "/api/v1/court-orders/packages"): {},
    ("POST", "/api/v1/court-cases"): {"account_ids": []},
    ("POST", "/api/v1/accounts/syncs"): {"els": ["0000000001"]},
    ("PUT", "/api/v1/debt-requests/{debt_request_id}/answer"): {"has_debt": False},
    ("PATCH", "/api/v1/organisations/{organisation_id}"): {"name": "Захват"},
    ("POST", "/api/v1/court-cases/{case_id}/events"): {"type": "submitted", "on_date": "2026-01-15"},
    ("POST", "/api/v1/monitoring/snapshots"): {"month": "2026-03-01"},
    ("POST", "/api/v1/monitoring/notice-runs"): {
        "payment_details": {
            "payee": "П",
            "inn": "7701234567",
            "bank": "Б",
            "bik": "044525225",
            "account": "4" * 20,
        }
    },
    ("POST", "/api/v1/monitoring/notices/{notice_id}/events"): {"event": "sent", "on_date": "2026-01-15"},
    ("POST", "/api/v1/monitoring/notices/{notice_id}/email"): {"to": "a@b.ru"},
    ("POST", "/api/v1/monitoring/restriction-cases"): {"utility": "gas"},
    ("POST", "/api/v1/monitoring/restriction-cases/{case_id}/events"): {
        "event": "agreement",
        "on_date": "2026-01-15",
    },
}
QUERIES: dict[str, dict[str, str]] = {
    "/api/v1/accounts": {"account_number": "X-1"},
    "/api/v1/organisations/{organisation_id}/debt-requests/archived": {
        "deadline_from": "2020-01-01",
        "deadline_to": "2030-01-01",
        "confirm": "DELETE",
    },
    "/api/v1/monitoring/report": {"month": "2026-03-01"},
    "/api/v1/monitoring/restriction-cases": {"account_number": "X-1"},
}


async def test_other_organisations_data_is_invisible(api: httpx.AsyncClient, session: AsyncSession) -> None:
    mine = await make_org(session, name="УК Своя")
    token = await make_token(session, orgs=[mine.id], name="mine")  # every scope, but only its organisation
    values = await _other_org_resources(session)
    checked = []
    for method, path, op in OPERATIONS:
        params = {p["name"] for p in op.get("parameters", [])}
        in_path = set(re.findall(r"\{(\w+)\}", path)) & set(values)
        if (method, path) in BODIES:
            body_values = dict(BODIES[method, path])
            if "{" not in path:
                body_values["organisation_id"] = values["organisation_id"]
            resp = await api.request(method, _url(path, values), json=body_values, headers=bearer(token))
        elif in_path or "organisation_id" in params:
            query = {"organisation_id": values["organisation_id"]} if "organisation_id" in params else {}
            query.update(QUERIES.get(path, {}))
            body = {"json": {}} if "requestBody" in op else {}
            resp = await api.request(method, _url(path, values), params=query, headers=bearer(token), **body)
        else:
            continue
        # 404: the other organisation's resources do not exist for this key. 422 only where the body is
        # refused by schema validation before any lookup (so no data was touched either); never 2xx.
        assert resp.status_code in (404, 403, 422), (method, path, resp.status_code, resp.text)
        if resp.status_code == 422:
            assert all(e["path"].startswith("body") for e in resp.json()["errors"]), (method, path, resp.text)
        else:
            checked.append(f"{method} {path}")
    assert len(checked) >= 30, checked
