"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness answer."""

    status: str = Field(examples=["ok"])


class CheckResult(BaseModel):
    """One readiness check."""

    ok: bool
    detail: dict[str, Any] = Field(default_factory=dict)


class Readiness(BaseModel):
    """Readiness answer: every check with its detail."""

    status: str = Field(examples=["ready", "not_ready"])
    checks: dict[str, CheckResult]


@router.get("/healthz", response_model=Health, status_code=200, operation_id="health-live")
async def healthz() -> Health:
    """Report that the process is alive."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    status_code=200,
    operation_id="health-ready",
    responses={503: {"model": Readiness, "description": "A dependency is not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Report whether the database, the crypto backend, the schema package and GIS are usable."""
    checks: dict[str, CheckResult] = {"database": await _check_database(request)}
    for name, probe in request.app.state.readiness.items():
        try:
            ok, detail = await asyncio.wait_for(probe(), timeout=5)
        except Exception as exc:  # a probe failing is a "not ready", never a 500
            ok, detail = False, {"error": type(exc).__name__}
        checks[name] = CheckResult(ok=ok, detail=detail)
    ready = all(c.ok for c in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


async def _check_database(request: Request) -> CheckResult:
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
    except Exception as exc:
        return CheckResult(ok=False, detail={"error": type(exc).__name__})
    return CheckResult(ok=True, detail={"backend": request.app.state.engine.dialect.name})
