"""Run the GIS stand inside `gisgw serve` (make run): same HTTP protocol, its own port and database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.context import AppContext


@contextlib.asynccontextmanager
async def stand_component(ctx: AppContext, app: FastAPI) -> AsyncIterator[None]:  # noqa: ARG001
    """Start the embedded stand when GISGW_STAND_ENABLED; placeholder until the stand issue lands."""
    yield
