"""Run the GIS stand inside `gisgw serve` (make run): same HTTP protocol, its own port and database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from app.gis_stand.app import create_stand_app
from app.gis_stand.config import StandConfig
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.server import serving
from app.settings import Settings


@contextlib.asynccontextmanager
async def embedded_stand(settings: Settings) -> AsyncIterator[StandRuntime | None]:
    """Serve the stand on stand.host:stand.port while open when GISGW_STAND_ENABLED; yield its runtime."""
    if not settings.stand.enabled:
        yield None
        return
    stand = create_stand_app(StandConfig.from_settings(settings))
    async with serving(stand, settings.stand.host, settings.stand.port):
        runtime: StandRuntime = stand.state.stand
        yield runtime
