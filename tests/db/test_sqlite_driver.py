"""The SQLite driver: one aiosqlite thread hop per statement, with everything SQLAlchemy reads kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.engine import create_engine, create_sessionmaker
from app.db.sqlite_driver import OneHopConnection


class _Base(DeclarativeBase):
    pass


class _Item(_Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(20), unique=True)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Count the calls queued on aiosqlite's thread (each is one hop there and back)."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    yield seen


async def test_the_engine_uses_the_one_hop_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)


async def test_a_select_is_one_hop_and_an_idle_commit_or_rollback_none(
    engine: AsyncEngine, hops: list[str]
) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))  # the pool's first use of the connection settles here
        hops.clear()
        assert (await conn.execute(sa.text("SELECT 1 UNION SELECT 2 ORDER BY 1"))).scalars().all() == [1, 2]
        assert hops == ["_run"]
        await conn.commit()
        await conn.rollback()
    assert hops == ["_run"], "no transaction was open: commit, rollback and the pool's reset cost no hop"


async def test_writes_keep_rowcount_lastrowid_and_returning_rows(
    engine: AsyncEngine, hops: list[str]
) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        item = _Item(name="a")
        session.add(item)
        await session.flush()
        assert item.id == 1  # the ORM read lastrowid (or RETURNING) from the one call
        await session.execute(sa.insert(_Item), [{"name": "b"}, {"name": "c"}])  # executemany
        changed = await session.execute(sa.update(_Item).where(_Item.id > 1).values(name=_Item.name + "!"))
        assert changed.rowcount == 2  # type: ignore[attr-defined]
        returned = await session.execute(
            sa.update(_Item).where(_Item.id >= 2).values(name=_Item.name + "?").returning(_Item.name)
        )
        assert sorted(returned.scalars().all()) == ["b!?", "c!?"]
    assert "commit" in hops  # a transaction was open: its commit is a hop
    async with sessionmaker() as session:
        names = (await session.execute(sa.select(_Item.name).order_by(_Item.id))).scalars().all()
    assert names == ["a", "b!?", "c!?"]


async def test_an_error_is_sqlalchemys_and_the_rollback_undoes_the_transaction(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        session.add(_Item(name="x"))
        await session.flush()
        with pytest.raises(IntegrityError):
            await session.execute(sa.insert(_Item).values(name="x"))
        await session.rollback()
    async with sessionmaker() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(_Item))).scalar_one() == 0


async def test_streaming_still_reads_in_batches(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.insert(_Item), [{"name": f"n{i}"} for i in range(250)])
    async with engine.connect() as conn:
        result = await conn.stream(sa.select(_Item.name).order_by(_Item.id).execution_options(yield_per=100))
        names = [name async for name in result.scalars()]
    assert len(names) == 250 and names[0] == "n0" and names[-1] == "n249"
