"""What the running gateway holds once: settings, the database, the GIS client; handed to workers and jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.domain.kernel.gis_port import GisPort
from app.settings import Settings


@dataclass
class AppContext:
    """Process-wide resources built by the lifespan and closed on shutdown."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    #: The GIS port (app.gis_client.client.GisClient, or a test's fake); None until its runtime has started.
    gis: GisPort | None = None
    #: Other long-lived components by name (signer, stand handle, metrics).
    extras: dict[str, Any] = field(default_factory=dict)
