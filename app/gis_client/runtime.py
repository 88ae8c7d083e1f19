"""Build the one GIS client of the process (transport, schemas, signer) and close it on shutdown."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.context import AppContext


@contextlib.asynccontextmanager
async def gis_component(ctx: AppContext, app: FastAPI) -> AsyncIterator[None]:  # noqa: ARG001
    """Start the GIS client; placeholder until the GIS client issue lands."""
    yield
