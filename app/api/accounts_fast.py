"""`GET /api/v1/accounts` without the framework's per-request machinery: the account search's fast path.

Profiles of the lookup benchmark (docs/benchmarks.md "## Accounts", "## Ratios to the floor") put more of a
search's CPU into the layers around it — uvicorn → five middlewares → route matching → dependency solving →
the response model's validation and serialisation — and into SQLAlchemy's pool checkout than into the search.
`AccountSearchFastPath` is tried before all of them (`GatewayApp`, the app's class) and answers the common
case itself:

- a key the route has authenticated in the last few seconds (`remembered_principal`) that holds `read`
  (and `pii` for a search by a person: the route's own `_find` checks it);
- a query the route's parameter model accepts, without a NUL character (the guard's refusal);

through the route's `_find` on a connection of the raw asyncpg pool (`app/db/raw_pool.py`; on SQLite an
autocommit connection of the engine), the rows encoded straight to JSON by msgspec (`page_json`) with the
bytes the route sends (pydantic's JSON of `AccountsPage`; a test compares them). Its answer carries what the
middlewares it skips would have done: the request id (`X-Request-ID` echoed or generated, also set for the
logs), the access-log line (route template and parameter names, never values) and the request metrics under
the route's template. The write guard and the write rate have nothing to do for a GET, and writes never
come here. Anything else — no key, a key not seen lately, a missing scope, a refused query, a domain or
database error — goes on untouched to the app, whose route gives the usual answer or problem+json: nothing
has been sent by then, and a search writes nothing. Turned off by `GISGW_ACCOUNTS_SEARCH_FAST_PATH=false`.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Receive, Scope, Send

from app.access_log import log as access_log
from app.access_log import write_access_line
from app.api.accounts import AccountSearchParams, _find, router
from app.api.middleware import new_request_id
from app.db.raw_pool import RawPool
from app.domain.accounts import registry as service
from app.domain.kernel.access import Principal, remembered_principal
from app.domain.kernel.masking import mask
from app.logs import request_id_var
from app.metrics import HTTP_REQUESTS, HTTP_SECONDS

SEARCH_PATH = router.prefix + "/accounts"

_encode = msgspec.json.Encoder().encode
_COUNTED = HTTP_REQUESTS.labels("GET", SEARCH_PATH, "200")
_TIMED = HTTP_SECONDS.labels("GET", SEARCH_PATH)


class AccountSearchFastPath:
    """Answer valid account searches by keys recently authenticated with `read`; leave the rest to the app."""

    def __init__(self) -> None:
        self._engine: AsyncEngine | None = None
        self._autocommit: AsyncEngine | None = None

    async def __call__(self, app: FastAPI, scope: Scope, send: Send) -> bool:
        """Answer the request if it is one for us; return whether it was answered (nothing sent otherwise)."""
        # Dependency overrides (tests) apply to the route only: with any set, the route answers.
        if app.dependency_overrides:
            return False
        scope["app"] = app  # as Starlette sets it, for `_answer` and whoever reads the scope after us
        started = time.perf_counter()
        request_id = new_request_id(scope)
        token = request_id_var.set(request_id)
        try:
            body = await self._answer(scope)
            if body is None:
                return False
            await self._send(scope, send, body, request_id, started)
            return True
        finally:
            request_id_var.reset(token)

    @staticmethod
    async def _send(scope: Scope, send: Send, body: bytes, request_id: str, started: float) -> None:
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            (b"x-request-id", request_id.encode()),
        ]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            # What HttpMetricsMiddleware and AccessLogMiddleware record for a request the route answered.
            seconds = time.perf_counter() - started
            _COUNTED.inc()
            _TIMED.observe(seconds)
            write_access_line(access_log, scope, SEARCH_PATH, 200, seconds)

    async def _answer(self, scope: Scope) -> bytes | None:
        key = _api_key(scope["headers"])
        if key is None:
            return None
        query: bytes = scope["query_string"]
        if b"%00" in query or b"\x00" in query:
            return None  # the guard refuses it (422 naming the parameter)
        try:
            # What `query_model` does with the route's request: Starlette's `QueryParams` is this same
            # `parse_qsl` (latin-1, blank values kept; the last of repeated keys wins), then the same model.
            params = AccountSearchParams.model_validate(
                dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
            )
        except ValidationError:
            return None
        state = scope["app"].state
        # A key the route has authenticated lately (see `authenticate`); the route does the first request.
        principal = remembered_principal(state.engine, key)
        if principal is None or not principal.has("read"):
            return None
        pool: RawPool | None = getattr(state, "search_pool", None)
        try:
            if pool is not None:
                async with pool.acquire() as reader:
                    page, day = await _find(reader, principal, params)
            else:
                # One autocommit connection, no session: a search is one SELECT (two with debts).
                async with self._reader(state.engine).connect() as conn:
                    page, day = await _find(conn, principal, params)
        except Exception:  # noqa: BLE001 - the route will meet the same error and answer it properly
            return None
        scope.setdefault("state", {})["principal"] = principal
        return page_json(page, principal, day)

    def _reader(self, engine: AsyncEngine) -> AsyncEngine:
        """The app's engine with autocommit connections (same pool), made once."""
        if self._engine is not engine:
            self._engine, self._autocommit = engine, engine.execution_options(isolation_level="AUTOCOMMIT")
        assert self._autocommit is not None
        return self._autocommit


