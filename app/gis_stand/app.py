"""The GIS stand application: the emulated services over real HTTP, the file store and the admin API."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.access_log import AccessLogMiddleware
from app.gis_client.operations import SERVICES, Service
from app.gis_stand import bills, debts, drs, files, hm, houses, notifications, nsi
from app.gis_stand.admin import build_router as admin_router
from app.gis_stand.config import StandConfig
from app.gis_stand.faults import FaultMiddleware
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.soap import Precheck, Processor, accept

#: Services the stand emulates (nsi-common: the classifiers the answers use, see nsi.py).
EMULATED = (
    Service.DEBT_REQUESTS,
    Service.HOUSE_MANAGEMENT,
    Service.DEBTS,
    Service.NSI_COMMON,
    Service.BILLS,
)
PRECHECKS: dict[str, Precheck] = {
    "exportDebtSubrequests": drs.precheck_export,
    "importResponses": drs.precheck_import,
}
#: Operation → the handler producing its result, from every emulated service.
PROCESSORS: dict[str, Processor] = {
    **drs.PROCESSORS,
    **hm.PROCESSORS,
    **notifications.PROCESSORS,
    **houses.PROCESSORS,
    **debts.PROCESSORS,
    **nsi.PROCESSORS,
    **bills.PROCESSORS,
}


def create_stand_app(config: StandConfig, runtime: StandRuntime | None = None) -> FastAPI:
    """Build the stand app; its runtime (database, key, clock, faults) is `app.state.stand`."""
    rt = runtime or StandRuntime.build(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await rt.create_tables()
        try:
            yield
        finally:
            await rt.close()

    app = FastAPI(
        title="gisgw GIS ZhKKh stand",
        version="0.1.0",
        summary="Emulator of the GIS ZhKKh services used by gisgw",
        lifespan=lifespan,
    )
    app.state.stand = rt
    for service in EMULATED:
        _add_service(app, rt, service)
    app.include_router(files.build_router(rt))
    app.include_router(admin_router(rt))
    app.include_router(notifications.build_router(rt))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(FaultMiddleware, injector=rt.faults)
    app.add_middleware(AccessLogMiddleware, logger=logging.getLogger("gisgw.stand.access"))
    return app


def _add_service(app: FastAPI, rt: StandRuntime, service: Service) -> None:
    async def endpoint(request: Request) -> Response:
        return await accept(rt, service, request, PRECHECKS, PROCESSORS)

    app.add_api_route(
        SERVICES[service].path, endpoint, methods=["POST"], include_in_schema=False, name=service.value
    )
