"""The PostgreSQL fast path of the accounts import (COPY text built in worker processes) and its encoder."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.accounts import Account, LedgerEntry
from app.domain import accounts_import as imp
from tests.conftest import DB_BACKEND
from tests.domain.test_accounts_import import HOUSE, account_row, jsonl
from tests.factories import make_org


@pytest.fixture
async def db(fresh_database_url: str) -> Any:
    engine = create_engine(fresh_database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _org(sm: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with sm() as s, s.begin():
        return (await make_org(s)).id


async def _count(sm: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def test_copy_text_escapes_and_nulls() -> None:
    day = date(2025, 1, 1)
    out = imp.copy_text([("a\tb", None, True, False, day, "back\\slash", "line\nbreak\r")])
    assert out == b"a\\tb\t\\N\tt\tf\t2025-01-01\tback\\\\slash\tline\\nbreak\\r\n"


def test_encode_chunk_counts_and_rejects() -> None:
    org = uuid.uuid4()
    lines = jsonl(account_row("1001"), "{bad", account_row("1001"), account_row("1002")).split(b"\n")
    enc = imp.encode_jsonl_chunk(lines, 10, org)
    assert (enc.seen, enc.accounts, enc.superseded, enc.ledger_months) == (4, 2, 1, 4)
    assert [r[0] for r in enc.rejected] == [11]
    assert enc.copy["imp_ledger"].count(b"\n") == 4


@pytest.mark.parametrize("processes", [0, 1])
async def test_import_file_fast_path(
    db: async_sessionmaker[AsyncSession], tmp_path: Path, processes: int
) -> None:
    org = await _org(db)
    tricky = account_row("1003")
    tricky["payer"]["birth_place"] = "г. Москва\\Тверь"  # a backslash must survive COPY
    path = tmp_path / "a.jsonl"
    rows = [account_row(f"{1000 + i}") for i in range(7)] + ["{not json", tricky]
    path.write_bytes(jsonl(*rows) + b"\n\n")
    kw: dict[str, Any] = {"chunk_size": 3, "processes": processes}
    report = await imp.import_file(sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, **kw)
    assert (report.rows, report.applied, report.rejected, report.superseded) == (
        9,
        8,
        1,
        0,
    )  # the duplicate is in another chunk
    assert report.rejected_rows[0]["row"] == 8
    again = await imp.import_file(sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, **kw)
    assert again.applied == 8
    assert await _count(db, Account) == 7
    assert await _count(db, LedgerEntry) == 14
    async with db() as s:
        acc = await s.get(Account, imp.account_id_for(org, "1003"))
        assert acc is not None and acc.birth_place == "г. Москва\\Тверь"


async def test_import_file_database_refusal_rejects_only_the_row(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if DB_BACKEND != "postgresql":
        pytest.skip("PostgreSQL refuses NUL characters in text; SQLite stores them")
    org = await _org(db)
    bad = account_row("1002")
    bad["payer"]["birth_place"] = "a\u0000b"
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (account_row("1001"), bad, account_row("1003"))))
    report = await imp.import_file(sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, processes=0)
    assert (report.applied, report.rejected) == (2, 1)
    assert report.rejected_rows[0]["row"] == 2 and report.rejected_rows[0]["errors"][0]["rule"] == "database"
    assert await _count(db, Account) == 2


async def _orphan_ledger_rows(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        orphans = select(func.count()).where(LedgerEntry.account_id.not_in(select(Account.id)))
        return int(await s.scalar(orphans) or 0)


async def test_import_never_leaves_ledger_rows_without_their_account(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # ledger_entries has no foreign key (migration 0006): the import itself must keep the ledger consistent,
    # for the initial load (direct COPY on PostgreSQL), a re-run (upsert) and rows rejected at any stage.
    org = await _org(db)
    bad_period = account_row("2002")
    bad_period["ledger"][1]["period"] = "2025-02-15"
    rows: list[Any] = [account_row("2001"), bad_period, "{broken", account_row("2004")]
    if DB_BACKEND == "postgresql":
        refused = account_row("2005")
        refused["payer"]["birth_place"] = "a\u0000b"  # refused by the database, after validation
        rows.append(refused)
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows))
    for _run in range(2):
        report = await imp.import_file(
            sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, processes=0, chunk_size=10
        )
        assert report.applied == 2 and report.rejected == len(rows) - 2
        assert await _orphan_ledger_rows(db) == 0
        assert await _count(db, LedgerEntry) == 4
    async with db() as s:
        ids = set((await s.scalars(select(LedgerEntry.account_id).distinct())).all())
    assert ids == {imp.account_id_for(org, "2001"), imp.account_id_for(org, "2004")}


async def test_deleting_an_account_deletes_its_ledger(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    from app.db.models.core import Organisation

    org = await _org(db)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(account_row("3001"), account_row("3002")))
    await imp.import_file(sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, processes=0)
    async with db() as s, s.begin():
        await s.execute(Account.__table__.delete().where(Account.id == imp.account_id_for(org, "3001")))
    assert await _count(db, LedgerEntry) == 2 and await _orphan_ledger_rows(db) == 0
    async with db() as s, s.begin():  # the organisation's ON DELETE CASCADE reaches the ledger too
        await s.execute(Organisation.__table__.delete().where(Organisation.id == org))
    assert await _count(db, LedgerEntry) == 0


async def test_search_on_a_fresh_session_reads_without_a_transaction(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # On PostgreSQL a search on a session that has not begun a transaction runs in autocommit (no BEGIN and
    # COMMIT round trips); the result must be the same as inside a transaction, and the session usable after.
    from app.domain.access import Principal
    from app.domain.accounts import AccountQuery, search_accounts

    org = await _org(db)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(*(account_row(f"40{i:02d}") for i in range(5))))
    await imp.import_file(sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, processes=0)
    principal = Principal(
        key_id=None, name="t", scopes=frozenset({"read"}), organisation_ids=frozenset({org})
    )
    query = AccountQuery(fias_house_guid=uuid.UUID(HOUSE), premises="кв 02")
    async with db() as s:
        page = await search_accounts(s, principal=principal, query=query, with_debt=True, limit=1)
        assert [h.account.account_number for h in page.items] == ["4002"]
        assert page.items[0].summary is not None and page.items[0].quality == "normalised"
        await s.commit()
    async with db() as s, s.begin():
        await s.scalar(select(func.count()).select_from(Account))  # a transaction is already open
        again = await search_accounts(s, principal=principal, query=query, limit=1)
    assert [h.account.id for h in again.items] == [h.account.id for h in page.items]