class GatewayApp(FastAPI):
    """FastAPI that hands `GET /api/v1/accounts` to `search_fast_path` (when set) before its own layers.

    FastAPI wraps every request in its native-telemetry check (a few provider look-ups in the environment),
    its exception telemetry, its body limit and Starlette's error middleware before the first middleware of
    ours; for a search those were a tenth of the request's CPU. A request the fast path does not answer
    goes through all of them as usual.
    """

    search_fast_path: AccountSearchFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.search_fast_path
        if (
            fast is not None
            and scope["type"] == "http"
            and scope["path"] == SEARCH_PATH
            and scope["method"] == "GET"
            and await fast(self, scope, send)
        ):
            return
        await super().__call__(scope, receive, send)


def _api_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key as `get_principal` reads it: a Bearer credential, else `X-API-Key` (first header of a name)."""
    authorization = api_key = None
    for name, value in headers:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1")
    if authorization:
        scheme, credentials = get_authorization_scheme_param(authorization)
        if scheme.lower() == "bearer" and credentials:
            return credentials
    return api_key or None


# --- the page as JSON: the fields, order and values of `AccountsPage` (app/api/accounts.py) -------------


def page_json(page: service.AccountPage, principal: Principal, day: date) -> bytes:
    """Encode a search page as the route's response model would (same keys, order, masking and values)."""
    pii = principal.can_see_pii
    items = [_account(hit, pii, day) for hit in page.items]
    return _encode({"items": items, "next_cursor": page.next_cursor})


def _account(hit: service.AccountHit, pii: bool, day: date) -> dict[str, Any]:
    a = hit.account
    summary = hit.summary
    return {
        "id": a.id,
        "organisation_id": a.organisation_id,
        "account_number": a.account_number,
        "els": a.els,
        "zhku_id": a.zhku_id,
        "gis_account_guid": a.gis_account_guid,
        "opened_on": a.opened_on,
        "closed_on": a.closed_on,
        "closed": a.closed,
        "dispute": a.dispute,
        "bankruptcy": a.bankruptcy,
        "payer": _payer(a, pii),
        "premises": [
            {
                "id": p.id,
                "house": {
                    "id": h.id,
                    "fias_house_guid": h.fias_house_guid,
                    "hm_object_guid": h.hm_object_guid,
                    "address": h.address,
                    "region": h.region,
                },
                "number": p.number_raw,
                "number_norm": p.number_norm,
                "kind": p.kind,
                "residential": p.residential,
                "cadastral_number": p.cadastral_number,
                "gis_premises_guid": p.gis_premises_guid,
                "share_percent": share,
            }
            for p, h, share in hit.premises
        ],
        "match_quality": hit.quality,
        "debt": (
            {
                "as_of": day,
                "debt": summary.debt,
                "outstanding": summary.outstanding,
                "months_in_debt": summary.months_in_debt,
                "oldest_debt_period": summary.oldest_debt_period,
            }
            if summary is not None
            else None
        ),
    }


def _payer(a: Any, pii: bool) -> dict[str, Any]:
    """`accounts._payer` as a dict: every field of `PayerRead`, in its order."""
    payer = _payer_data(a, pii)
    # Contacts are personal data for any payer, as in `accounts._payer`.
    payer["phone"] = mask(a.phone, pii=pii, form="stars")
    payer["email"] = mask(a.email, pii=pii, form="stars")
    return payer


def _payer_data(a: Any, pii: bool) -> dict[str, Any]:
    if a.payer_kind != "person":
        return _payer_fields(kind=a.payer_kind, masked=False, name=a.org_name, inn=a.inn, ogrn=a.org_ogrn)
    if not pii:
        return _payer_fields(
            kind="person",
            masked=True,
            last_name=mask(a.last_name, pii=False, form="initial"),
            first_name=mask(a.first_name, pii=False, form="initial"),
            middle_name=mask(a.middle_name, pii=False, form="initial"),
        )
    document = (
        {"type": a.id_doc_type, "series": a.id_doc_series, "number": a.id_doc_number}
        if a.id_doc_number
        else None
    )
    return _payer_fields(
        kind="person",
        masked=False,
        last_name=a.last_name,
        first_name=a.first_name,
        middle_name=a.middle_name,
        birth_date=a.birth_date,
        birth_place=a.birth_place,
        snils=a.snils,
        document=document,
        inn=a.inn,
    )


def _payer_fields(
    *,
    kind: str,
    masked: bool,
    last_name: str | None = None,
    first_name: str | None = None,
    middle_name: str | None = None,
    birth_date: date | None = None,
    birth_place: str | None = None,
    snils: str | None = None,
    document: dict[str, Any] | None = None,
    inn: str | None = None,
    name: str | None = None,
    ogrn: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "masked": masked,
        "last_name": last_name,
        "first_name": first_name,
        "middle_name": middle_name,
        "birth_date": birth_date,
        "birth_place": birth_place,
        "snils": snils,
        "document": document,
        "inn": inn,
        "name": name,
        "ogrn": ogrn,
    }
