"""The stand's controllable clock: real time plus an offset, or a frozen moment (tests pass deadlines)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# GIS works in Moscow time: deadlines (responseDate) are Moscow calendar days.
from app.domain.kernel.calendar import MOSCOW


class Clock:
    """Current time of the stand; `set` moves it (keeping it running), `freeze` stops it."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """Return the stand's current time, aware, in Moscow time."""
        if self._frozen is not None:
            return self._frozen.astimezone(MOSCOW)
        return (datetime.now(UTC) + self._offset).astimezone(MOSCOW)

    def today(self) -> date:
        """Return the stand's current Moscow calendar day."""
        return self.now().date()

    def set(self, moment: datetime, *, frozen: bool = False) -> None:
        """Make `moment` the current time; keep running from it unless frozen."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=MOSCOW)
        if frozen:
            self._frozen = moment
            self._offset = timedelta(0)
        else:
            self._frozen = None
            self._offset = moment - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back) by delta."""
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def reset(self) -> None:
        """Return to real time."""
        self._offset = timedelta(0)
        self._frozen = None

    @property
    def offset_seconds(self) -> float:
        """Return the offset from real time in seconds (0 when frozen)."""
        return self._offset.total_seconds()

    @property
    def frozen(self) -> bool:
        """Return whether the clock is frozen."""
        return self._frozen is not None
