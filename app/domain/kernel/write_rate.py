"""The per-key rate of changing requests: a token bucket kept in the database, shared by every replica.

In process memory each replica granted a key the full rate, so two replicas on one database granted it twice
(issue #19). Here the bucket is one row per key (`key_write_rates`), refilled and spent by one atomic
`INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING` (PostgreSQL, and SQLite from 3.35 with the same syntax):
the row lock orders concurrent requests from any replica, so the budget is exact across replicas.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Double, case, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import KeyWriteRate


@dataclass(frozen=True)
class WriteRate:
    """How many changing requests a key may make: `per_minute` on average, `burst` at once (0: no limit)."""

    per_minute: int
    burst: int

    @property
    def enabled(self) -> bool:
        """Whether the rate applies at all."""
        return self.per_minute > 0

    @property
    def per_second(self) -> float:
        """Tokens the bucket gains per second."""
        return self.per_minute / 60.0


async def take_write_token(
    *, session: AsyncSession, key_id: uuid.UUID, rate: WriteRate, now: float | None = None
) -> float:
    """Spend one changing request of the key; return 0, or the seconds until its bucket holds one again.

    `now` is seconds since the Unix epoch (the replica's clock; a clock behind the stored time refills
    nothing rather than taking tokens back). The caller commits.
    """
    if not rate.enabled:
        return 0.0
    at = time.time() if now is None else now
    burst = float(max(rate.burst, 1))
    stored_tokens = KeyWriteRate.tokens
    stored_at = KeyWriteRate.updated_at
    at_value: ColumnElement[float] = literal(at, Double())
    elapsed = case((at_value > stored_at, at_value - stored_at), else_=literal(0.0, Double()))
    grown = stored_tokens + elapsed * literal(rate.per_second, Double())
    refilled = case((grown > literal(burst, Double()), literal(burst, Double())), else_=grown)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        insert(KeyWriteRate)
        .values(key_id=key_id, tokens=burst - 1.0, updated_at=at)
        .on_conflict_do_update(
            index_elements=[KeyWriteRate.key_id],
            set_={
                "tokens": refilled - literal(1.0, Double()),
                "updated_at": case((at_value > stored_at, at_value), else_=stored_at),
            },
            # An empty bucket is left as it is (no row comes back): the refill goes on from the last grant.
            where=refilled >= literal(1.0, Double()),
        )
        .returning(KeyWriteRate.tokens)
    )
    granted = (await session.execute(upsert)).first()
    if granted is not None:
        return 0.0
    # Refused: how long until one token is back (advice for Retry-After; read outside the atomic step).
    row = (
        await session.execute(
            select(KeyWriteRate.tokens, KeyWriteRate.updated_at).where(KeyWriteRate.key_id == key_id)
        )
    ).first()
    if row is None:
        return 1.0 / rate.per_second
    tokens = min(burst, row.tokens + max(0.0, at - row.updated_at) * rate.per_second)
    wait = (1.0 - tokens) / rate.per_second
    # Another replica's refused request may have read a refilled row meanwhile: never advise "now".
    return wait if wait > 0 else 1.0 / rate.per_second
