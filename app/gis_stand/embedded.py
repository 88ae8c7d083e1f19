"""Run the GIS stand inside `gisgw serve` (make run): same HTTP protocol, its own port and database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.context import AppContext


@contextlib.asynccontextmanager
async def stand_component(ctx: AppContext, app: FastAPI) -> AsyncIterator[None]:
    """Start the stand on stand_host:stand_port when GISGW_STAND_ENABLED; its runtime goes to ctx.extras."""
    settings = ctx.settings
    if not settings.stand_enabled:
        yield
        return
    from app.gis_stand.app import create_stand_app
    from app.gis_stand.config import StandConfig
    from app.gis_stand.server import serving

    stand = create_stand_app(StandConfig.from_settings(settings))
    async with serving(stand, settings.stand_host, settings.stand_port):
        ctx.extras["stand"] = stand.state.stand

        scheme = "https" if settings.stand_tls else "http"

        async def stand_probe() -> tuple[bool, dict[str, object]]:
            return True, {"url": f"{scheme}://{settings.stand_host}:{settings.stand_port}"}

        app.state.readiness["stand"] = stand_probe
        yield
