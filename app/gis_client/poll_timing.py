"""When to ask getState first: adapted to how fast GIS answered the last messages of the same operation.

The official schedule says the first getState comes at least `poll_schedule[0]` seconds after the
Ack (10 s), the second `poll_schedule[1]` later (60 s). When GIS takes, say, 40 s for exportHouseData, a first
poll at 10 s is a wasted call and the answer waits until 70 s; polling first at ≈ 40 s gets it with one call,
30 s sooner.
So the first delay follows what this process saw, and never leaves the official bounds: at least the first
interval (GIS asks for it), at most the second (we would have polled by then anyway).

The estimate moves like a congestion window, per operation: a first poll that found the result not ready
raises it to the time the result was finally found (an upper bound of GIS's time); a first poll that found the
result ready lowers it by a quarter, towards the minimum, so a GIS that became faster is followed too. Kept in
memory (a restart starts from the minimum, which is always allowed).

No retry or scheduling library models this (tenacity schedules retries of failures, not polls of a pending
result), hence this small class.
"""

from __future__ import annotations

from collections.abc import Sequence

#: How much a first poll that found the result ready lowers the estimate (towards the official minimum).
DECREASE = 0.75


class FirstPoll:
    """The first getState delay per operation, within [schedule[0], schedule[1]]."""

    def __init__(self, schedule: Sequence[float]) -> None:
        intervals = list(schedule) or [10.0]
        self.floor = intervals[0]
        self.ceiling = max(self.floor, intervals[1] if len(intervals) > 1 else intervals[0])
        self._estimate: dict[str, float] = {}

    def delay(self, operation: str) -> float:
        """Seconds between the Ack and the first getState of a message of `operation`."""
        return self._estimate.get(operation, self.floor)

    def observe(self, operation: str, *, polls_before: int, elapsed: float) -> None:
        """Record a result found after `polls_before` not-ready polls, `elapsed` seconds after the Ack."""
        current = self.delay(operation)
        if polls_before == 0:
            new = max(self.floor, current * DECREASE)
        else:
            new = max(current, elapsed)
        self._estimate[operation] = min(self.ceiling, max(self.floor, new))
