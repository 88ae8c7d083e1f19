"""Delivered pre-court notices as a fact court work can rely on (domain-rules §12).

A notice counts as delivered when the delivery journal holds `delivered` with a date (by post, registered
mail, hand, e-mail, SMS, the payment document, or through GIS ZhKKh) and, for a notice sent through GIS,
it was not recalled there. The court area reads the facts through this one function.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.monitoring import Notice, NoticeRun


@dataclass(frozen=True, slots=True)
class DeliveredNotice:
    """A notice delivered to an account's payer: what a court application cites (no personal data)."""

    notice_id: uuid.UUID
    account_id: uuid.UUID
    seq: int
    issued_on: date
    delivered_on: date
    channel: str
    gis_notification_guid: uuid.UUID | None = None

    def as_dict(self) -> dict[str, str | int | None]:
        """Return the JSON form."""
        return {
            "notice_id": str(self.notice_id),
            "seq": self.seq,
            "issued_on": self.issued_on.isoformat(),
            "delivered_on": self.delivered_on.isoformat(),
            "channel": self.channel,
            "gis_notification_guid": str(self.gis_notification_guid) if self.gis_notification_guid else None,
        }


async def delivered_notices(
    *, session: AsyncSession, organisation_id: uuid.UUID, on_date: date
) -> dict[uuid.UUID, DeliveredNotice]:
    """Return each account's latest notice delivered by `on_date` (recalled GIS notices left out)."""
    stmt = (
        select(
            Notice.id,
            Notice.account_id,
            Notice.seq,
            NoticeRun.on_date,
            Notice.delivered_on,
            Notice.channel,
            Notice.gis_notification_guid,
            Notice.gis_status,
        )
        .join(NoticeRun, NoticeRun.id == Notice.run_id)
        .where(
            Notice.organisation_id == organisation_id,
            Notice.status == "delivered",
            Notice.delivered_on.is_not(None),
            Notice.delivered_on <= on_date,
        )
        .order_by(Notice.delivered_on, NoticeRun.on_date, Notice.seq)
    )
    out: dict[uuid.UUID, DeliveredNotice] = {}
    for notice_id, account_id, seq, issued, delivered, channel, guid, gis_status in (
        await session.execute(stmt)
    ).all():
        if delivered is None or gis_status in ("recalling", "recalled"):
            continue
        out[account_id] = DeliveredNotice(
            notice_id, account_id, seq, issued, delivered, channel or "—", guid if channel == "gis" else None
        )
    return out
