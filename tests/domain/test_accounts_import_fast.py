"""The PostgreSQL fast path of the accounts import (COPY text built in worker processes) and its encoder."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import bulk_accounts as bulk
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.domain.accounts import import_fast as fast
from app.domain.accounts import importing as imp
from app.domain.accounts import rows as schema
from app.domain.accounts.ledger import LedgerRecord
from tests.conftest import DB_BACKEND
from tests.domain.test_accounts_import import HOUSE, _count, _ledgers, _months, _org, account_row, jsonl


def test_copy_text_escapes_and_nulls() -> None:
    day = date(2025, 1, 1)
    out = bulk.copy_text([("a\tb", None, True, False, day, "back\\slash", "line\nbreak\r")])
    assert out == b"a\\tb\t\\N\tt\tf\t2025-01-01\tback\\\\slash\tline\\nbreak\\r\n"


def test_encode_chunk_counts_and_rejects() -> None:
    org = uuid.uuid4()
    lines = jsonl(account_row("1001"), "{bad", account_row("1001"), account_row("1002")).split(b"\n")
    enc = fast.encode_jsonl_chunk(lines, 10, org)
    assert (enc.seen, enc.accounts, enc.superseded, enc.ledger_months) == (4, 2, 1, 4)
    assert [r[0] for r in enc.rejected] == [11]
    assert enc.copy["imp_ledger"].count(b"\n") == 2  # one ledger row per account


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
    assert await _months(db) == 14
    async with db() as s:
        acc = await s.get(Account, schema.account_id_for(org, "1003"))
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
        orphans = select(func.count()).where(AccountLedger.account_id.not_in(select(Account.id)))
        return int(await s.scalar(orphans) or 0)


async def _orphan_links(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        orphans = select(func.count()).where(
            AccountPremises.account_id.not_in(select(Account.id))
            | AccountPremises.premises_id.not_in(select(Premises.id))
        )
        return int(await s.scalar(orphans) or 0)


async def test_import_never_leaves_ledger_rows_without_their_account(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # account_ledgers has no foreign key (migrations 0006, 0007): the import must keep the ledger consistent,
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
        assert await _orphan_ledger_rows(db) == 0 and await _orphan_links(db) == 0
        assert await _months(db) == 4 and await _count(db, AccountPremises) == 2
    assert set(await _ledgers(db)) == {schema.account_id_for(org, "2001"), schema.account_id_for(org, "2004")}


async def test_deleting_an_account_or_premises_deletes_its_ledger_and_links(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # account_ledgers and account_premises have no foreign keys (migrations 0006-0008): triggers do what
    # ON DELETE CASCADE did, for direct deletes and for the organisation's and the house's cascades.
    from app.db.models.core import Organisation

    org = await _org(db)
    path = tmp_path / "a.jsonl"
    other_house = str(uuid.uuid4())
    rows = [account_row("3001"), account_row("3002"), account_row("3003")]
    rows[2]["premises"].append({"fias_house_guid": other_house, "number": "1"})
    path.write_bytes(jsonl(*rows))
    await imp.import_file(sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, processes=0)
    assert (await _count(db, AccountLedger), await _count(db, AccountPremises)) == (3, 4)
    async with db() as s, s.begin():
        await s.execute(Account.__table__.delete().where(Account.id == schema.account_id_for(org, "3001")))
    assert (await _count(db, AccountLedger), await _count(db, AccountPremises)) == (2, 3)
    async with db() as s, s.begin():  # a premises, through its house's cascade
        await s.execute(
            House.__table__.delete().where(House.id == schema.house_id_for(uuid.UUID(other_house)))
        )
    async with db() as s:
        links = (await s.execute(select(AccountPremises.account_id))).scalars().all()
    assert sorted(links) == sorted(schema.account_id_for(org, n) for n in ("3002", "3003"))
    assert await _orphan_ledger_rows(db) == 0 and await _orphan_links(db) == 0
    async with db() as s, s.begin():  # the organisation's ON DELETE CASCADE reaches ledgers and links too
        await s.execute(Organisation.__table__.delete().where(Organisation.id == org))
    assert (await _count(db, AccountLedger), await _count(db, AccountPremises)) == (0, 0)
    assert await _count(db, Premises) == 3  # premises are not the organisation's


async def test_search_on_a_fresh_session_reads_without_a_transaction(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # On PostgreSQL a search on a session that has not begun a transaction runs in autocommit (no BEGIN and
    # COMMIT round trips); the result must be the same as inside a transaction, and the session usable after.
    from app.domain.accounts.registry import AccountQuery, search_accounts
    from app.domain.kernel.access import Principal

    org = await _org(db)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(*(account_row(f"40{i:02d}") for i in range(5))))
    await imp.import_file(sessionmaker=db, path=path, fmt="jsonl", organisation_id=org, processes=0)
    principal = Principal(
        key_id=None, name="t", scopes=frozenset({"read"}), organisation_ids=frozenset({org})
    )
    query = AccountQuery(fias_house_guid=uuid.UUID(HOUSE), premises="кв 02")
    async with db() as s:
        page = await search_accounts(session=s, principal=principal, query=query, with_debt=True, limit=1)
        assert [h.account.account_number for h in page.items] == ["4002"]
        assert page.items[0].summary is not None and page.items[0].quality == "normalised"
        await s.commit()
    async with db() as s, s.begin():
        await s.scalar(select(func.count()).select_from(Account))  # a transaction is already open
        again = await search_accounts(session=s, principal=principal, query=query, limit=1)
    assert [h.account.id for h in again.items] == [h.account.id for h in page.items]


# --- the direct path of an initial load and its fallbacks (PostgreSQL) -------------------------------------

pg_only = pytest.mark.skipif(DB_BACKEND != "postgresql", reason="the COPY paths are PostgreSQL's")


async def _state(sm: async_sessionmaker[AsyncSession], org: uuid.UUID) -> dict[str, Any]:
    """An organisation's accounts, their premises and ledgers, by account number (no ids, no timestamps)."""
    skip = {"id", "organisation_id", "created_at", "updated_at"}
    ledgers = await _ledgers(sm)
    async with sm() as s:
        accounts = (await s.scalars(select(Account).where(Account.organisation_id == org))).all()
        out: dict[str, Any] = {}
        for a in accounts:
            links = (
                await s.execute(
                    select(
                        Premises.number_raw,
                        Premises.number_norm,
                        Premises.kind,
                        AccountPremises.share_percent,
                    )
                    .join(AccountPremises, AccountPremises.premises_id == Premises.id)
                    .where(AccountPremises.account_id == a.id)
                    .order_by(Premises.number_norm)
                )
            ).all()
            ledger = ledgers.get(a.id, [])
            fields = {c.name: getattr(a, c.key) for c in Account.__table__.columns if c.name not in skip}
            out[a.account_number] = (fields, [tuple(r) for r in links], ledger)
    return out


