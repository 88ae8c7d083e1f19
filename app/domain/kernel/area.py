"""What a business area runs in the process, declared once by the area and handed out by the app factory.

Each area package exports `AREA = Area(...)`; `app.main` lists the areas (as it lists the routers) and gives
their jobs to the operation runner, their loops to the workers, their gauges to the metrics scrape and their
completion hooks to the GIS exchange engine. Nothing is registered by importing a module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.operations import JobHandler

#: A periodic loop: gets the app context (app.context.AppContext) and the stop event, returns when it is set.
Loop = Callable[[Any, asyncio.Event], Coroutine[Any, Any, None]]

#: Refreshes database-backed gauges just before a metrics scrape.
GaugeRefresher = Callable[[AsyncSession], Awaitable[None]]

#: Called by the exchange engine when an exchange with the hook's `ref_kind` finishes (session, exchange,
#: outcome); the engine's side belongs to app.gis_client.
CompletionHook = Callable[[AsyncSession, Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Area:
    """One business area's jobs (operation kind → handler), loops, gauges and exchange completion hooks."""

    name: str
    jobs: Mapping[str, JobHandler] = field(default_factory=dict)
    loops: Mapping[str, Loop] = field(default_factory=dict)
    gauges: Sequence[GaugeRefresher] = ()
    completion_hooks: Mapping[str, CompletionHook] = field(default_factory=dict)


def _merged(areas: Iterable[Area], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for area in areas:
        for key, value in getattr(area, what).items():
            if key in out:
                raise ValueError(f"{what[:-1]} {key!r} declared twice (area {area.name})")
            out[key] = value
    return out


def jobs_of(areas: Iterable[Area]) -> dict[str, JobHandler]:
    """Return every area's job handlers by operation kind (a kind declared twice is a wiring error)."""
    return _merged(areas, "jobs")


def loops_of(areas: Iterable[Area]) -> dict[str, Loop]:
    """Return every area's loops by name."""
    return _merged(areas, "loops")


def gauges_of(areas: Iterable[Area]) -> list[GaugeRefresher]:
    """Return every area's gauge refreshers, in the order of the areas."""
    return [gauge for area in areas for gauge in area.gauges]


def completion_hooks_of(areas: Iterable[Area]) -> dict[str, CompletionHook]:
    """Return every area's exchange completion hooks by exchange `ref_kind`."""
    return _merged(areas, "completion_hooks")
