"""Accounts API: search paths, masking, pagination, details with ledger, import upload, statistics."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.accounts_fast import AccountSearchFastPath
from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import Operation
from app.domain.accounts.importing import upsert_accounts
from app.domain.kernel.snils import random_valid_snils
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import bearer, make_org, make_token

HOUSE = uuid.UUID("0c5b2444-70a0-4932-980c-b4dc0d3f02b5")
OTHER_HOUSE = uuid.UUID("8a1a6b4e-3f5c-4b2d-9f7e-1c2d3e4f5a6b")
SNILS = random_valid_snils(random.Random(3))


def row(number: str, number_text: str, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "account_number": number,
        "els": f"00АА{number:0>6}",
        "zhku_id": f"00АА{number:0>6}-01",
        "opened_on": "2020-01-01",
        "payer": {
            "kind": "person",
            "last_name": "Ёжиков",
            "first_name": "Пётр",
            "middle_name": "Ильич",
            "birth_date": "1970-05-06",
            "snils": SNILS,
            "document": {"type": "21", "series": "4510", "number": "123456"},
        },
        "premises": [{"fias_house_guid": str(HOUSE), "number": number_text, "share_percent": "100"}],
        "ledger": [
            {"period": "2025-01-01", "charged": "1000.00", "paid": "0"},
            {"period": "2025-02-01", "charged": "1000.00", "paid": "1000.00"},
            {"period": "2025-03-01", "charged": "1000.00", "paid": "400.00"},
        ],
    }
    data.update(kw)
    return data


async def seed(session: AsyncSession) -> dict[str, Any]:
    org = await make_org(session)
    other = await make_org(session, inn="7709999999")
    ids = await upsert_accounts(
        session=session,
        organisation_id=org.id,
        rows=[
            row("1", "кв. 12а", phone="8 (912) 345-67-89", email="ezhikov@example.ru"),
            row("2", "Кв.12-A"),
            row(
                "3",
                "пом. 3Н",
                premises=[{"fias_house_guid": str(HOUSE), "number": "3", "kind": "non_residential"}],
            ),
            row("4", "комн. 5"),
            row(
                "5",
                "1",
                premises=[{"fias_house_guid": str(OTHER_HOUSE), "number": "1"}],
                payer={"kind": "organisation", "name": "ООО Ромашка", "inn": "7701234567"},
            ),
        ],
    )
    await upsert_accounts(session=session, organisation_id=other.id, rows=[row("1", "кв. 12А")])
    token = await make_token(session, scopes=["read", "pii", "answer"], orgs=[org.id])
    masked = await make_token(session, scopes=["read"], orgs=[org.id])
    return {"org": org, "other": other, "ids": ids, "token": token, "masked": masked}


async def _get(api: httpx.AsyncClient, token: str, **params: Any) -> httpx.Response:
    return await api.get("/api/v1/accounts", params=params, headers=bearer(token))


async def test_search_by_house_and_normalised_premises(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    resp = await _get(api, s["token"], fias_house_guid=str(HOUSE), premises="12 а")
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    # Only the key's organisation: the other organisation's flat 12А stays invisible.
    assert sorted(i["account_number"] for i in items) == ["1", "2"]
    assert {i["match_quality"] for i in items} == {"normalised"}
    # One premises row per normalised number, shared by organisations; it keeps the spelling sent last.
    exact = (await _get(api, s["token"], fias_house_guid=str(HOUSE), premises="кв. 12А", exact="true")).json()
    assert sorted((i["account_number"], i["match_quality"]) for i in exact["items"]) == [
        ("1", "exact"),
        ("2", "exact"),
    ]
    none = (await _get(api, s["token"], fias_house_guid=str(HOUSE), premises="Кв.12-A", exact="true")).json()
    assert none["items"] == []


async def test_search_non_residential_and_room(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    for text, number in (("нежилое помещение 3", "3"), ("пом. 3-Н", "3"), ("комната 5", "4")):
        items = (await _get(api, s["token"], fias_house_guid=str(HOUSE), premises=text)).json()["items"]
        assert [i["account_number"] for i in items] == [number], text


async def test_search_by_identifiers(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    for params in (
        {"account_number": "2"},
        {"els": "00аа000002"},
        {"zhku_id": "00АА000002-01"},
    ):
        items = (await _get(api, s["token"], **params)).json()["items"]
        assert [i["account_number"] for i in items] == ["2"], params


async def test_search_by_person_needs_pii_scope(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    by_snils = await _get(api, s["token"], snils=f"{SNILS[:3]}-{SNILS[3:6]}-{SNILS[6:9]} {SNILS[9:]}")
    assert len(by_snils.json()["items"]) == 4
    by_name = await _get(
        api, s["token"], last_name="ежиков", first_name="ПЁТР", middle_name="ильич", birth_date="1970-05-06"
    )
    assert len(by_name.json()["items"]) == 4
    assert (await _get(api, s["masked"], snils=SNILS)).status_code == 403


async def test_search_masks_personal_data_without_pii(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    item = (await _get(api, s["masked"], account_number="1")).json()["items"][0]
    assert item["payer"] == {
        "kind": "person",
        "masked": True,
        "last_name": "Ё.",
        "first_name": "П.",
        "middle_name": "И.",
        "birth_date": None,
        "birth_place": None,
        "snils": None,
        "document": None,
        "inn": None,
        "name": None,
        "ogrn": None,
        "phone": "***",
        "email": "***",
    }
    full = (await _get(api, s["token"], account_number="1")).json()["items"][0]
    assert full["payer"]["snils"] == SNILS and full["payer"]["document"]["number"] == "123456"
    # Contacts: normalised by the import, shown with `pii` only.
    assert (full["payer"]["phone"], full["payer"]["email"]) == ("+79123456789", "ezhikov@example.ru")


async def test_search_with_debt_and_keyset_pagination(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {
            "fias_house_guid": str(HOUSE),
            "with_debt": "true",
            "limit": 2,
            "as_of": "2025-06-01",
        }
        if cursor:
            params["cursor"] = cursor
        page = (await _get(api, s["token"], **params)).json()
        seen += [i["account_number"] for i in page["items"]]
        for i in page["items"]:
            assert i["match_quality"] == "house_only"
            assert i["debt"]["debt"] == "1600.00" and i["debt"]["months_in_debt"] == 2
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["1", "2", "3", "4"]


async def test_search_rejects_missing_criteria_and_bad_cursor(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await seed(session)
    resp = await _get(api, s["token"])
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["rule"] == "criterion_required"
    resp = await _get(api, s["token"], premises="12")
    assert resp.json()["errors"][0]["path"] == "query.premises"
    assert (await _get(api, s["token"], account_number="1", cursor="!!")).status_code == 422


async def test_search_query_string_errors_name_the_parameter(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await seed(session)
    resp = await _get(api, s["token"], els="short")
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert [(e["path"], e["rule"]) for e in resp.json()["errors"]] == [("query.els", "string_too_short")]
    resp = await _get(api, s["token"], account_number="1", limit="0", exact="maybe")
    assert {e["path"] for e in resp.json()["errors"]} == {"query.limit", "query.exact"}
    # Unknown parameters are ignored, as FastAPI ignores them on other routes.
    assert (await _get(api, s["token"], account_number="1", _="1700000000")).status_code == 200


async def test_search_parameters_are_in_the_openapi_spec(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    params = {p["name"]: p for p in spec["paths"]["/api/v1/accounts"]["get"]["parameters"]}
    assert {"fias_house_guid", "premises", "els", "limit", "cursor", "with_debt"} <= set(params)
    assert params["els"]["in"] == "query" and params["els"]["schema"]["anyOf"][0]["minLength"] == 10
    assert params["limit"]["schema"]["maximum"] == 500 and params["limit"]["required"] is False


async def test_search_scope_organisation_checks_access(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    resp = await _get(
        api, s["token"], account_number="1", scope="organisation", organisation_id=str(s["other"].id)
    )
    assert resp.status_code == 404
    admin = await make_token(session, scopes=["read"], all_orgs=True)
    both = (await _get(api, admin, account_number="1")).json()["items"]
    assert len(both) == 2
    one = (
        await _get(api, admin, account_number="1", scope="organisation", organisation_id=str(s["org"].id))
    ).json()
    assert [i["organisation_id"] for i in one["items"]] == [str(s["org"].id)]


async def test_get_account_with_ledger(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    resp = await api.get(
        f"/api/v1/accounts/{s['ids'][0]}", params={"as_of": "2025-04-20"}, headers=bearer(s["token"])
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["premises"][0]["number_norm"] == "12А"
    assert body["premises"][0]["house"]["fias_house_guid"] == str(HOUSE)
    assert [(m["period"], m["outstanding"], m["days_overdue"]) for m in body["ledger"]] == [
        ("2025-01-01", "1000.00", 69),
        ("2025-02-01", "0.00", 0),
        ("2025-03-01", "600.00", 10),
    ]
    assert body["debt"]["debt"] == "1600.00" and body["debt"]["oldest_debt_period"] == "2025-01-01"
    other_acc = await upsert_accounts(session=session, organisation_id=s["other"].id, rows=[row("9", "1")])
    assert (await api.get(f"/api/v1/accounts/{other_acc[0]}", headers=bearer(s["token"]))).status_code == 404


async def test_upload_import_queues_operation(
    api: httpx.AsyncClient, session: AsyncSession, tmp_path: Any, monkeypatch: Any
) -> None:
    s = await seed(session)
    monkeypatch.chdir(tmp_path)  # GISGW_UPLOAD_DIR is relative: var/uploads under the working directory
    resp = await api.post(
        "/api/v1/accounts/imports",
        headers=bearer(s["token"]),
        data={"organisation_id": str(s["org"].id)},
        files={"file": ("accounts.csv", b"account_number\n", "text/csv")},
    )
    assert resp.status_code == 202, resp.text
    op = await session.get(Operation, uuid.UUID(resp.json()["id"]))
    assert op is not None and op.kind == "accounts-import" and op.params is not None
    assert op.params["format"] == "csv"
    assert [p.name for p in (tmp_path / "var" / "uploads").iterdir()] == [
        op.params["path"].rsplit("/", 1)[-1]
    ]
    denied = await api.post(
        "/api/v1/accounts/imports",
        headers=bearer(s["masked"]),
        data={"organisation_id": str(s["org"].id)},
        files={"file": ("a.jsonl", b"{}", "application/x-ndjson")},
    )
    assert denied.status_code == 403


async def test_premises_statistics(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    await upsert_accounts(
        session=session,
        organisation_id=s["org"].id,
        rows=[row("6", "кв. 99", opened_on="2025-03-15", closed_on="2025-05-31")],
    )
    resp = await api.get(
        f"/api/v1/organisations/{s['org'].id}/statistics/premises",
        params={"year": 2025},
        headers=bearer(s["token"]),
    )
    assert resp.status_code == 200, resp.text
    months = {m["month"]: m["premises"] for m in resp.json()["months"]}
    # 12А (two accounts, one premises), room 5 and the other house's flat 1; 3Н is not residential.
    assert months[1] == 3 and months[3] == 4 and months[5] == 4 and months[6] == 3
    assert resp.json()["maximum"] == 4
    hidden = await api.get(
        f"/api/v1/organisations/{s['other'].id}/statistics/premises", headers=bearer(s["token"])
    )
    assert hidden.status_code == 404


async def test_sync_queues_operation_or_explains(api: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    sender = await make_token(session, scopes=["read", "send"], orgs=[s["org"].id])
    ok = await api.post(
        "/api/v1/accounts/syncs",
        json={"organisation_id": str(s["org"].id), "els": ["00АА000001", "00АА000002"]},
        headers=bearer(sender),
    )
    assert ok.status_code == 202, ok.text
    op = await session.get(Operation, uuid.UUID(ok.json()["id"]))
    assert (
        op is not None
        and op.kind == "accounts-sync"
        and op.params
        == {
            "selector": "els",
            "values": ["00АА000001", "00АА000002"],
        }
    )
    both = await api.post(
        "/api/v1/accounts/syncs",
        json={"organisation_id": str(s["org"].id), "els": ["00АА000001"], "fias_house_guid": str(HOUSE)},
        headers=bearer(sender),
    )
    assert both.status_code == 422


async def test_search_fast_path_answers_like_the_route(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search fast path answers valid searches with the route's bytes; anything else reaches the route.

    Needs committed data: the fast path opens its own session (it steps aside when dependencies are
    overridden, as the `api` fixture does), so this test seeds a fresh database and runs two apps on it, one
    with the fast path and one without.
    """
    engine = create_engine(fresh_database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        s = await seed(session)
        stranger = await make_token(session, scopes=["read"], orgs=[s["other"].id])
        no_read = await make_token(session, scopes=["answer"], orgs=[s["org"].id])
    await engine.dispose()
    answered: list[int] = []
    answer = AccountSearchFastPath._answer

    async def counting(self: AccountSearchFastPath, scope: Any) -> bytes | None:
        body = await answer(self, scope)
        answered.append(body is not None)
        return body

    monkeypatch.setattr(AccountSearchFastPath, "_answer", counting)
    org, other = str(s["org"].id), str(s["other"].id)
    token, masked = s["token"], s["masked"]
    requests: list[tuple[str | None, Any, bool]] = [
        # (token, query, answered by the fast path)
        (token, {"fias_house_guid": str(HOUSE), "premises": "кв. 12А", "exact": "true"}, True),
        (token, {"fias_house_guid": str(HOUSE), "premises": "12 A"}, True),
        (
            token,
            {"fias_house_guid": str(HOUSE), "with_debt": "true", "as_of": "2025-06-01", "limit": "2"},
            True,
        ),
        (masked, {"account_number": "1"}, True),
        (token, {"els": "00АА000002"}, True),
        (token, {"zhku_id": "00АА000002-01"}, True),
        (token, {"gis_account_guid": str(uuid.uuid4())}, True),
        (token, {"snils": SNILS}, True),
        (token, {"last_name": "ёжиков", "first_name": "Пётр", "birth_date": "1970-05-06"}, True),
        (token, {"account_number": "1", "scope": "organisation", "organisation_id": org}, True),
        (token, {"account_number": "1", "_": "1700000000"}, True),
        (token, [("account_number", "9"), ("account_number", "1"), ("cursor", "")], True),  # last one wins
        (masked, {"snils": SNILS}, False),  # 403: no pii
        (no_read, {"account_number": "1"}, False),  # 403: no read
        (stranger, {"account_number": "1", "scope": "organisation", "organisation_id": org}, False),
        (token, {"account_number": "1", "organisation_id": other, "scope": "organisation"}, False),
        (token, {}, False),  # 422: no criterion
        (token, {"els": "short"}, False),  # 422 from the query model
        (token, {"account_number": "1", "cursor": "!!"}, False),
        (None, {"account_number": "1"}, False),  # 401
        ("gk_nope_nope", {"account_number": "1"}, False),  # 401
    ]
    apps = [
        create_app(make_settings(fresh_database_url, accounts_search_fast_path=flag))
        for flag in (True, False)
    ]
    async with LifespanManager(apps[0]) as fast, LifespanManager(apps[1]) as plain:
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=m.app), base_url="http://gisgw.test")
            for m in (fast, plain)
        ]
        # A key's first request goes to the route, which authenticates it; later ones may take the fast path.
        for tok in (token, masked, stranger, no_read):
            answered.clear()
            first = await clients[0].get(
                "/api/v1/accounts", params={"account_number": "1"}, headers=bearer(tok)
            )
            assert answered == [False] and first.status_code in (200, 403)
        for tok, params, expected in requests:
            answered.clear()
            headers = bearer(tok) if tok else {}
            got, want = [await c.get("/api/v1/accounts", params=params, headers=headers) for c in clients]
            assert answered[:1] == [expected], params
            assert (got.status_code, got.headers["content-type"]) == (
                want.status_code,
                want.headers["content-type"],
            )
            if got.status_code == 200:
                assert got.content == want.content, params
                assert got.json()["items"] or "gis_account_guid" in params
            else:
                assert {**got.json(), "request_id": None} == {**want.json(), "request_id": None}
        # The other way of passing a key, and the metrics label of the answered searches.
        got = await clients[0].get(
            "/api/v1/accounts", params={"account_number": "1"}, headers={"X-API-Key": token}
        )
        assert got.status_code == 200 and answered[-1]
        # Counted under the route's template like any request (the registry is shared by both apps).
        metrics = (await clients[0].get("/metrics")).text
        assert 'gisgw_http_requests_total{method="GET",route="/api/v1/accounts",status="200"}' in metrics
        for c in clients:
            await c.aclose()
