"""Change-feed subscribers: those configured in settings and those organisations register through the API.

A billing system subscribes itself (`POST …/house-webhooks`) instead of asking the operator to edit
`GISGW_HOUSES_WEBHOOKS`. Both kinds are read by `targets`, which the sync uses to write a delivery row per
event and URL, and by `secrets_for`, which the delivery loop uses to find the secret to sign with. The secret
is stored (every delivery is signed with it) and never shown again; deleting a subscription fails its pending
deliveries at once rather than retrying a URL nobody listens to for us any more.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.houses import WebhookDelivery, WebhookSubscription
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal, require_organisation
from app.settings import Settings

#: Subscriptions an organisation may register (a bound: each adds a delivery row per change).
MAX_PER_ORGANISATION = 10
RESOURCE = "house_webhook_subscription"


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number in range raises here, not at delivery time
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 literal) or "http://host:99999"
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise d.RuleViolation(
            "A webhook URL must be an absolute http or https URL.",
            rule="webhook_url",
            errors=[d.FieldProblem("body.url", "webhook_url", "absolute http(s) URL with a host")],
        )
    if parts.username or parts.password:
        raise d.RuleViolation(
            "A webhook URL must not carry credentials: the HMAC signature authenticates the gateway.",
            rule="webhook_url_no_credentials",
            errors=[d.FieldProblem("body.url", "webhook_url_no_credentials", "no user:password@ in the URL")],
        )


async def create_subscription(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID, url: str, secret: str
) -> WebhookSubscription:
    """Register a subscriber URL and its signing secret for the organisation's change feed."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    _check_url(url)
    existing = (
        await session.scalars(
            select(WebhookSubscription).where(WebhookSubscription.organisation_id == organisation_id)
        )
    ).all()
    if any(s.url == url for s in existing):
        raise d.ConflictError(
            "This URL is already subscribed for the organisation; delete it first to change its secret.",
            rule="webhook_url_unique",
            errors=[d.FieldProblem("body.url", "webhook_url_unique", "already subscribed")],
        )
    if len(existing) >= MAX_PER_ORGANISATION:
        raise d.RuleViolation(
            f"An organisation may register at most {MAX_PER_ORGANISATION} webhook URLs.",
            rule="webhook_limit",
            errors=[d.FieldProblem("body.url", "webhook_limit", f"at most {MAX_PER_ORGANISATION}")],
        )
    sub = WebhookSubscription(
        id=uuid.uuid4(), organisation_id=organisation_id, url=url, secret=secret, created_at=utcnow()
    )
    session.add(sub)
    await audit.record(
        session=session, principal=principal, action="house_webhook.create", resource_type=RESOURCE,
        resource_id=sub.id, organisation_id=organisation_id, details={"url": url},
    )  # fmt: skip
    return sub


async def list_subscriptions(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID
) -> list[WebhookSubscription]:
    """Return the organisation's registered subscribers (oldest first)."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    rows = await session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.organisation_id == organisation_id)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return list(rows.all())


async def delete_subscription(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    subscription_id: uuid.UUID,
    settings: Settings,
) -> None:
    """Remove a subscriber; its pending deliveries fail now unless settings still list the same URL."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    sub = await session.get(WebhookSubscription, subscription_id)
    if sub is None or sub.organisation_id != organisation_id:
        raise d.NotFoundError(
            f"Webhook subscription {subscription_id} not found.",
            rule="webhook_subscription_exists",
            errors=[d.FieldProblem("subscription_id", "webhook_subscription_exists", "unknown subscription")],
        )
    configured = {t.url for t in settings.houses.webhooks.get(str(organisation_id), [])}
    if sub.url not in configured:
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.organisation_id == organisation_id,
                WebhookDelivery.url == sub.url,
                WebhookDelivery.status == "pending",
            )
            .values(status="failed", last_error="the subscription was deleted")
        )
    await session.delete(sub)
    await audit.record(
        session=session, principal=principal, action="house_webhook.delete", resource_type=RESOURCE,
        resource_id=subscription_id, organisation_id=organisation_id, details={"url": sub.url},
    )  # fmt: skip


async def targets(session: AsyncSession, *, settings: Settings, organisation_id: uuid.UUID) -> dict[str, str]:
    """Return the organisation's subscriber URLs and secrets (settings win over a registered duplicate)."""
    found = {
        s.url: s.secret
        for s in (
            await session.scalars(
                select(WebhookSubscription).where(WebhookSubscription.organisation_id == organisation_id)
            )
        ).all()
    }
    for target in settings.houses.webhooks.get(str(organisation_id), []):
        found[target.url] = target.secret.get_secret_value()
    return found


async def secrets_for(
    session: AsyncSession, *, settings: Settings, pairs: Iterable[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], str]:
    """Return the secret of each (organisation, URL) that still has a subscriber, for signing deliveries."""
    wanted = set(pairs)
    found: dict[tuple[uuid.UUID, str], str] = {}
    if wanted:
        rows = await session.execute(
            select(
                WebhookSubscription.organisation_id, WebhookSubscription.url, WebhookSubscription.secret
            ).where(WebhookSubscription.organisation_id.in_({org for org, _ in wanted}))
        )
        found = {(org, url): secret for org, url, secret in rows.all() if (org, url) in wanted}
    for org, url in wanted:
        for target in settings.houses.webhooks.get(str(org), []):
            if target.url == url:
                found[(org, url)] = target.secret.get_secret_value()
    return found