def _no_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*_args: Any) -> None:
        raise AssertionError("a chunk was refused and retried row by row")

    monkeypatch.setattr(imp, "_retry_rows", refuse)


async def _import(sm: async_sessionmaker[AsyncSession], tmp_path: Path, org: uuid.UUID, *rows: Any) -> Any:
    path = tmp_path / f"{uuid.uuid4().hex}.jsonl"
    path.write_bytes(jsonl(*rows))
    return await imp.import_file(sessionmaker=sm, path=path, fmt="jsonl", organisation_id=org, processes=0)


def _changed(number: str) -> dict[str, Any]:
    row = account_row(number, els=None)  # an empty GIS identifier never erases a stored one
    row["payer"]["last_name"] = "Сидоров"
    row["premises"] = [{"fias_house_guid": HOUSE, "number": f"пом. {number[-2:]}", "kind": "non_residential"}]
    row["ledger"] = [
        {"period": "2025-02-01", "charged": "120.00", "paid": "0"},
        {"period": "2025-03-01", "charged": "100.00", "paid": "0", "due_date": "2025-04-20"},
    ]
    return row


@pg_only
@pytest.mark.parametrize("probe_first", [False, True])
async def test_initial_load_copies_straight_into_the_tables(
    db: async_sessionmaker[AsyncSession], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe_first: bool
) -> None:
    org = await _org(db)
    _no_row_by_row(monkeypatch)
    monkeypatch.setattr(imp, "PROBE_FIRST", probe_first)
    for name in ("_PG_UPSERT_ACCOUNTS", "_PG_UPSERT_PREMISES", "_PG_DELETE_LINKS", "_PG_UPSERT_LEDGER"):
        monkeypatch.setattr(bulk, name, "SELECT 1/0")  # the direct path never runs them
    report = await _import(db, tmp_path, org, *(account_row(f"50{i:02d}") for i in range(5)))
    assert (report.applied, report.rejected, report.ledger_months) == (5, 0, 10)
    state = await _state(db, org)
    assert state["5003"][0]["els"] == "00АА005003" and state["5003"][0]["payer_name_key"] == "иванов иван"
    assert state["5003"][1] == [("кв. 03", "3", "apartment", Decimal("100.00"))]
    assert [m[0] for m in state["5003"][2]] == [date(2025, 1, 1), date(2025, 2, 1)]
    async with db() as s:
        stamps = (await s.execute(select(Account.created_at, Account.updated_at))).all()
    assert all(c == u and c is not None for c, u in stamps)


