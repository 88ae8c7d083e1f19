"""Exchange journal API: scopes (admin; admin+pii for XML), organisation isolation, keyset pagination."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.exchange import DONE, PENDING, Exchange
from app.domain.exchanges import journal as reads
from app.gis_client import journal
from tests.factories import bearer, make_org, make_token


async def _exchange(
    session: AsyncSession, org_id: uuid.UUID, *, minutes_ago: int = 0, status: str = DONE
) -> Exchange:
    row = Exchange(
        organisation_id=org_id,
        service="debt-requests",
        operation="exportDebtSubrequests",
        status=status,
        payload={},
        attempts=1,
        failures=0,
        poll_count=2,
        result={"empty": False, "data": {"secret": "Иванов"}},
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    session.add(row)
    await session.flush()
    journal.add_entry(session, direction="out", operation="exportDebtSubrequests", data=b"<a>out</a>",
                      max_bytes=100, exchange_id=row.id, organisation_id=org_id)  # fmt: skip
    journal.add_entry(session, direction="in", operation="exportDebtSubrequests", data=b"<b>" + b"x" * 200,
                      max_bytes=100, exchange_id=row.id, organisation_id=org_id, http_status=200)  # fmt: skip
    await session.flush()
    return row


async def test_list_exchanges_needs_admin_and_hides_other_orgs(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    mine, other = await make_org(session), await make_org(session)
    await _exchange(session, mine.id)
    await _exchange(session, other.id)
    reader = await make_token(session, scopes=["read"], orgs=[mine.id])
    assert (await api.get("/api/v1/exchanges", headers=bearer(reader))).status_code == 403
    admin = await make_token(session, scopes=["admin"], orgs=[mine.id])
    page = (await api.get("/api/v1/exchanges", headers=bearer(admin))).json()
    assert {i["organisation_id"] for i in page["items"]} == {str(mine.id)}
    response = await api.get(f"/api/v1/exchanges?organisation_id={other.id}", headers=bearer(admin))
    assert response.status_code == 404


async def test_list_exchanges_paginates_with_cursor_and_filters(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session)
    rows = [await _exchange(session, org.id, minutes_ago=i) for i in range(5)]
    await _exchange(session, org.id, status=PENDING, minutes_ago=10)
    admin = await make_token(session, scopes=["admin"], orgs=[org.id])
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = f"&cursor={cursor}" if cursor else ""
        page = (await api.get(f"/api/v1/exchanges?status=done&limit=2{query}", headers=bearer(admin))).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(r.id) for r in rows]  # newest first, no gaps, no repeats
    bad = await api.get("/api/v1/exchanges?cursor=@@@", headers=bearer(admin))
    assert bad.status_code == 422


async def test_exchange_detail_shows_journal_metadata_and_result_only_with_pii(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session)
    row = await _exchange(session, org.id)
    admin = await make_token(session, scopes=["admin"], orgs=[org.id])
    body = (await api.get(f"/api/v1/exchanges/{row.id}", headers=bearer(admin))).json()
    assert [e["direction"] for e in body["journal"]] == ["out", "in"]
    assert body["journal"][1]["truncated"] is True and body["journal"][1]["size_bytes"] == 203
    assert "xml" not in body["journal"][0]
    assert body["result"] is None
    pii = await make_token(session, scopes=["admin", "pii"], orgs=[org.id])
    assert (await api.get(f"/api/v1/exchanges/{row.id}", headers=bearer(pii))).json()["result"] is not None


async def test_journal_xml_needs_admin_and_pii(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    row = await _exchange(session, org.id)
    entries = await reads.entries_of(session, row.id)
    url = f"/api/v1/exchanges/{row.id}/journal/{entries[0].id}/xml"
    admin = await make_token(session, scopes=["admin"], orgs=[org.id])
    assert (await api.get(url, headers=bearer(admin))).status_code == 403
    pii = await make_token(session, scopes=["admin", "pii"], orgs=[org.id])
    response = await api.get(url, headers=bearer(pii))
    assert response.status_code == 200
    assert response.text == "<a>out</a>" and response.headers["content-type"].startswith("application/xml")
    truncated = await api.get(f"/api/v1/exchanges/{row.id}/journal/{entries[1].id}/xml", headers=bearer(pii))
    assert truncated.headers["x-journal-truncated"] == "true" and len(truncated.content) == 100
    stranger = await make_token(session, scopes=["admin", "pii"], orgs=[(await make_org(session)).id])
    assert (await api.get(url, headers=bearer(stranger))).status_code == 404


async def test_journal_cleanup_removes_old_entries(session: AsyncSession) -> None:
    org = await make_org(session)
    row = await _exchange(session, org.id)
    old = journal.add_entry(session, direction="in", operation="getState", data=b"<x/>", max_bytes=10,
                            exchange_id=row.id)  # fmt: skip
    old.at = utcnow() - timedelta(days=400)
    await session.flush()
    assert await journal.cleanup(session, retention_days=365) >= 1
    assert len(await reads.entries_of(session, row.id)) == 2
