"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.access_log import AccessLogMiddleware
from app.api import (
    accounts,
    admin,
    agreements,
    amnesty,
    court_orders,
    dashboard,
    debt_requests,
    docs,
    exchanges,
    health,
    houses,
    monitoring,
    notices_gis,
    operations,
    organisations,
    restriction_cases,
    writeoff,
)
from app.api import metrics as metrics_api
from app.api.accounts_fast import AccountSearchFastPath, GatewayApp
from app.api.errors import install_error_handlers
from app.api.guard import RequestGuardMiddleware
from app.api.middleware import RequestIdMiddleware
from app.context import AppContext
from app.db.engine import create_engine, create_sessionmaker
from app.db.raw_pool import open_raw_pool
from app.domain import accounts as accounts_area
from app.domain import agreements as agreements_area
from app.domain import amnesty as amnesty_area
from app.domain import court as court_area
from app.domain import debt_requests as debt_requests_area
from app.domain import houses as houses_area
from app.domain import monitoring as monitoring_area
from app.domain import writeoff as writeoff_area
from app.domain.exchanges.audit import record_finished_exchange
from app.domain.kernel import operations as ops
from app.domain.kernel.area import Area, completion_hooks_of, gauges_of, jobs_of, loops_of
from app.domain.kernel.write_rate import WriteRate
from app.gis_client.runtime import GisRuntime, exchange_loop, open_gis
from app.gis_stand.embedded import embedded_stand
from app.metrics import HttpMetricsMiddleware
from app.settings import Settings, get_settings
from app.workers import running_workers

log = logging.getLogger(__name__)

#: The business areas this process runs, listed as the routers are: their jobs go to the operation runner,
#: their loops to the workers, their gauges to `/metrics`, their completion hooks to the exchange engine. A
#: worker-only process would start `running_workers` with the same list.
AREAS: list[Area] = [
    debt_requests_area.AREA,
    accounts_area.AREA,
    houses_area.AREA,
    court_area.AREA,
    agreements_area.AREA,
    writeoff_area.AREA,
    amnesty_area.AREA,
    monitoring_area.AREA,
]

#: ref_kind → the hook applying a finished exchange, from every area that owns exchanges.
COMPLETION_HOOKS = completion_hooks_of(AREAS)


def publish_stand(app: FastAPI, settings: Settings) -> None:
    """Report the embedded stand in /readyz."""
    scheme = "https" if settings.stand.tls else "http"
    url = f"{scheme}://{settings.stand.host}:{settings.stand.port}"

    async def stand_probe() -> tuple[bool, dict[str, object]]:
        return True, {"url": url}

    app.state.readiness["stand"] = stand_probe


def publish_gis(ctx: AppContext, app: FastAPI, gis: GisRuntime) -> None:
    """Hand the open GIS client to the context and its probes to /readyz."""
    ctx.gis = gis.client
    ctx.extras["signer"] = gis.signer
    app.state.readiness["crypto"] = gis.crypto_probe
    app.state.readiness["gis"] = gis.gis_probe
    app.state.readiness["gis_link"] = gis.link_probe


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
    present = (settings.gis.schema_dir / "lib" / "hcs-base.xsd").is_file()
    if present:
        return True
    message = (
        f"GIS ZhKKh format package not found at {settings.gis.schema_dir} (GISGW_SCHEMA_DIR). "
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
    objects by reference counting before a collection is due. Not applied in tests (`server.gc_tuning`), where
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
            return schemas_present, {"path": str(settings.gis.schema_dir), "validation": schemas_present}

        app.state.readiness["schemas"] = schema_probe
        engine = create_engine(
            settings.database.url, echo=settings.database.echo, pool_pre_ping=settings.database.pool_pre_ping
        )
        ctx = AppContext(settings=settings, engine=engine, sessionmaker=create_sessionmaker(engine))
        app.state.ctx = ctx
        app.state.engine = engine
        app.state.sessionmaker = ctx.sessionmaker
        try:
            async with contextlib.AsyncExitStack() as stack:
                if settings.accounts.search_fast_path:
                    # PostgreSQL only (None elsewhere); connects on demand.
                    app.state.search_pool = await open_raw_pool(
                        engine, size=settings.accounts.search_pool_size
                    )
                    if app.state.search_pool is not None:
                        stack.push_async_callback(app.state.search_pool.close)
                # The stand first, so the GIS client can reach it.
                stand = await stack.enter_async_context(embedded_stand(settings))
                if stand is not None:
                    ctx.extras["stand"] = stand
                    publish_stand(app, settings)
                gis = await stack.enter_async_context(
                    open_gis(
                        settings, ctx.sessionmaker, hooks=COMPLETION_HOOKS, audit=record_finished_exchange
                    )
                )
                publish_gis(ctx, app, gis)
                stack.callback(setattr, ctx, "gis", None)
                if settings.workers.enabled:
                    await stack.enter_async_context(
                        running_workers(
                            ctx,
                            jobs=jobs_of(AREAS),
                            loops={
                                **loops_of(AREAS),
                                "gis-exchanges": lambda _ctx, stop: exchange_loop(gis.client, stop),
                            },
                            interval=settings.workers.poll_interval,
                        )
                    )
                if settings.server.gc_tuning:
                    tune_gc()
                yield {}
        finally:
            await engine.dispose()

    app = GatewayApp(
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
    ops.LIMITS = ops.QueueLimits(
        per_key=settings.server.operations_max_pending_per_key,
        per_organisation=settings.server.operations_max_pending_per_organisation,
    )
    app.state.readiness = {}
    app.state.gauges = gauges_of(AREAS)
    install_error_handlers(app)
    # Before anything reads a body: authenticate writes, cap bodies, refuse NUL characters.
    app.add_middleware(
        RequestGuardMiddleware,
        max_body=settings.server.json_body_max_bytes,
        write_rate=WriteRate(
            per_minute=settings.server.write_rate_per_minute, burst=settings.server.write_burst
        ),
    )
    app.add_middleware(HttpMetricsMiddleware)
    # Inside the request-id middleware, so each access line carries the request id.
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    if settings.accounts.search_fast_path:
        # Before every layer: it answers valid searches itself, with the request id, access line and metrics
        # the middlewares above would add, and leaves everything else to them.
        app.search_fast_path = AccountSearchFastPath()
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
        houses,
        agreements,
        writeoff,
        amnesty,
        monitoring,
        notices_gis,
        exchanges,
        restriction_cases,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(houses.pages)
    return app
