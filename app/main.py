"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api import (
    accounts,
    admin,
    court_orders,
    dashboard,
    debt_requests,
    docs,
    exchanges,
    health,
    operations,
    organisations,
)
from app.api import metrics as metrics_api
from app.api.errors import install_error_handlers
from app.api.middleware import RequestIdMiddleware
from app.context import AppContext
from app.db.engine import create_engine, create_sessionmaker
from app.gis_client.runtime import gis_component
from app.gis_stand.embedded import stand_component
from app.metrics import HttpMetricsMiddleware
from app.settings import Settings, get_settings
from app.workers import running_workers

log = logging.getLogger(__name__)

Component = Callable[[AppContext, FastAPI], AbstractAsyncContextManager[None]]

#: Started in order after the database, stopped in reverse; the stand first so the GIS client can reach it.
COMPONENTS: list[Component] = [stand_component, gis_component]

API_DESCRIPTION = """\
gisgw carries billing systems' work with GIS ZhKKh (dom.gosuslugi.ru): debt requests from social-protection
bodies, the personal-account registry, court orders and the court-confirmed debts registry.

Every `/api/v1` route needs an API key (`Authorization: Bearer gk_…`) with the scope named in its description.
Errors are `application/problem+json` (RFC 9457) with `errors[]` naming the offending fields.
"""


def _operation_id(route: APIRoute) -> str:
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}".replace("_", "-")


def check_schema_package(settings: Settings) -> bool:
    """Warn (development) or refuse to start (production) when the GIS format package is missing."""
    present = (settings.schema_dir / "lib" / "hcs-base.xsd").is_file()
    if present:
        return True
    message = (
        f"GIS ZhKKh format package not found at {settings.schema_dir} (GISGW_SCHEMA_DIR). "
        "Take it from the GIS ZhKKh operator's published regulations."
    )
    if settings.env == "production":
        raise RuntimeError(message + " Refusing to start in production without XSD validation.")
    log.warning("!!! %s Messages will NOT be validated against the official XSD. !!!", message)
    return False


#: Young-generation threshold of a serving process (CPython's default is 700).
GC_GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    """Garbage-collector settings for a serving process, applied once the app has started.

    A search request allocates more than 700 container objects at its peak, so with CPython's defaults a
    young collection ran every third request and a full one (93 ms, over every object of the loaded app)
    every few hundred: most of a request's p99 (docs/benchmarks.md "## Accounts"). Freezing what startup
    built keeps it out of every later collection, and a higher young threshold lets requests free their
    objects by reference counting before a collection is due. Not applied in tests (`gc_tuning`), where
    apps are built and thrown away by the hundred and frozen objects are never collected.
    """
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway application."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        schemas_present = check_schema_package(settings)

        async def schema_probe() -> tuple[bool, dict[str, Any]]:
            return schemas_present, {"path": str(settings.schema_dir), "validation": schemas_present}

        app.state.readiness["schemas"] = schema_probe
        engine = create_engine(
            settings.database_url, echo=settings.database_echo, pool_pre_ping=settings.database_pool_pre_ping
        )
        ctx = AppContext(settings=settings, engine=engine, sessionmaker=create_sessionmaker(engine))
        app.state.ctx = ctx
        app.state.engine = engine
        app.state.sessionmaker = ctx.sessionmaker
        try:
            async with contextlib.AsyncExitStack() as stack:
                for component in COMPONENTS:
                    await stack.enter_async_context(component(ctx, app))
                if settings.workers_enabled:
                    await stack.enter_async_context(
                        running_workers(ctx, interval=settings.worker_poll_interval)
                    )
                if settings.gc_tuning:
                    tune_gc()
                yield {}
        finally:
            await engine.dispose()

    app = FastAPI(
        title="gisgw",
        version="0.1.0",
        summary="Async gateway between utility billing systems and GIS ZhKKh",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,
        redoc_url=None,
    )
    docs.install(app)
    app.state.settings = settings
    app.state.readiness = {}
    install_error_handlers(app)
    if settings.accounts_search_fast_path:
        # Innermost of the middlewares: request ids and metrics see the searches it answers.
        app.add_middleware(accounts.AccountSearchFastPath)
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    routers = (
        health,
        metrics_api,
        dashboard,
        organisations,
        operations,
        admin,
        accounts,
        debt_requests,
        court_orders,
        exchanges,
    )
    for module in routers:
        app.include_router(module.router)
    return app
