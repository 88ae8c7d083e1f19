"""Prometheus scrape endpoint."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app import metrics
from app.api.deps import SessionDep, SettingsDep
from app.domain.kernel import errors as d

router = APIRouter(tags=["ops"])


@router.get(
    "/metrics",
    response_class=Response,
    status_code=200,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
async def scrape_metrics(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Expose metrics in the Prometheus text format (bearer GISGW_METRICS_TOKEN when that is set)."""
    if settings.metrics.token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.metrics.token.get_secret_value().encode()):
            raise d.AuthenticationRequired("This endpoint needs the metrics token.")
    await metrics.refresh(session, request.app.state.gauges)
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