@pg_only
@pytest.mark.parametrize("fresh", [None, ("true", "true"), ("true", "false"), ("false", "true")])
async def test_direct_copy_meeting_existing_rows_is_redone_through_the_upsert(
    db: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh: tuple[str, str] | None,
) -> None:
    # An import COPYs straight in without checking first (None: the rows exist, the COPY fails on a unique
    # key, the chunk is redone staged). With the checks on, what a concurrent import of the same accounts
    # does (commit them between this chunk's check and its COPY) is reproduced by forcing the check to say
    # "fresh". Either way the outcome is that of the two imports one after the other.
    org, reference = await _org(db), await _org(db)
    first = [account_row(f"60{i:02d}") for i in range(4)]
    second = [_changed(f"60{i:02d}") for i in range(4)]
    for o in (org, reference):
        await _import(db, tmp_path, o, *first)
    assert (await _import(db, tmp_path, reference, *second)).applied == 4
    _no_row_by_row(monkeypatch)
    if fresh is not None:  # accounts and premises claimed fresh: both, or either alone
        monkeypatch.setattr(imp, "PROBE_FIRST", True)
        for name, claim in zip(("_PG_FRESH_ACCOUNTS", "_PG_FRESH_PREMISES"), fresh, strict=True):
            monkeypatch.setattr(bulk, name, f"SELECT {claim}, now()::text WHERE $1::text <> ''")
    report = await _import(db, tmp_path, org, *second)
    assert (report.applied, report.rejected, report.ledger_months) == (4, 0, 8)
    state = await _state(db, org)
    assert state == await _state(db, reference)
    fields, links, ledger = state["6001"]
    assert fields["last_name"] == "Сидоров" and fields["els"] == "00АА006001"
    assert links == [("пом. 01", "1Н", "non_residential", None)]
    assert ledger == [  # the re-imported months replaced, January kept
        LedgerRecord(date(2025, 1, 1), "100.00", "0.00", date(2025, 2, 10)),
        LedgerRecord(date(2025, 2, 1), "120.00", "0.00", date(2025, 3, 10)),
        LedgerRecord(date(2025, 3, 1), "100.00", "0.00", date(2025, 4, 20)),
    ]


