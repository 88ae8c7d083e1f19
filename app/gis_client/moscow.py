"""Moscow time for the wire: GIS writes `Date` and `SigningTime` as +03:00 whatever the host's zone (§16)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

# The zone of app.domain.kernel.calendar.MOSCOW, declared again: gis_client must not import the domain.
MOSCOW = ZoneInfo("Europe/Moscow")


def moscow_now() -> datetime:
    """Return the current time in Moscow (+03:00)."""
    return datetime.now(MOSCOW)
