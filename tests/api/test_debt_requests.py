"""Debt-request API: inbox and filters, answers with rule errors, documents, masking, operations, archive."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.db.models.debt_requests import DebtSubrequest
from app.domain.debt_requests import fetch
from app.domain.debt_requests.common import today
from app.domain.kernel.snils import random_valid_snils
from tests.domain.test_debt_requests import make_gis_subrequest
from tests.factories import bearer, make_org, make_token

RNG = random.Random(11)


async def _seed(session: AsyncSession, n: int = 5) -> tuple[Organisation, list[DebtSubrequest]]:
    org = await make_org(session)
    rows = [make_gis_subrequest(i, deadline=today() + timedelta(days=3 + i), flat=str(i)) for i in range(n)]
    await fetch.upsert_subrequests(session, organisation_id=org.id, subrequests=rows)
    subs = list(
        (
            await session.scalars(
                select(DebtSubrequest)
                .where(DebtSubrequest.organisation_id == org.id)
                .order_by(DebtSubrequest.response_date)
            )
        ).all()
    )
    return org, subs


def _defendant(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {"last_name": "Иванов", "first_name": "Иван", "snils": random_valid_snils(RNG)}
    body.update(kw)
    return body


async def test_list_filters_paginates_and_shows_deadline(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org, subs = await _seed(session, 5)
    token = await make_token(session, scopes=["read"], orgs=[org.id])
    first = await api.get("/api/v1/debt-requests", params={"limit": 2}, headers=bearer(token))
    assert first.status_code == 200, first.text
    page = first.json()
    assert [i["id"] for i in page["items"]] == [str(s.id) for s in subs[:2]]
    assert page["items"][0]["deadline"]["overdue"] is False
    assert page["items"][0]["status"] == "received"
    second = await api.get(
        "/api/v1/debt-requests", params={"limit": 10, "cursor": page["next_cursor"]}, headers=bearer(token)
    )
    assert [i["id"] for i in second.json()["items"]] == [str(s.id) for s in subs[2:]]
    assert second.json()["next_cursor"] is None
    by_number = await api.get(
        "/api/v1/debt-requests", params={"request_number": subs[3].request_number}, headers=bearer(token)
    )
    assert [i["id"] for i in by_number.json()["items"]] == [str(subs[3].id)]
    by_text = await api.get("/api/v1/debt-requests", params={"q": "ТЕСТОВАЯ"}, headers=bearer(token))
    assert len(by_text.json()["items"]) == 5
    detail = await api.get(f"/api/v1/debt-requests/{subs[0].id}", headers=bearer(token))
    assert detail.status_code == 200
    assert detail.json()["history"][0]["to_status"] == "received"
    assert detail.json()["premises"] == "кв. 0"


async def test_other_organisation_is_invisible(api: httpx.AsyncClient, session: AsyncSession) -> None:
    _org, subs = await _seed(session, 1)
    other = await make_org(session)
    token = await make_token(session, orgs=[other.id])
    assert (await api.get(f"/api/v1/debt-requests/{subs[0].id}", headers=bearer(token))).status_code == 404
    listed = await api.get("/api/v1/debt-requests", headers=bearer(token))
    assert listed.json()["items"] == []


async def test_bad_snils_and_missing_defendant_are_named(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org, subs = await _seed(session, 1)
    token = await make_token(session, orgs=[org.id])
    good = random_valid_snils(RNG)
    wrong = good[:9] + f"{(int(good[9:]) + 1) % 100:02d}"
    url = f"/api/v1/debt-requests/{subs[0].id}/answer"
    bad = await api.put(
        url, json={"has_debt": True, "defendants": [_defendant(snils=wrong)]}, headers=bearer(token)
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert {"path": "body.defendants.0.snils", "rule": "snils_checksum"}.items() <= bad.json()["errors"][
        0
    ].items()
    assert str(subs[0].id) in bad.json()["detail"]
    empty = await api.put(url, json={"has_debt": True}, headers=bearer(token))
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["rule"] == "has_debt_requires_defendant"
    ok = await api.put(url, json={"has_debt": True, "defendants": [_defendant()]}, headers=bearer(token))
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "prepared" and ok.json()["answer"]["defendants"][0]["last_name"] == "Иванов"


async def test_answer_to_archived_request_conflicts(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org, subs = await _seed(session, 1)
    token = await make_token(session, orgs=[org.id])
    archived = await api.post(f"/api/v1/debt-requests/{subs[0].id}/archive", json={}, headers=bearer(token))
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    resp = await api.put(
        f"/api/v1/debt-requests/{subs[0].id}/answer", json={"has_debt": False}, headers=bearer(token)
    )
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["rule"] == "request_archived"


async def test_unknown_organisation_is_a_problem(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    resp = await api.post(
        f"/api/v1/organisations/{uuid.uuid4()}/debt-requests/fetch", json={}, headers=bearer(token)
    )
    assert resp.status_code == 404 and resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"][0]["rule"] == "organisation_exists"


async def test_pii_masked_without_scope(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org, subs = await _seed(session, 1)
    writer = await make_token(session, orgs=[org.id])
    reader = await make_token(session, scopes=["read"], orgs=[org.id])
    await api.put(
        f"/api/v1/debt-requests/{subs[0].id}/answer",
        json={"has_debt": True, "defendants": [_defendant()]},
        headers=bearer(writer),
    )
    shown = (await api.get(f"/api/v1/debt-requests/{subs[0].id}", headers=bearer(reader))).json()
    person = shown["answer"]["defendants"][0]
    assert person == person | {"masked": True, "last_name": "И.", "snils": None}


async def test_mass_no_debt_by_filter_and_by_ids(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org, subs = await _seed(session, 4)
    ids = [str(s.id) for s in subs]  # the app shares this session and expires what it bulk-updates
    token = await make_token(session, orgs=[org.id])
    await api.post(f"/api/v1/debt-requests/{ids[0]}/archive", json={}, headers=bearer(token))
    by_filter = await api.post(
        "/api/v1/debt-requests/answers/no-debt",
        json={"filter": {"organisation_id": str(org.id), "status": ["received"]}},
        headers=bearer(token),
    )
    assert by_filter.status_code == 200, by_filter.text
    assert by_filter.json()["prepared"] == 3
    refused = await api.post(
        "/api/v1/debt-requests/answers/no-debt",
        json={"ids": [ids[1], ids[0]]},
        headers=bearer(token),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"path": "body.ids.1", "rule": "request_archived", "message": refused.json()["errors"][0]["message"]}
    ]
    both = await api.post(
        "/api/v1/debt-requests/answers/no-debt", json={"ids": [], "filter": {}}, headers=bearer(token)
    )
    assert both.status_code == 422


async def test_document_upload_and_answer_reference(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org, subs = await _seed(session, 1)
    token = await make_token(session, orgs=[org.id])
    url = f"/api/v1/debt-requests/{subs[0].id}/documents"
    files = {"file": ("приказ.pdf", b"%PDF-1.4 court act", "application/pdf")}
    resp = await api.post(url, data={"type_code": "1"}, files=files, headers=bearer(token))
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert len(doc["gost94_hash"]) == 64 and doc["file_guid"] is None and doc["size"] == 18
    unknown = await api.post(url, data={"type_code": "999"}, files=files, headers=bearer(token))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["rule"] == "nsi358_code"
    answer = {"has_debt": True, "defendants": [_defendant(document_ids=[doc["id"]])]}
    ok = await api.put(f"/api/v1/debt-requests/{subs[0].id}/answer", json=answer, headers=bearer(token))
    assert ok.status_code == 200, ok.text
    assert ok.json()["documents"][0]["id"] == doc["id"]
    in_use = await api.delete(f"{url}/{doc['id']}", headers=bearer(token))
    assert in_use.status_code == 409


async def test_operations_are_queued_with_202(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org, subs = await _seed(session, 2)
    token = await make_token(session, orgs=[org.id])
    fetched = await api.post(
        f"/api/v1/organisations/{org.id}/debt-requests/fetch",
        json={"date_from": "2025-01-01", "date_to": "2025-12-31"},
        headers=bearer(token),
    )
    assert fetched.status_code == 202 and fetched.json()["kind"] == "debt-fetch"
    matched = await api.post(f"/api/v1/organisations/{org.id}/debt-requests/match", headers=bearer(token))
    assert matched.status_code == 202 and matched.json()["kind"] == "debt-match"
    sent = await api.post(
        f"/api/v1/organisations/{org.id}/debt-requests/send", json={}, headers=bearer(token)
    )
    assert sent.status_code == 202 and sent.json()["kind"] == "debt-send"
    polled = await api.get(f"/api/v1/operations/{sent.json()['id']}", headers=bearer(token))
    assert polled.status_code == 200 and polled.json()["status"] == "pending"
    not_sent = await api.post(f"/api/v1/debt-requests/{subs[0].id}/revoke", json={}, headers=bearer(token))
    assert not_sent.status_code == 409 and not_sent.json()["errors"][0]["rule"] == "revoke_requires_sent"
    reader = await make_token(session, scopes=["read"], orgs=[org.id])
    denied = await api.post(f"/api/v1/organisations/{org.id}/debt-requests/send", headers=bearer(reader))
    assert denied.status_code == 403


async def test_delete_archived_by_period(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org, subs = await _seed(session, 3)
    token = await make_token(session, orgs=[org.id])
    for sub in subs[:2]:
        await api.post(f"/api/v1/debt-requests/{sub.id}/archive", json={}, headers=bearer(token))
    url = f"/api/v1/organisations/{org.id}/debt-requests/archived"
    period = {"deadline_from": str(today()), "deadline_to": str(today() + timedelta(days=60))}
    refused = await api.delete(url, params=period, headers=bearer(token))
    assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "confirmation_required"
    done = await api.delete(url, params=period | {"confirm": "DELETE"}, headers=bearer(token))
    assert done.status_code == 200 and done.json() == {"deleted": 2}
    left = await api.get("/api/v1/debt-requests", headers=bearer(token))
    assert [i["id"] for i in left.json()["items"]] == [str(subs[2].id)]


async def test_mass_no_debt_keeps_drafted_answers_and_reports_them(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org, subs = await _seed(session, 4)
    ids = [str(s.id) for s in subs]
    token = await make_token(session, orgs=[org.id])
    debt = {"has_debt": True, "description": "Судебный приказ № 2-1/2025", "defendants": [_defendant()]}
    drafted = await api.put(f"/api/v1/debt-requests/{ids[1]}/answer", json=debt, headers=bearer(token))
    assert drafted.status_code == 200, drafted.text
    no_debt = await api.put(
        f"/api/v1/debt-requests/{ids[2]}/answer", json={"has_debt": False}, headers=bearer(token)
    )
    assert no_debt.status_code == 200
    url = "/api/v1/debt-requests/answers/no-debt"
    by_filter = await api.post(url, json={"filter": {"organisation_id": str(org.id)}}, headers=bearer(token))
    assert by_filter.status_code == 200, by_filter.text
    body = by_filter.json()
    assert (body["prepared"], body["skipped"]) == (2, 2)
    assert sorted(body["ids"]) == sorted([ids[0], ids[3]])
    assert {(x["id"], x["rule"]) for x in body["skipped_items"]} == {
        (ids[1], "answer_drafted"),
        (ids[2], "answer_drafted"),
    }
    kept = (await api.get(f"/api/v1/debt-requests/{ids[1]}", headers=bearer(token))).json()["answer"]
    assert kept["has_debt"] is True and len(kept["defendants"]) == 1 and kept["source"] == "manual"
    # By id without overwrite: still kept, and said so.
    by_id = await api.post(url, json={"ids": [ids[1]]}, headers=bearer(token))
    assert by_id.status_code == 200
    assert (by_id.json()["prepared"], by_id.json()["skipped_items"][0]["rule"]) == (0, "answer_drafted")
    # overwrite is refused for a filter: only named requests may lose their drafted answer.
    wide = await api.post(
        url, json={"filter": {"organisation_id": str(org.id)}, "overwrite": True}, headers=bearer(token)
    )
    assert wide.status_code == 422
    assert wide.json()["errors"][0] == wide.json()["errors"][0] | {
        "path": "body.overwrite",
        "rule": "overwrite_needs_ids",
    }
    replaced = await api.post(url, json={"ids": [ids[1]], "overwrite": True}, headers=bearer(token))
    assert replaced.status_code == 200 and replaced.json()["ids"] == [ids[1]]
    now = (await api.get(f"/api/v1/debt-requests/{ids[1]}", headers=bearer(token))).json()
    assert now["answer"]["has_debt"] is False and now["answer"]["source"] == "no_debt"
    assert "overwrite" in now["history"][-1]["reason"]