@pg_only
async def test_chunk_mixing_new_and_known_accounts_is_upserted(
    db: async_sessionmaker[AsyncSession], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await _org(db)
    await _import(db, tmp_path, org, account_row("7001"), account_row("7002"))
    _no_row_by_row(monkeypatch)
    report = await _import(db, tmp_path, org, _changed("7002"), account_row("7003"), account_row("7004"))
    assert (report.applied, report.rejected) == (3, 0)
    state = await _state(db, org)
    assert sorted(state) == ["7001", "7002", "7003", "7004"]
    assert state["7002"][1] == [("пом. 02", "2Н", "non_residential", None)]  # premises replaced
    assert [m.charged for m in state["7002"][2]] == ["100.00", "120.00", "100.00"]
    assert state["7003"][1] == [("кв. 03", "3", "apartment", Decimal("100.00"))]
    assert await _orphan_ledger_rows(db) == 0


@pg_only
async def test_direct_and_staged_paths_and_both_encoders_store_the_same(
    db: async_sessionmaker[AsyncSession], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows: list[Any] = [account_row(f"80{i:02d}") for i in range(6)]
    rows[1]["payer"] |= {"middle_name": " Ёлкин ", "snils": "112-233-445 95", "birth_place": "a\\b\tc"}
    rows[2]["premises"].append({"fias_house_guid": str(uuid.uuid4()), "number": "пом. 1", "region": "77"})
    rows[3]["closed_on"] = "2025-06-30"
    rows[0] |= {"phone": "+79123456789", "email": "a.b@example.ru"}  # stored forms: the fast path takes them
    rows[3] |= {"phone": "8 912 345-67-80", "email": " Почта@пример.рф "}  # normalised by the models
    rows[4] = {**rows[4], "payer": {"kind": "organisation", "name": "ООО «Ромашка»", "inn": "7701234567"}}
    rows.append(dict(rows[0], els="00ББ000001"))  # supersedes the first row
    direct, staged = await _org(db), await _org(db)
    _no_row_by_row(monkeypatch)
    report = await _import(db, tmp_path, direct, *rows)
    monkeypatch.setattr(fast, "FAST_ENCODER", False)
    monkeypatch.setattr(bulk, "DIRECT_LOAD", False)
    assert (await _import(db, tmp_path, staged, *rows)).as_dict() == report.as_dict()
    assert report.superseded == 1
    state = await _state(db, direct)
    assert state == await _state(db, staged)
    assert state["8000"][0]["els"] == "00ББ000001" and state["8003"][0]["closed"] is True
    assert (state["8003"][0]["phone"], state["8003"][0]["email"]) == ("+79123456780", "Почта@пример.рф")
    # and a re-run changes nothing
    monkeypatch.setattr(fast, "FAST_ENCODER", True)
    monkeypatch.setattr(bulk, "DIRECT_LOAD", True)
    assert (await _import(db, tmp_path, direct, *rows)).applied == 6
    assert await _state(db, direct) == state


@pg_only
async def test_chunks_written_side_by_side_keep_the_file_order(
    db: async_sessionmaker[AsyncSession], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two chunks are written at once (imp.WRITERS); a later row must still win over an earlier one for an
    # account (its chunk waits), for a shared premises and a shared house (written in file order), and the
    # report must list rejections in file order.
    house = str(uuid.uuid4())
    flat = {"fias_house_guid": house, "number": "кв. 1", "address": "ул. Первая, 1"}
    refused = account_row("9005")
    refused["payer"]["birth_place"] = "a\u0000b"  # refused by the database
    bad = account_row("9006")
    bad["ledger"][0]["period"] = "2025-01-02"
    rows: list[Any] = [  # chunks of two rows
        account_row("9001", premises=[flat]),
        account_row("9002"),
        account_row("9003", premises=[{**flat, "number": "кв 1", "address": "ул. Первая, д. 1"}]),
        account_row("9004"),
        _changed("9001"),  # an account of a chunk that may still be being written
        refused,
        bad,
        account_row("9007"),
        "{not json",
    ]
    org, sequential = await _org(db), await _org(db)
    report = await imp.import_file(
        sessionmaker=db,
        path=_write(tmp_path, rows),
        fmt="jsonl",
        organisation_id=org,
        processes=0,
        chunk_size=2,
    )
    async with db() as s:
        premises = await s.get(Premises, schema.premises_id_for(schema.house_id_for(uuid.UUID(house)), "1"))
        assert premises is not None and premises.number_raw == "кв 1"
        house_row = await s.get(House, schema.house_id_for(uuid.UUID(house)))
        assert house_row is not None and house_row.address == "ул. Первая, д. 1"
    state = await _state(db, org)
    assert state["9001"][0]["last_name"] == "Сидоров"
    assert sorted(state) == ["9001", "9002", "9003", "9004", "9007"]
    monkeypatch.setattr(imp, "WRITERS", 1)
    again = await imp.import_file(
        sessionmaker=db,
        path=_write(tmp_path, rows),
        fmt="jsonl",
        organisation_id=sequential,
        processes=0,
        chunk_size=2,
    )
    assert report.as_dict() == again.as_dict()
    assert [r["row"] for r in report.rejected_rows] == [6, 7, 9]
    assert (report.applied, report.superseded) == (6, 0)


def _write(tmp_path: Path, rows: list[Any]) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.jsonl"
    path.write_bytes(jsonl(*rows))
    return path


@pg_only
async def test_reimport_in_many_chunks_turns_the_checks_on_and_matches_the_upserts(
    db: async_sessionmaker[AsyncSession], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Premises known from another organisation's import, then a re-import of the same accounts, in chunks of
    # two written side by side: the first direct COPYs fail, the checks turn on, the outcome is the upserts'.
    org, other, reference = await _org(db), await _org(db), await _org(db)
    first = [account_row(f"95{i:02d}") for i in range(6)]
    second = [_changed(f"95{i:02d}") for i in range(6)] + [account_row("9599")]
    await _import(db, tmp_path, other, *first)
    monkeypatch.setattr(bulk, "DIRECT_LOAD", False)
    for rows in (first, second):
        await _import(db, tmp_path, reference, *rows)
    monkeypatch.setattr(bulk, "DIRECT_LOAD", True)
    _no_row_by_row(monkeypatch)
    failed: list[str | None] = []
    original = bulk.Probes.failed

    def spy(self: Any, table: str | None) -> None:
        failed.append(table)
        original(self, table)

    monkeypatch.setattr(bulk.Probes, "failed", spy)
    for rows in (first, second):
        report = await imp.import_file(
            sessionmaker=db, path=_write(tmp_path, rows), fmt="jsonl", organisation_id=org, chunk_size=2
        )
        assert report.rejected == 0 and report.applied == len(rows)
    assert await _state(db, org) == await _state(db, reference)
    # One failed COPY into premises per import at most, and into accounts once, on the re-import;
    # two chunks in flight may both meet the same table before the first failure turns the check on.
    assert 1 <= failed.count("premises") <= 4 and 1 <= failed.count("accounts") <= 2
    assert set(failed) == {"premises", "accounts"}


def test_probes_turn_on_for_the_table_that_failed() -> None:
    probes = bulk.Probes()
    probes.failed("premises")
    assert (probes.accounts, probes.premises) == (False, True)
    probes = bulk.Probes()
    probes.failed("account_ledgers")
    assert (probes.accounts, probes.premises) == (True, False)
    probes = bulk.Probes()
    probes.failed(None)
    assert (probes.accounts, probes.premises) == (True, True)


@pg_only
async def test_reimport_rewrites_only_the_ledgers_it_changes(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    org = await _org(db)
    rows = [account_row(f"96{i:02d}") for i in range(3)]
    await _import(db, tmp_path, org, *rows)

    async def versions() -> dict[uuid.UUID, str]:
        async with db() as s:
            return dict((await s.execute(text("SELECT account_id, xmin::text FROM account_ledgers"))).all())

    before = await versions()
    rows[1]["ledger"][1]["paid"] = "60"  # changed
    rows[2]["ledger"] = rows[2]["ledger"][:1]  # a month as stored: nothing to write
    report = await _import(db, tmp_path, org, *rows)
    assert report.applied == 3
    after = await versions()
    assert {a for a in before if after[a] != before[a]} == {schema.account_id_for(org, "9601")}
    assert [m.paid for m in (await _ledgers(db))[schema.account_id_for(org, "9601")]] == ["0.00", "60.00"]
