"""Run the GIS stand inside `gisgw serve` (make run): same HTTP protocol, its own port and database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.context import AppContext


@contextlib.asynccontextmanager
async def stand_component(ctx: AppContext, app: FastAPI) -> AsyncIterator[None]:
    """Start the stand on stand.host:stand.port when GISGW_STAND_ENABLED; its runtime goes to ctx.extras."""
    settings = ctx.settings
    if not settings.stand.enabled:
        yield
        return
    from app.gis_stand.app import create_stand_app
    from app.gis_stand.config import StandConfig
    from app.gis_stand.server import serving

    stand = create_stand_app(StandConfig.from_settings(settings))
    async with serving(stand, settings.stand.host, settings.stand.port):
        ctx.extras["stand"] = stand.state.stand

        async def stand_probe() -> tuple[bool, dict[str, object]]:
            return True, {"url": f"http://{settings.stand.host}:{settings.stand.port}"}

        app.state.readiness["stand"] = stand_probe
        yield
