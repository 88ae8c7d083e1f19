"""Retry policy for GIS calls, expressed with tenacity and built from settings (the policy is data).

What is retried (gis-protocol.md §8, house-style): timeouts, connection errors, HTTP 5xx without a SOAP
Fault, and the GIS codes configured as retryable (EXP001000 & co.). INT002029 (maintenance) is retried after
the long maintenance delay. Everything else (abort codes AUT/FMT/INT002013/FIL, schema and signature errors)
is final. A retry always REBUILDS the message: new MessageGUID, Date, SigningTime and signature; the same
bytes sent again after EXP001000 can loop forever. `asyncio.CancelledError` is never retried (it is not an
Exception, and the predicates below only look at GisError).

The exchange engine is durable, so it does not sleep inside one process: it asks `RetryPolicy.delay()` for the
back-off and stores `next_at`. Short in-process calls (file-store uploads) use `RetryPolicy.retrying()`; both
read the same tenacity wait/stop objects.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import tenacity

from app.gis_client.errors import PAGE_RETRY_MARK, GisError, GisFaultError, GisTimeoutError, GisTransportError
from app.gis_client.tls import GisTlsError
from app.gis_client.wire.transport import MAINTENANCE_CODE, GisHttpStatusError, GisResponseTooLarge
from app.settings import Settings

#: Codes meaning "nothing to export": an empty result, not an error (gis-protocol.md §8, "Empty" class:
#: INT002012 no objects to export, INT002000 the selector's value is not in the registry).
EMPTY_CODES: frozenset[str] = frozenset({"INT002012", "INT002000"})


def is_page_retry(exc: BaseException) -> bool:
    """Return whether GIS lost a next-page GUID it issued ("Content not found for guid": repeat the page)."""
    return isinstance(exc, GisFaultError) and PAGE_RETRY_MARK in exc.message.lower()


def is_empty_result(exc: BaseException) -> bool:
    """Return whether a GIS error is really an empty export result (INT002012, INT002000)."""
    # §8 lists "Content not found for guid" apart, as a page to repeat, whatever code carries it.
    return isinstance(exc, GisFaultError) and exc.code in EMPTY_CODES and not is_page_retry(exc)


def is_maintenance(exc: BaseException) -> bool:
    """Return whether GIS said it is in a maintenance window (INT002029)."""
    return isinstance(exc, GisFaultError) and exc.code == MAINTENANCE_CODE


def is_retryable(exc: BaseException) -> bool:
    """Return whether a failure can succeed on a rebuilt resend."""
    if isinstance(exc, asyncio.CancelledError) or not isinstance(exc, GisError):
        return False
    if isinstance(exc, GisFaultError):
        return exc.retryable or exc.code == MAINTENANCE_CODE
    if isinstance(exc, GisHttpStatusError):
        return exc.status >= 500
    if isinstance(exc, GisResponseTooLarge):
        return False  # the same request gets the same huge answer
    if isinstance(exc, GisTlsError):
        return False  # a refused handshake repeats until certificates or settings change
    return isinstance(exc, GisTransportError | GisTimeoutError)


def retry_reason(exc: BaseException) -> str:
    """Return a low-cardinality label for metrics: timeout, transport, http_5xx or the GIS code."""
    if isinstance(exc, GisFaultError):
        return exc.code or "fault"
    if isinstance(exc, GisHttpStatusError):
        return "http_5xx" if exc.status >= 500 else "http_4xx"
    if isinstance(exc, GisTimeoutError):
        return "timeout"
    return "transport"


class _Maintenance(tenacity.wait.wait_base):
    """Wait the maintenance delay after INT002029, else defer to the exponential wait."""

    def __init__(self, maintenance: float, other: tenacity.wait.wait_base) -> None:
        self.maintenance = maintenance
        self.other = other

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if exc is not None and is_maintenance(exc):
            return self.maintenance
        return float(self.other(retry_state))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one logical message."""

    #: 0: no count limit, the time budget decides (a fault storm of a few minutes must not lose a fetch).
    max_attempts: int = 0
    max_seconds: float = 900.0
    initial_delay: float = 1.0
    max_delay: float = 120.0
    maintenance_delay: float = 900.0
    jitter: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """Read the policy from `GISGW_GIS_RETRY_*` and `GISGW_GIS_MAINTENANCE_DELAY`."""
        return cls(
            max_attempts=settings.gis.retry_max_attempts,
            max_seconds=settings.gis.retry_max_seconds,
            initial_delay=settings.gis.retry_initial_delay,
            max_delay=settings.gis.retry_max_delay,
            maintenance_delay=settings.gis.maintenance_delay,
            jitter=min(settings.gis.retry_initial_delay, 1.0),
        )

    @property
    def wait(self) -> tenacity.wait.wait_base:
        """Return the tenacity wait: exponential with jitter, maintenance delay after INT002029."""
        exponential = tenacity.wait_exponential_jitter(
            multiplier=self.initial_delay, max=self.max_delay, jitter=self.jitter
        )
        return _Maintenance(self.maintenance_delay, exponential)

    @property
    def stop(self) -> tenacity.stop.stop_base:
        """Return the tenacity stop: total seconds, or attempts (when limited) if they come first."""
        by_time = tenacity.stop_after_delay(self.max_seconds)
        if self.max_attempts <= 0:
            return by_time
        return tenacity.stop_after_attempt(self.max_attempts) | by_time

    def retrying(self, **overrides: Any) -> tenacity.AsyncRetrying:
        """Return an AsyncRetrying for in-process retries of idempotent calls."""
        kwargs: dict[str, Any] = {
            "stop": self.stop,
            "wait": self.wait,
            "retry": tenacity.retry_if_exception(is_retryable),
            "reraise": True,
        }
        kwargs.update(overrides)
        return tenacity.AsyncRetrying(**kwargs)

    def _state(self, attempt: int, exc: BaseException, elapsed: float) -> tenacity.RetryCallState:
        # A synthetic call state lets the durable engine evaluate the very same tenacity wait/stop objects
        # between persisted attempts (tenacity's strategies read only these fields).
        state = tenacity.RetryCallState(retry_object=tenacity.AsyncRetrying(), fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        state.outcome = tenacity.Future.construct(attempt, exc, True)
        state.outcome_timestamp = state.start_time + elapsed
        return state

    def delay(self, attempt: int, exc: BaseException, *, elapsed: float) -> float | None:
        """Return seconds to wait before attempt `attempt + 1`; None when the error is final or stop hit."""
        if not is_retryable(exc):
            return None
        state = self._state(attempt, exc, elapsed)
        if self.stop(state):
            return None
        wait = float(self.wait(state))
        if not is_maintenance(exc) and elapsed + wait > self.max_seconds:
            return None
        return wait
