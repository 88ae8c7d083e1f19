"""Prometheus metrics: GIS exchanges, retries, queues, debt-request deadlines and HTTP requests."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: One registry for the process (not the global default, so tests and embedded apps stay independent of
#: whatever else imports prometheus_client).
REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)

GIS_EXCHANGES = Counter(
    "gisgw_gis_exchanges_total",
    "GIS exchanges finished, by service, operation and outcome (done, failed, empty)",
    ["service", "operation", "outcome"],
    registry=REGISTRY,
)
GIS_EXCHANGE_SECONDS = Histogram(
    "gisgw_gis_exchange_seconds",
    "Seconds from the first send to the final getState result",
    ["service", "operation"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
GIS_HTTP_SECONDS = Histogram(
    "gisgw_gis_http_seconds",
    "Seconds per HTTP call to GIS (send or getState)",
    ["service", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180),
    registry=REGISTRY,
)
GIS_RETRIES = Counter(
    "gisgw_gis_retries_total",
    "Messages rebuilt and resent, by operation and reason (transport, timeout, http_5xx, GIS code)",
    ["operation", "reason"],
    registry=REGISTRY,
)
GIS_PENDING = Gauge(
    "gisgw_gis_pending_exchanges",
    "Exchanges not yet finished, by status",
    ["status"],
    registry=REGISTRY,
)
DEBT_REQUESTS = Gauge(
    "gisgw_debt_requests",
    "Debt subrequests by organisation and local status",
    ["organisation", "status"],
    registry=REGISTRY,
)
DEADLINES_AT_RISK = Gauge(
    "gisgw_debt_deadlines_at_risk",
    "Unanswered subrequests with at most one working day left, by organisation",
    ["organisation"],
    registry=REGISTRY,
)
DEADLINES_OVERDUE = Gauge(
    "gisgw_debt_deadlines_overdue",
    "Unanswered subrequests past their deadline, by organisation",
    ["organisation"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "gisgw_http_requests_total",
    "HTTP requests served, by method, route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "gisgw_http_request_seconds",
    "HTTP request latency by method and route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


class HttpMetricsMiddleware:
    """Count and time every HTTP request by its route template (never the raw path: no id cardinality)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_SECONDS.labels(method, template).observe(time.perf_counter() - start)


#: Async functions that refresh gauges from the database just before a scrape (the areas' `gauges`, handed in
#: by app.main through `app.state.gauges`).
GaugeRefresher = Callable[[AsyncSession], Awaitable[None]]


async def refresh(session: AsyncSession, refreshers: Sequence[GaugeRefresher]) -> None:
    """Recompute the database-backed gauges."""
    for refresher in refreshers:
        await refresher(session)
