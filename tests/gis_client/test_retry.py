"""Retry policy: what is retried, back-off growth, maintenance delay, stop conditions, tenacity loop."""

from __future__ import annotations

import asyncio

import pytest

from app.gis_client.errors import GisFaultError, GisSchemaError, GisTimeoutError, GisTransportError
from app.gis_client.messages import ErrorInfo
from app.gis_client.parse import error_to_fault
from app.gis_client.retry import RetryPolicy, is_empty_result, is_retryable, retry_reason
from app.gis_client.wire.transport import GisHttpStatusError, GisResponseTooLarge
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (GisTransportError("reset"), True),
        (GisTimeoutError("slow"), True),
        (GisHttpStatusError(503, "x"), True),
        (GisHttpStatusError(404, "x"), False),
        (GisFaultError("EXP001000", "x", retryable=True), True),
        (GisFaultError("INT002029", "maintenance"), True),
        (GisFaultError("AUT011003", "denied"), False),
        (GisSchemaError("bad"), False),
        (GisResponseTooLarge("huge"), False),
        (asyncio.CancelledError(), False),
        (RuntimeError("bug"), False),
    ],
)
def test_is_retryable(exc: BaseException, expected: bool) -> None:
    assert is_retryable(exc) is expected


def test_empty_result_and_reasons() -> None:
    assert is_empty_result(GisFaultError("INT002012", "nothing"))
    assert not is_empty_result(GisFaultError("INT002013", "not found"))
    assert is_empty_result(GisFaultError("INT002000", "Дом не найден в реестре"))
    page_lost = error_to_fault(ErrorInfo("INT002000", "Error loading content: Content not found for guid: x"))
    assert not is_empty_result(page_lost) and is_retryable(page_lost)
    assert retry_reason(GisHttpStatusError(502, "x")) == "http_5xx"
    assert retry_reason(GisTimeoutError("x")) == "timeout"
    assert retry_reason(GisFaultError("EXP001000", "x")) == "EXP001000"


def test_policy_from_settings_backs_off_exponentially_and_stops() -> None:
    policy = RetryPolicy.from_settings(
        make_settings("sqlite+aiosqlite://", gis_retry_max_attempts=4, gis_retry_initial_delay=1.0,
                      gis_retry_max_delay=5.0, gis_retry_max_seconds=100.0)
    )  # fmt: skip
    exc = GisTransportError("reset")
    delays = [policy.delay(n, exc, elapsed=0.0) for n in (1, 2, 3)]
    assert all(d is not None for d in delays)
    assert 1.0 <= delays[0] <= 2.0 and 2.0 <= delays[1] <= 3.0 and 4.0 <= delays[2] <= 5.0  # type: ignore[operator]
    assert policy.delay(4, exc, elapsed=0.0) is None  # attempts exhausted
    assert policy.delay(1, exc, elapsed=100.0) is None  # time budget spent
    assert policy.delay(1, GisFaultError("AUT011003", "denied"), elapsed=0.0) is None


def test_maintenance_waits_the_long_delay() -> None:
    policy = RetryPolicy(maintenance_delay=900.0, max_delay=120.0)
    assert policy.delay(1, GisFaultError("INT002029", "maintenance"), elapsed=0.0) == 900.0


async def test_in_process_retrying_retries_transient_errors_only() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.002, jitter=0.0)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise GisTransportError("reset")
        return "ok"

    async for attempt in policy.retrying():
        with attempt:
            result = await flaky()
    assert result == "ok" and calls == 3

    calls = 0

    async def fatal() -> None:
        nonlocal calls
        calls += 1
        raise GisFaultError("AUT011003", "denied")

    with pytest.raises(GisFaultError):
        async for attempt in policy.retrying():
            with attempt:
                await fatal()
    assert calls == 1


def test_default_policy_is_bounded_by_time_not_by_a_small_count() -> None:
    # A fault storm: 30 faults in a row still leave time to retry (issue #19: 6 attempts lost whole fetches).
    policy = RetryPolicy.from_settings(make_settings("sqlite+aiosqlite://"))
    exc = GisFaultError("EXP001000", "x", retryable=True)
    assert policy.delay(30, exc, elapsed=300.0) is not None
    assert policy.delay(30, exc, elapsed=policy.max_seconds) is None
