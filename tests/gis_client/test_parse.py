"""Result builders (stand side) and parsers: build → validate → parse round-trips, faults, acks."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.gis_client.errors import GisFaultError, GisProtocolError
from app.gis_client.messages import ErrorInfo
from app.gis_client.operations import NS, Service
from app.gis_client.parse import parse_ack, parse_state, raise_for_fault
from app.gis_client.wire.envelope import serialize
from app.gis_client.xmlread import to_datetime
from app.gis_stand.results_builder import (
    build_account,
    build_ack,
    build_common_results,
    build_debt_export,
    build_dsr_export,
    build_fault,
    build_nsi_item,
    build_state_result,
)
from tests.gis_client.samples.data import accounts, common_results, debt_page, dsr_page, g, nsi_item, schemas

SAMPLES = Path(__file__).parent / "samples"


def _reparse(env: etree._Element) -> etree._Element:
    """Serialise and parse again, as the client sees the stand's bytes."""
    schemas().validate_envelope(env)
    return etree.fromstring(serialize(env))


def test_parse_ack_round_trip() -> None:
    gis, ours = g(), g()
    ack = parse_ack(_reparse(build_ack(gis, ours)))
    assert (ack.message_guid, ack.requester_message_guid) == (gis, ours)


def test_parse_ack_rejects_other_body() -> None:
    with pytest.raises(GisProtocolError):
        parse_ack(_reparse(build_state_result("debts", 1, g())))


@pytest.mark.parametrize("service", list(Service))
@pytest.mark.parametrize("state", [1, 2])
def test_parse_state_in_progress(service: Service, state: int) -> None:
    guid = g()
    result = parse_state(_reparse(build_state_result(service, state, guid)))
    assert (result.request_state, result.message_guid, result.payload, result.error) == (
        state,
        guid,
        None,
        None,
    )
    assert not result.done


@pytest.mark.parametrize("service", list(Service))
def test_parse_state_error_message(service: Service) -> None:
    error = ErrorInfo("INT002012", "Нет объектов для экспорта", "trace")
    result = parse_state(_reparse(build_state_result(service, 3, g(), error=error)))
    assert result.done and result.error == error and result.payload is None


def test_parse_state_common_results_drs_and_debts() -> None:
    expected = common_results()
    for service in (Service.DEBT_REQUESTS, Service.DEBTS):
        env = build_state_result(service, 3, g(), build_common_results(service, expected))
        assert parse_state(_reparse(env)).payload == expected


def test_parse_state_dsr_page_round_trip() -> None:
    page = dsr_page(5, next_guid=g())
    env = build_state_result("debt-requests", 3, g(), [build_dsr_export(page)])
    parsed = parse_state(_reparse(env)).payload
    assert parsed == page
    last = dsr_page(1)
    parsed_last = parse_state(_reparse(build_state_result("debt-requests", 3, g(), [build_dsr_export(last)])))
    assert parsed_last.payload == last
    assert last.is_last and not page.is_last


def test_parse_state_accounts_round_trip() -> None:
    expected = accounts()
    env = build_state_result("house-management", 3, g(), [build_account(a) for a in expected])
    assert parse_state(_reparse(env)).payload == expected


def test_parse_state_debt_export_round_trip() -> None:
    for page in (debt_page(g()), debt_page()):
        env = build_state_result("debts", 3, g(), [build_debt_export(page)])
        assert parse_state(_reparse(env)).payload == page


def test_parse_state_nsi_item_round_trip() -> None:
    item = nsi_item()
    env = build_state_result("nsi-common", 3, g(), [build_nsi_item(item)])
    parsed = parse_state(_reparse(env)).payload
    assert parsed == item


def test_state_result_is_ready_for_server_signature() -> None:
    env = build_state_result("debt-requests", 3, g(), [build_dsr_export(dsr_page(1))])
    body = env.find("soap:Body/drs:getStateResult", NS)
    assert body is not None and body.get("Id") == "signed-data-container"


def test_parse_fault_code_from_detail() -> None:
    env = _reparse(build_fault("EXP001000", "Произошла ошибка при передаче данных", stack_trace="x"))
    with pytest.raises(GisFaultError) as info:
        raise_for_fault(env)
    assert info.value.code == "EXP001000" and info.value.retryable
    assert "передаче" in info.value.message


def test_parse_fault_code_from_faultstring_only() -> None:
    env = build_fault("AUT011003", "Доступ запрещен")
    detail = env.find(".//detail")
    assert detail is not None
    detail.getparent().remove(detail)  # type: ignore[union-attr]
    with pytest.raises(GisFaultError) as info:
        parse_state(env)
    assert (info.value.code, info.value.message, info.value.retryable) == (
        "AUT011003",
        "Доступ запрещен",
        False,
    )


def test_parse_fault_sample_production_style() -> None:
    env = etree.fromstring((SAMPLES / "fault_exp001000.xml").read_bytes())
    with pytest.raises(GisFaultError) as info:
        parse_ack(env)
    assert info.value.code == "EXP001000" and info.value.retryable


def test_parse_state_rejects_unknown_state() -> None:
    env = build_state_result("debts", 3, g())
    state = env.find(".//base:RequestState", NS)
    assert state is not None
    state.text = "7"
    with pytest.raises(GisProtocolError, match="RequestState"):
        parse_state(env)


def test_to_datetime_accepts_dotnet_fraction() -> None:
    assert to_datetime("2022-05-06T15:52:08.4548165+03:00").microsecond == 454816
