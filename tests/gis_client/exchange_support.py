"""Helpers shared by the exchange, retry and journal tests: a signed engine against a ScriptedGis."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.gis_client.crypto.backend import generate_test_key, get_backend
from app.gis_client.crypto.keys import GostBackend
from app.gis_client.crypto.signer import LocalKeySigner
from app.gis_client.exchange import CompletionHook, ExchangeEngine, encode_payload
from app.gis_client.messages import DSRAction, DSRResponseData, ExportDSRsQuery, Period
from app.gis_client.retry import RetryPolicy
from app.gis_client.wire.schemas import SchemaSet
from app.gis_client.wire.transport import Transport
from tests.conftest import SCHEMA_DIR, make_settings
from tests.factories import make_org


@cache
def signer() -> tuple[LocalKeySigner, GostBackend]:
    """One test key per run (signing with it is what the engine does)."""
    backend = get_backend("auto")
    key_pem, cert_pem = generate_test_key("/CN=gisgw exchange test/O=Lab", backend=backend)
    return LocalKeySigner(key_pem, cert_pem, backend), backend


@cache
def schemas() -> SchemaSet:
    """The official XSD set, compiled once."""
    return SchemaSet.load(SCHEMA_DIR)


FAST: dict[str, Any] = {
    "gis_poll_schedule": [0.01],
    "gis_retry_initial_delay": 0.01,
    "gis_retry_max_delay": 0.05,
    "gis_maintenance_delay": 0.05,
    "gis_connect_timeout": 1.0,
    "gis_read_timeout": 2.0,
    "worker_poll_interval": 0.01,
}


def make_engine(
    database_url: str,
    gis_url: str,
    *,
    worker_id: str | None = None,
    hooks: Mapping[str, CompletionHook] | None = None,
    audit: CompletionHook | None = None,
    **overrides: Any,
) -> ExchangeEngine:
    """Build an engine with tiny delays pointed at a scripted GIS."""
    settings = make_settings(database_url, gis_base_url=gis_url, **{**FAST, **overrides})
    sign, backend = signer()
    return ExchangeEngine(
        settings=settings,
        transport=Transport.from_settings(settings),
        signer=sign,
        backend=backend,
        schemas=schemas(),
        policy=RetryPolicy.from_settings(settings),
        worker_id=worker_id,
        hooks=hooks,
        audit=audit,
    )


async def new_org(sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    """Commit an organisation and return its id."""
    async with sessionmaker() as session, session.begin():
        org = await make_org(session)
        return org.id


def export_payload() -> dict[str, Any]:
    """A valid exportDSRsRequest payload (filter by period, unanswered only)."""
    query = ExportDSRsQuery(
        period=Period(date(2025, 1, 1), date(2025, 3, 31)), response_statuses=("NotSent",)
    )
    return encode_payload("exportDebtSubrequests", query)


def import_payload() -> dict[str, Any]:
    """A valid importDSRResponsesRequest payload with one "no debt" answer."""
    action = DSRAction(
        transport_guid=str(uuid.uuid4()),
        subrequest_guid=str(uuid.uuid4()),
        action="Send",
        response=DSRResponseData(has_debt=False, executor_guid=str(uuid.uuid4())),
    )
    return encode_payload("importResponses", [action])
