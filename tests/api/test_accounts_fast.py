"""The account search's fast path: its JSON is the response model's, and what the middlewares it skips do
(request id, access line, metrics) and what it leaves to the app (auth, scopes, masking, the write rate) still
happen. The byte-for-byte comparison with the route over real requests is in test_accounts.py
(`test_search_fast_path_answers_like_the_route`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from app.api.accounts import AccountsPage, _read
from app.api.accounts_fast import SEARCH_PATH, AccountSearchFastPath, page_json
from app.db.engine import create_engine, create_sessionmaker
from app.domain.accounts import registry as service
from app.domain.kernel.access import Principal, forget_authenticated_keys
from app.main import create_app
from app.metrics import HTTP_REQUESTS
from tests.api.test_accounts import HOUSE, SNILS, seed
from tests.conftest import make_settings
from tests.factories import bearer, make_token

_PAGE = TypeAdapter(AccountsPage)

# Text as a database column can hold it: any character but NUL and surrogates.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_opt_text = st.none() | _text
_opt_uuid = st.none() | st.uuids()
_opt_date = st.none() | st.dates()
_money = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def _hits(draw: st.DrawFn) -> service.AccountHit:
    kind = draw(st.sampled_from(["person", "organisation", "entrepreneur"]))
    account = SimpleNamespace(
        id=draw(st.uuids()),
        organisation_id=draw(st.uuids()),
        account_number=draw(_text),
        els=draw(_opt_text),
        zhku_id=draw(_opt_text),
        gis_account_guid=draw(_opt_uuid),
        opened_on=draw(_opt_date),
        closed_on=draw(_opt_date),
        closed=draw(st.booleans()),
        dispute=draw(st.booleans()),
        bankruptcy=draw(st.booleans()),
        payer_kind=kind,
        last_name=draw(_opt_text),
        first_name=draw(_opt_text),
        middle_name=draw(_opt_text),
        birth_date=draw(_opt_date),
        birth_place=draw(_opt_text),
        snils=draw(_opt_text),
        id_doc_type=draw(_opt_text),
        id_doc_series=draw(_opt_text),
        id_doc_number=draw(_opt_text),
        inn=draw(_opt_text),
        org_name=draw(_opt_text),
        org_ogrn=draw(_opt_text),
        phone=draw(_opt_text),
        email=draw(_opt_text),
    )
    premises = []
    for _ in range(draw(st.integers(0, 3))):
        p = SimpleNamespace(
            id=draw(st.uuids()),
            number_raw=draw(_text),
            number_norm=draw(_text),
            kind=draw(st.sampled_from(["residential", "non_residential", "room"])),
            residential=draw(st.booleans()),
            cadastral_number=draw(_opt_text),
            gis_premises_guid=draw(_opt_uuid),
        )
        h = SimpleNamespace(
            id=draw(st.uuids()),
            fias_house_guid=draw(_opt_uuid),
            hm_object_guid=draw(_opt_uuid),
            address=draw(_opt_text),
            region=draw(_opt_text),
        )
        premises.append((p, h, draw(st.none() | st.decimals(0, 100, places=2))))
    summary = draw(
        st.none()
        | st.builds(
            service.LedgerSummary,
            debt=_money,
            outstanding=_money,
            months_in_debt=st.integers(0, 600),
            oldest_debt_period=_opt_date,
            months=st.just(()),
        )
    )
    quality = draw(st.sampled_from([None, "exact", "normalised", "house_only"]))
    return service.AccountHit(account=account, premises=premises, quality=quality, summary=summary)


@settings(max_examples=300, deadline=None)
@given(
    hits=st.lists(_hits(), max_size=3),
    cursor=st.none() | st.text("ABCabc012-_", min_size=1, max_size=22),
    pii=st.booleans(),
    day=st.dates(),
)
def test_page_json_is_the_response_models_json(
    hits: list[service.AccountHit], cursor: str | None, pii: bool, day: date
) -> None:
    principal = Principal(key_id=None, name="t", scopes=frozenset({"read", "pii"} if pii else {"read"}))
    page = service.AccountPage(items=hits, next_cursor=cursor)
    want = _PAGE.dump_json(
        AccountsPage(items=[_read(h, principal, day) for h in hits], next_cursor=cursor), by_alias=True
    )
    assert page_json(page, principal, day) == want


def test_page_json_of_rounded_amounts() -> None:
    """Amounts keep their scale as the response model writes them (`100.00`, not `100`)."""
    hit = service.AccountHit(
        account=SimpleNamespace(
            **dict.fromkeys(
                ("els", "zhku_id", "gis_account_guid", "opened_on", "closed_on", "inn", "phone", "email"),
                None,
            ),
            id=uuid.uuid4(),
            organisation_id=uuid.uuid4(),
            account_number="1",
            closed=False,
            dispute=False,
            bankruptcy=False,
            payer_kind="organisation",
            org_name='ООО «Ромашка» "кв." \\ \t',
            org_ogrn=None,
        ),
        summary=service.LedgerSummary(
            debt=Decimal("100.00"),
            outstanding=Decimal("0"),
            months_in_debt=0,
            oldest_debt_period=None,
            months=(),
        ),
    )
    principal = Principal(key_id=None, name="t", scopes=frozenset({"read"}))
    page = service.AccountPage(items=[hit], next_cursor=None)
    got = page_json(page, principal, date(2025, 6, 1))
    assert got == _PAGE.dump_json(
        AccountsPage(items=[_read(hit, principal, date(2025, 6, 1))], next_cursor=None)
    )
    assert b'"debt":"100.00","outstanding":"0"' in got


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
async def gateway(fresh_database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any], Any]]:
    """An app with the fast path (and a write rate of one per minute) on a fresh database with the seed."""
    engine = create_engine(fresh_database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        s = await seed(session)
        s["sender"] = await make_token(session, scopes=["send"], orgs=[s["org"].id])
    await engine.dispose()
    settings = make_settings(fresh_database_url, write_rate_per_minute=1, write_burst=1)
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gisgw.test"
        ) as client:
            yield client, s, app
    forget_authenticated_keys()


async def test_fast_path_keeps_request_id_access_line_and_metrics(
    gateway: tuple[httpx.AsyncClient, dict[str, Any], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, s, app = gateway
    answered: list[bool] = []
    answer = AccountSearchFastPath._answer

    async def counting(self: AccountSearchFastPath, scope: Any) -> bytes | None:
        body = await answer(self, scope)
        answered.append(body is not None)
        return body

    monkeypatch.setattr(AccountSearchFastPath, "_answer", counting)
    token = s["token"]
    await client.get(SEARCH_PATH, params={"account_number": "1"}, headers=bearer(token))  # the route first
    assert answered == [False]
    # On PostgreSQL the fast path reads through its own asyncpg pool; elsewhere through the engine.
    assert (app.state.search_pool is not None) == (app.state.engine.dialect.name == "postgresql")

    access = logging.getLogger("gisgw.access")
    lines = _Lines()
    access.addHandler(lines)
    level = access.level
    access.setLevel(logging.INFO)
    counter = HTTP_REQUESTS.labels("GET", SEARCH_PATH, "200")
    before = counter._value.get()
    try:
        query = {"last_name": "Ёжиков", "first_name": "Пётр", "birth_date": "1970-05-06"}
        sane = await client.get(
            SEARCH_PATH, params=query, headers={**bearer(token), "X-Request-ID": "req-1.a_B"}
        )
        odd = await client.get(
            SEARCH_PATH, params=query, headers={**bearer(token), "X-Request-ID": "no spaces"}
        )
    finally:
        access.removeHandler(lines)
        access.setLevel(level)
    assert answered[1:] == [True, True]
    assert sane.status_code == odd.status_code == 200 and sane.json()["items"]
    assert sane.headers["x-request-id"] == "req-1.a_B"
    generated = odd.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    # One access line each: the route's template and the parameter names, never their values.
    assert len(lines.lines) == 2, lines.lines
    assert all(
        line.startswith("GET /api/v1/accounts?birth_date,first_name,last_name 200 ") for line in lines.lines
    )
    assert not any("Ёжиков" in line or "1970" in line for line in lines.lines)
    assert counter._value.get() == before + 2


async def test_fast_path_keeps_masking_scopes_and_the_write_rate(
    gateway: tuple[httpx.AsyncClient, dict[str, Any], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, s, _app = gateway
    answered: list[bool] = []
    answer = AccountSearchFastPath._answer

    async def counting(self: AccountSearchFastPath, scope: Any) -> bytes | None:
        body = await answer(self, scope)
        answered.append(body is not None)
        return body

    monkeypatch.setattr(AccountSearchFastPath, "_answer", counting)
    masked = s["masked"]
    for _ in range(2):  # the route authenticates the key, then the fast path answers
        resp = await client.get(
            SEARCH_PATH, params={"fias_house_guid": str(HOUSE), "premises": "12а"}, headers=bearer(masked)
        )
        assert resp.status_code == 200
    assert answered == [False, True]
    payers = [item["payer"] for item in resp.json()["items"]]
    assert payers and all(p["masked"] and p["last_name"] == "Ё." and p["snils"] is None for p in payers)
    assert SNILS not in resp.text and "Ёжиков" not in resp.text
    # A search by a person needs `pii`: the fast path passes it on and the route refuses it.
    refused = await client.get(SEARCH_PATH, params={"snils": SNILS}, headers=bearer(masked))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert answered[-1] is False
    # A NUL in the query: the guard's 422 naming the parameter, not a search.
    nul = await client.get(SEARCH_PATH, params={"account_number": "1\x00"}, headers=bearer(masked))
    assert nul.status_code == 422 and answered[-1] is False
    # Writes never take the fast path: the write rate (one a minute here) still refuses the second.
    body = {"organisation_id": str(s["org"].id), "els": ["00АА000001"]}
    writes = [
        (await client.post("/api/v1/accounts/syncs", json=body, headers=bearer(s["sender"]))).status_code
        for _ in range(2)
    ]
    assert writes == [202, 429]
