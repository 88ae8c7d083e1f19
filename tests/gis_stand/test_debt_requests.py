"""debt-requests over real HTTP: strictness (schema, signature, limits), paging, answers, deadlines."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta

import httpx
from lxml import etree

from app.domain.kernel.calendar import moscow_today
from app.gis_client.crypto.xmldsig import verify
from app.gis_client.messages import (
    DSRAction,
    DSRExportPage,
    DSRResponseData,
    ExportDSRsQuery,
    Period,
    build_export_dsrs,
    build_import_dsr_responses,
)
from app.gis_client.operations import NS
from app.gis_client.parse import parse_state
from app.gis_client.services import OPERATIONS
from app.gis_client.wire.envelope import new_guid
from app.gis_stand.runtime import StandRuntime
from tests.gis_stand.conftest import GisCaller, make_caller


def _period(days: int = 60) -> Period:
    today = moscow_today()
    return Period(today - timedelta(days=days), today + timedelta(days=1))


async def _export_all(caller: GisCaller, **query: object) -> list[DSRExportPage]:
    pages: list[DSRExportPage] = []
    cursor = None
    while True:
        body = build_export_dsrs(ExportDSRsQuery(period=_period(), export_subrequest_guid=cursor, **query))  # type: ignore[arg-type]
        state = parse_state(await caller.call("exportDebtSubrequests", body))
        if state.error is not None:
            assert state.error.code == "INT002012"
            return pages
        page = state.payload
        assert isinstance(page, DSRExportPage)
        pages.append(page)
        if page.is_last:
            return pages
        cursor = page.next_subrequest_guid


def _send(guid: str, *, has_debt: bool = False) -> DSRAction:
    return DSRAction(new_guid(), guid, "Send", DSRResponseData(has_debt=has_debt, executor_guid=new_guid()))


async def test_export_pages_250_subrequests_in_three_signed_pages(
    stand: tuple[str, StandRuntime], admin: httpx.AsyncClient, client_keys: tuple[bytes, bytes]
) -> None:
    caller = await make_caller(stand[0], admin, client_keys, subrequests=250, accounts=300)
    pages = await _export_all(caller)
    assert [len(p.subrequests) for p in pages] == [100, 100, 50]
    assert pages[-1].last_page and all(p.next_subrequest_guid for p in pages[:2])
    guids = {s.subrequest_guid for p in pages for s in p.subrequests}
    assert len(guids) == 250
    sub = pages[0].subrequests[0]
    assert sub.response_status == "NotSent" and sub.request.response_date > sub.request.sent_date
    # The result carries the stand's own XAdES signature.
    result = await caller.call("exportDebtSubrequests", build_export_dsrs(ExportDSRsQuery(period=_period())))
    cert = (await admin.get("/stand/admin/certificate")).text.encode()
    assert verify(etree.tostring(result), trusted_certs=[cert]).valid
    await caller.http.aclose()


async def test_export_reports_int002012_when_nothing_matches(caller: GisCaller) -> None:
    old = Period(date(2020, 1, 1), date(2020, 3, 1))
    state = parse_state(
        await caller.call("exportDebtSubrequests", build_export_dsrs(ExportDSRsQuery(period=old)))
    )
    assert state.error is not None and state.error.code == "INT002012"


async def test_broken_signature_is_refused_with_a_fault(caller: GisCaller) -> None:
    body = build_export_dsrs(ExportDSRsQuery(period=_period()))
    data = await caller.envelope(OPERATIONS["exportDebtSubrequests"], body)
    tampered = data.replace(
        _period().start.isoformat().encode(), (_period().start + timedelta(days=1)).isoformat().encode()
    )
    reply = await caller.post(OPERATIONS["exportDebtSubrequests"], tampered)
    assert reply.status == 500 and reply.fault_code == "AUT011005"


async def test_unregistered_certificate_is_access_denied(
    stand: tuple[str, StandRuntime], admin: httpx.AsyncClient, client_keys: tuple[bytes, bytes]
) -> None:
    caller = await make_caller(stand[0], admin, client_keys, register=False)
    reply = await caller.send("exportDebtSubrequests", build_export_dsrs(ExportDSRsQuery(period=_period())))
    assert reply.fault_code == "AUT011003"
    await caller.http.aclose()


async def test_schema_error_is_fmt001300(caller: GisCaller) -> None:
    body = build_export_dsrs(ExportDSRsQuery(period=_period()))
    etree.SubElement(body, f"{{{NS['drs']}}}unexpected").text = "x"
    reply = await caller.send("exportDebtSubrequests", body)
    assert reply.status == 400 and reply.fault_code == "FMT001300"


async def test_101_actions_are_refused(caller: GisCaller) -> None:
    body = build_import_dsr_responses([_send(new_guid()) for _ in range(100)])
    extra = copy.deepcopy(body.find("drs:action", NS))
    assert extra is not None
    extra.find("base:TransportGUID", NS).text = new_guid()  # type: ignore[union-attr]
    extra.find("drs:subrequestGUID", NS).text = new_guid()  # type: ignore[union-attr]
    body.append(extra)
    reply = await caller.send("importResponses", body)
    assert reply.status == 400 and reply.fault_code == "FMT001300"


async def test_seven_month_period_is_refused(caller: GisCaller) -> None:
    body = build_export_dsrs(ExportDSRsQuery(period=Period(date(2025, 1, 1), date(2025, 6, 30))))
    body.find("drs:periodOfSendingRequest/base:endDate", NS).text = "2025-08-01"  # type: ignore[union-attr]
    reply = await caller.send("exportDebtSubrequests", body)
    assert reply.status == 400 and reply.fault_code == "FMT001300"
    assert "6 months" in (reply.root.findtext(".//faultstring") or "")  # type: ignore[union-attr]


async def test_wrong_version_is_refused(caller: GisCaller) -> None:
    wrong = replace(OPERATIONS["exportDebtSubrequests"], version="11.1.0.1")
    body = build_export_dsrs(ExportDSRsQuery(period=_period()))
    reply = await caller.post(wrong, await caller.envelope(wrong, body))
    assert reply.status == 400 and reply.fault_code == "FMT001300"


async def test_repeated_message_guid_is_refused(caller: GisCaller) -> None:
    guid = new_guid()
    first = await caller.send(
        "exportDebtSubrequests", build_export_dsrs(ExportDSRsQuery(period=_period())), message_guid=guid
    )
    assert first.status == 200
    again = await caller.send(
        "exportDebtSubrequests", build_export_dsrs(ExportDSRsQuery(period=_period())), message_guid=guid
    )
    assert again.fault_code == "FMT001301"


async def test_send_revoke_and_history(caller: GisCaller, admin: httpx.AsyncClient) -> None:
    (page,) = await _export_all(caller)
    guid = page.subrequests[0].subrequest_guid

    async def results(action: DSRAction) -> list[str]:
        state = parse_state(await caller.call("importResponses", build_import_dsr_responses([action])))
        assert isinstance(state.payload, tuple)
        return [e.code for r in state.payload for e in r.errors]

    assert await results(_send(guid)) == []
    assert await results(_send(guid)) == ["INT002045"]  # already answered: revoke first
    assert await results(DSRAction(new_guid(), guid, "Revoke")) == []
    assert await results(DSRAction(new_guid(), guid, "Revoke")) == ["INT002046"]
    assert await results(_send(guid)) == []
    assert await results(_send(new_guid())) == ["INT002000"]
    detail = (await admin.get(f"/stand/admin/subrequests/{guid}")).json()
    assert [e["action"] for e in detail["events"]] == ["Send", "Revoke", "Send"]
    assert detail["response_status"] == "Sent"
    exported = await _export_all(caller, response_statuses=("Sent",))
    assert [s.subrequest_guid for p in exported for s in p.subrequests] == [guid]
    assert exported[0].subrequests[0].response is not None


async def test_deadline_passing_makes_autogenerated(caller: GisCaller, admin: httpx.AsyncClient) -> None:
    (page,) = await _export_all(caller)
    guid = page.subrequests[0].subrequest_guid
    response = await admin.post("/stand/admin/clock", json={"advance_days": 30})
    assert response.status_code == 200
    state = parse_state(await caller.call("importResponses", build_import_dsr_responses([_send(guid)])))
    assert isinstance(state.payload, tuple) and state.payload[0].errors[0].code == "INT002044"
    (page,) = await _export_all(caller)
    assert {s.response_status for s in page.subrequests} == {"AutoGenerated"}
    stats = (
        await admin.get("/stand/admin/answer-stats", params={"org_ppa_guid": caller.org_ppa_guid})
    ).json()
    assert stats["by_status"] == {"AutoGenerated": 10}


async def test_answer_for_another_organisation_is_refused(
    stand: tuple[str, StandRuntime],
    admin: httpx.AsyncClient,
    client_keys: tuple[bytes, bytes],
    caller: GisCaller,
) -> None:
    (page,) = await _export_all(caller)
    other = await make_caller(stand[0], admin, client_keys, subrequests=0, accounts=0, seed=8)
    guid = page.subrequests[0].subrequest_guid
    state = parse_state(await other.call("importResponses", build_import_dsr_responses([_send(guid)])))
    assert isinstance(state.payload, tuple) and state.payload[0].errors[0].code == "AUT011003"
    await other.http.aclose()
