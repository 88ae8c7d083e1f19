"""Fault injection: shares roughly respected, and a faulty run still answers every subrequest once."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import Message

from app.gis_client.crypto.backend import get_backend
from app.gis_client.crypto.signer import LocalKeySigner
from app.gis_client.operations import Service, get_state_operation
from app.gis_client.wire.envelope import build_get_state, new_guid, serialize
from app.gis_stand.app import create_stand_app
from app.gis_stand.config import StandConfig
from app.gis_stand.driver import Driver, fetch_and_answer
from app.gis_stand.runtime import StandRuntime
from tests.gis_stand.conftest import GisCaller, make_caller


async def test_fault_shares_are_roughly_respected(caller: GisCaller, admin: httpx.AsyncClient) -> None:
    await admin.put("/stand/admin/faults", json={"exp001000": 0.3, "http503": 0.1, "drop": 0.1, "seed": 42})
    op = get_state_operation(Service.DEBT_REQUESTS)
    outcomes = {"exp": 0, "503": 0, "drop": 0, "ok": 0}
    for _ in range(300):
        data = serialize(build_get_state(Service.DEBT_REQUESTS, new_guid(), org_ppa_guid=caller.org_ppa_guid))
        try:
            r = await caller.http.post(op.path, content=data, headers={"SOAPAction": op.soap_action_header})
        except httpx.TransportError:
            outcomes["drop"] += 1
            continue
        if r.status_code == 503:
            outcomes["503"] += 1
        elif b"EXP001000" in r.content:
            outcomes["exp"] += 1
        else:
            outcomes["ok"] += 1  # INT002013: the GUID is unknown, but the call got through
    assert 60 <= outcomes["exp"] <= 120
    assert 15 <= outcomes["503"] <= 50
    assert 15 <= outcomes["drop"] <= 50
    counts = (await admin.get("/stand/admin/faults")).json()["counts"]
    assert counts["exp001000"] == outcomes["exp"] and counts["http503"] == outcomes["503"]


async def test_stuck_messages_stay_in_state_2(caller: GisCaller, admin: httpx.AsyncClient) -> None:
    from datetime import date

    from app.gis_client.messages import ExportDSRsQuery, Period, build_export_dsrs
    from app.gis_client.parse import parse_ack, parse_state

    await admin.put("/stand/admin/faults", json={"stuck": 1.0})
    reply = await caller.send(
        "exportDebtSubrequests",
        build_export_dsrs(ExportDSRsQuery(period=Period(date(2025, 1, 1), date(2025, 2, 1)))),
    )
    assert reply.root is not None
    ack = parse_ack(reply.root)
    for _ in range(3):
        state = await caller.state(Service.DEBT_REQUESTS, ack.message_guid)
        assert state.root is not None and parse_state(state.root).request_state == 2


@pytest.mark.parametrize("subrequests", [1000])
async def test_faulty_fetch_and_answer_answers_each_subrequest_once(
    stand: tuple[str, StandRuntime],
    admin: httpx.AsyncClient,
    client_keys: tuple[bytes, bytes],
    subrequests: int,
) -> None:
    caller = await make_caller(stand[0], admin, client_keys, subrequests=subrequests, accounts=600)
    await admin.put("/stand/admin/faults", json={"exp001000": 0.3, "http503": 0.1, "drop": 0.05, "seed": 3})
    driver = Driver(caller.http, caller.org_ppa_guid, LocalKeySigner(*client_keys, get_backend("auto")))
    stats = await fetch_and_answer(driver)
    assert stats.fetched == subrequests and stats.answered == subrequests and not stats.item_errors
    assert stats.retries > 0
    answers = (
        await admin.get("/stand/admin/answer-stats", params={"org_ppa_guid": caller.org_ppa_guid})
    ).json()
    assert answers["by_status"] == {"Sent": subrequests}
    assert answers["send_count_histogram"] == {"1": subrequests}
    await caller.http.aclose()


async def test_client_gone_mid_message_is_a_refusal_not_an_exception(stand_config: StandConfig) -> None:
    # A gateway replica killed (or timing out) mid-send: the body stops and the connection is gone.
    app = create_stand_app(stand_config)
    op = get_state_operation(Service.DEBT_REQUESTS)
    messages = iter(
        [
            {"type": "http.request", "body": b"<soapenv:Envelope", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": op.path,
        "raw_path": op.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", b"1000"), (b"soapaction", op.soap_action_header.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8081),
    }
    async with LifespanManager(app):
        await app(scope, receive, send)  # raised ClientDisconnect before (a traceback in the stand's log)
    assert sent[0]["status"] == 400
