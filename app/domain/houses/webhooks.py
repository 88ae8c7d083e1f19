"""Change-feed webhooks: signed POSTs of each change to the organisation's subscribers, at least once.

A delivery row per (event, URL) is written with the change itself, in the same transaction, so no change is
announced that was not stored and none is lost. The loop claims due rows (moving `next_attempt_at` ahead by
the timeout first, so a second gateway process does not send the same row at the same time), POSTs, and marks
them delivered on any 2xx; otherwise it retries with exponential back-off up to
`settings.houses.webhook_max_attempts`.
A receiver may see an event more than once (a crash after its 2xx, before our commit): the `X-Gisgw-Event-Id`
header and the body's `id` let it drop repeats.

Signature: `X-Gisgw-Signature: sha256=<hex>`, HMAC-SHA256 with the subscriber's secret over
`<X-Gisgw-Timestamp>.<body bytes>` — the timestamp inside the MAC lets receivers refuse replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.models.houses import HouseChange, WebhookDelivery
from app.domain.houses import subscriptions
from app.settings import Settings

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
BATCH = 50
IDLE_POLL_SECONDS = 1.0
SIGNATURE_HEADER = "X-Gisgw-Signature"
TIMESTAMP_HEADER = "X-Gisgw-Timestamp"
EVENT_HEADER = "X-Gisgw-Event-Id"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value for a body sent at `timestamp` (Unix seconds as text)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Check a signature header in constant time (what a receiver does)."""
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def event_payload(change: HouseChange) -> dict[str, Any]:
    """Return the JSON body announcing a change (no personal data: a payer change names no payer)."""
    return {
        "id": str(change.id),
        "type": f"house.{change.kind}",
        "organisation_id": str(change.organisation_id),
        "month": change.month.isoformat()[:7],
        "previous_month": change.previous_month.isoformat()[:7],
        "fias_house_guid": str(change.fias_house_guid),
        "kind": change.kind,
        "object_guid": str(change.object_guid),
        "premises_number": change.premises_number,
        "els": change.els,
        "account_number": change.account_number,
        "old_value": change.old_value,
        "new_value": change.new_value,
        "detected_at": change.detected_at.isoformat(),
    }


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Return the wait before the next attempt after `attempts` failed ones (doubling, capped)."""
    seconds = settings.houses.webhook_retry_initial * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, settings.houses.webhook_retry_max))


Claimed = tuple[WebhookDelivery, HouseChange, str | None]


async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, now: datetime
) -> list[Claimed]:
    """Claim due deliveries, each with the secret of its subscriber (None: no subscriber any more)."""
    lease = now + timedelta(seconds=settings.houses.webhook_timeout * 2)
    claimed: list[tuple[WebhookDelivery, HouseChange]] = []
    async with sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                select(WebhookDelivery, HouseChange)
                .join(HouseChange, HouseChange.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, HouseChange.detected_at)
                .limit(BATCH)
            )
        ).all()
        for delivery, change in rows:
            # Conditional update: only the process that moves the lease from the value it read owns the row.
            moved = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery.id,
                    WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
                    WebhookDelivery.status == PENDING,
                )
                .values(next_attempt_at=lease)
            )
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append((delivery, change))
        secrets = await subscriptions.secrets_for(
            session, settings=settings, pairs={(dl.organisation_id, dl.url) for dl, _ in claimed}
        )
    return [(dl, ch, secrets.get((dl.organisation_id, dl.url))) for dl, ch in claimed]


async def _send(
    client: httpx.AsyncClient, delivery: WebhookDelivery, change: HouseChange, secret: str | None
) -> tuple[int | None, str | None]:
    if secret is None:
        return None, "the URL is no longer configured for the organisation"
    body = json.dumps(event_payload(change), ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: str(change.id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    try:
        response = await client.post(delivery.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, client: httpx.AsyncClient
) -> int:
    """Send the deliveries that are due; return how many were attempted."""
    claimed = await _claim(sessionmaker, settings, utcnow())
    for delivery, change, secret in claimed:
        status_code, error = await _send(client, delivery, change, secret)
        attempts = delivery.attempts + 1
        now = utcnow()
        values: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code, "last_error": error}
        if error is None:
            values.update(status=DELIVERED, delivered_at=now)
        elif attempts >= settings.houses.webhook_max_attempts:
            values.update(status=FAILED)
        else:
            values.update(next_attempt_at=now + backoff(settings, attempts))
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)
            )
        if error is not None:
            log.warning("webhook delivery %s attempt %d failed: %s", delivery.id, attempts, error)
    return len(claimed)


async def webhook_loop(ctx: Any, stop: asyncio.Event) -> None:
    """Deliver due webhooks until `stop` is set (polls at most once a second when idle)."""
    settings: Settings = ctx.settings
    # Always running: subscribers registered through the API appear while the gateway runs. When idle it
    # looks at most once a second (a webhook a second late is fine; a query every few ms under a fast
    # `poll_interval` is not).
    idle = max(settings.workers.poll_interval, IDLE_POLL_SECONDS)
    async with httpx.AsyncClient(timeout=settings.houses.webhook_timeout, follow_redirects=False) as client:
        while not stop.is_set():
            sent = 0
            try:
                sent = await deliver_due(ctx.sessionmaker, settings, client)
            except Exception:
                log.exception("webhook delivery failed; retrying")
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle)
