"""Bulk import of accounts: validation per row, idempotent upsert, JSONL and CSV, the sample files."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.domain.accounts import importing as imp
from app.domain.accounts import readers
from app.domain.accounts import rows as schema
from app.domain.accounts.ledger import LedgerRecord, decode_months
from app.domain.kernel import errors as d
from app.domain.kernel.snils import random_valid_snils
from app.settings import REPO_ROOT
from tests.factories import make_org

HOUSE = "0c5b2444-70a0-4932-980c-b4dc0d3f02b5"


def account_row(number: str, **overrides: Any) -> dict[str, Any]:
    """A valid JSONL row."""
    row: dict[str, Any] = {
        "account_number": number,
        "els": "00АА" + number.rjust(6, "0")[-6:],
        "payer": {"kind": "person", "last_name": "Иванов", "first_name": "Иван", "birth_date": "1980-03-15"},
        "premises": [{"fias_house_guid": HOUSE, "number": f"кв. {number[-2:]}", "share_percent": "100"}],
        "ledger": [
            {"period": "2025-01-01", "charged": "100.00", "paid": "0"},
            {"period": "2025-02-01", "charged": "100.00", "paid": "50.00"},
        ],
    }
    row.update(overrides)
    return row


def jsonl(*rows: dict[str, Any] | str) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows).encode()


async def _org(sm: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with sm() as s, s.begin():
        return (await make_org(s)).id


async def _count(sm: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def _ledgers(sm: async_sessionmaker[AsyncSession]) -> dict[uuid.UUID, list[LedgerRecord]]:
    """Every stored ledger, decoded, by account."""
    async with sm() as s:
        rows = (await s.execute(select(AccountLedger.account_id, AccountLedger.months))).all()
    return {account_id: decode_months(months) for account_id, months in rows}


async def _months(sm: async_sessionmaker[AsyncSession]) -> int:
    """How many ledger months are stored."""
    return sum(len(months) for months in (await _ledgers(sm)).values())


async def _run(
    sm: async_sessionmaker[AsyncSession], org: uuid.UUID, data: bytes, fmt: str = "jsonl", **kw: Any
):
    return await imp.import_rows(
        sessionmaker=sm,
        rows=readers.read_text_rows(data, fmt),
        organisation_id=org,
        **kw,  # type: ignore[arg-type]
    )


async def test_import_valid_rows_creates_everything(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    report = await _run(db, org, jsonl(account_row("1001"), account_row("1002")))
    assert (report.rows, report.applied, report.rejected, report.ledger_months) == (2, 2, 0, 4)
    assert await _count(db, Account) == 2
    assert await _count(db, House) == 1
    assert await _count(db, Premises) == 2
    assert await _count(db, AccountPremises) == 2
    assert await _months(db) == 4
    async with db() as s:
        acc = await s.get(Account, schema.account_id_for(org, "1001"))
        assert acc is not None and acc.payer_name_key == "иванов иван"
    # Due date defaults to the statutory 10th of the next month (ЖК РФ ст. 155 ч. 1); amounts are stored
    # with two decimals.
    assert (await _ledgers(db))[acc.id] == [
        LedgerRecord(date(2025, 1, 1), "100.00", "0.00", date(2025, 2, 10)),
        LedgerRecord(date(2025, 2, 1), "100.00", "50.00", date(2025, 3, 10)),
    ]


async def test_import_twice_is_idempotent_and_updates(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    await _run(db, org, jsonl(account_row("1001"), account_row("1002")))
    changed = account_row("1001", ledger=[{"period": "2025-01-01", "charged": "100.00", "paid": "100.00"}])
    report = await _run(db, org, jsonl(changed, account_row("1002")))
    assert report.applied == 2
    assert await _count(db, Account) == 2
    # Months absent from a re-import are kept: billing may send only recent months.
    assert await _months(db) == 4
    assert (await _ledgers(db))[schema.account_id_for(org, "1001")] == [
        LedgerRecord(date(2025, 1, 1), "100.00", "100.00", date(2025, 2, 10)),
        LedgerRecord(date(2025, 2, 1), "100.00", "50.00", date(2025, 3, 10)),
    ]


async def test_import_malformed_rows_are_reported_not_fatal(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    bad_snils = account_row("1003")
    bad_snils["payer"]["snils"] = "112-233-445 96"
    rows = jsonl(
        account_row("1001"),
        "{not json",
        account_row("1002", ledger=[{"period": "2025-01-15", "charged": "1", "paid": "0"}]),
        bad_snils,
        account_row("1004", premises=[]),
        account_row("1005", els="short"),
        account_row("1006"),
    )
    report = await _run(db, org, rows)
    assert (report.rows, report.applied, report.rejected) == (7, 2, 5)
    by_row = {r["row"]: r for r in report.rejected_rows}
    assert by_row[2]["errors"][0]["rule"] == "json_invalid"
    assert by_row[3]["errors"][0] == {
        "field": "ledger.0.period",
        "rule": "first_of_month",
        "message": "period must be the first day of a month",
    }
    assert by_row[4]["errors"][0]["field"] == "payer.snils"
    assert "112" not in json.dumps(report.as_dict())  # the SNILS never reaches the report
    assert by_row[5]["errors"][0]["field"] == "premises"
    assert by_row[6]["errors"][0]["field"] == "els"
    assert by_row[6]["account_number"] == "1005"
    # Nothing of a rejected row was applied.
    assert await _count(db, Account) == 2
    assert await _months(db) == 4


async def test_import_rejects_only_a_deeply_nested_line(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    deep = '{"account_number": ' + "[" * 100_000 + "]" * 100_000 + "}"
    report = await _run(db, org, jsonl(account_row("1001"), deep, account_row("1002")))
    assert (report.rows, report.applied, report.rejected) == (3, 2, 1)
    assert report.rejected_rows[0]["row"] == 2


async def test_import_duplicate_in_file_last_wins(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    second = account_row("1001", ledger=[{"period": "2025-03-01", "charged": "7.00", "paid": "0"}])
    report = await _run(db, org, jsonl(account_row("1001"), second), chunk_size=10)
    assert report.superseded == 1 and report.applied == 1
    assert await _months(db) == 1


async def test_import_in_small_chunks_reports_progress(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    seen: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None) -> None:
        seen.append((done, total))

    rows = jsonl(*(account_row(f"{2000 + i}") for i in range(7)))
    report = await _run(db, org, rows, chunk_size=3, progress=progress)
    assert report.applied == 7
    assert seen[-1] == (7, 7) and len(seen) >= 3


async def test_import_sample_files(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    for name, fmt in (("accounts.jsonl", "jsonl"), ("accounts.csv", "csv")):
        report = await imp.import_file(
            sessionmaker=db,
            path=REPO_ROOT / "samples" / name,
            fmt=fmt,
            organisation_id=org,  # type: ignore[arg-type]
        )
        assert report.rejected == 0, report.rejected_rows
        assert report.applied == 4
    async with db() as s:
        nonres = await s.scalar(select(Premises).where(Premises.kind == "non_residential"))
        assert nonres is not None and nonres.number_norm == "3Н" and not nonres.residential
    assert await _count(db, Account) == 4  # the CSV sample holds the same accounts


async def test_import_csv_groups_lines_by_account(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    snils = random_valid_snils(__import__("random").Random(1))
    header = ",".join(readers.CSV_COLUMNS)
    base = dict.fromkeys(readers.CSV_COLUMNS, "")

    def line(**kw: str) -> str:
        return ",".join({**base, **kw}[c] for c in readers.CSV_COLUMNS)

    acc = {
        "account_number": "77",
        "payer_kind": "person",
        "last_name": "Ёлкина",
        "first_name": "Анна",
        "birth_date": "1970-01-01",
        "snils": snils,
        "fias_house_guid": HOUSE,
        "premises": "12а",
    }
    text = "\n".join(
        [
            header,
            line(**acc, period="2025-01-01", charged="10.00", paid="0"),
            line(**acc, period="2025-02-01", charged="10.00", paid="0"),
            line(
                account_number="78",
                payer_kind="person",
                fias_house_guid=HOUSE,
                premises="1",
                period="2025-01-01",
            ),
        ]
    )
    report = await _run(db, org, text.encode(), "csv")
    assert report.applied == 1 and report.ledger_months == 2
    assert report.rejected_rows[0]["row"] == 4
    fields = {e["field"] for e in report.rejected_rows[0]["errors"]}
    assert "payer" in fields and "ledger.0.charged" in fields


async def test_import_csv_with_unknown_column_is_refused(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    with pytest.raises(d.RuleViolation):
        await _run(db, org, b"account_number,payer_kind,fias_house_guid,premises,colour\n", "csv")


def test_store_upload_refuses_oversized_file(tmp_path: Path) -> None:
    import io

    with pytest.raises(d.RuleViolation):
        imp.store_upload(io.BytesIO(b"x" * 100), tmp_path, "jsonl", max_bytes=10)
    assert list(tmp_path.iterdir()) == []


def test_ids_are_deterministic() -> None:
    org = uuid.UUID(int=1)
    assert (
        schema.account_id_for(org, "1") == schema.account_id_for(org, "1") != schema.account_id_for(org, "2")
    )
    house = schema.house_id_for(uuid.UUID(HOUSE))
    assert schema.premises_id_for(
        house, schema.premises_norm("кв. 12а", "apartment")
    ) == schema.premises_id_for(house, schema.premises_norm("12-A", "apartment"))


async def test_import_consumer_category_defaults_to_unknown(db: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(db)
    report = await _run(
        db,
        org,
        jsonl(
            account_row("1001", consumer_category="social_tenant"),
            account_row("1002"),
            account_row("1003", consumer_category="tenant"),
        ),
    )
    assert (report.applied, report.rejected) == (2, 1)
    assert report.rejected_rows[0]["errors"][0]["field"] == "consumer_category"
    header = ",".join(readers.CSV_COLUMNS)
    base = dict.fromkeys(readers.CSV_COLUMNS, "")
    values = {
        **base,
        "account_number": "2001",
        "payer_kind": "organisation",
        "org_name": "ООО «Ромашка»",
        "consumer_category": "legal_entity",
        "fias_house_guid": HOUSE,
        "premises": "1",
    }
    await _run(db, org, (header + "\n" + ",".join(values[c] for c in readers.CSV_COLUMNS)).encode(), "csv")
    async with db() as s:
        got = dict((await s.execute(select(Account.account_number, Account.consumer_category))).all())
    assert got == {"1001": "social_tenant", "1002": "unknown", "2001": "legal_entity"}


def test_csv_with_unknown_columns_names_them() -> None:
    import io

    import pytest

    from app.domain.accounts import readers
    from app.domain.kernel import errors as d

    header = "account_number,payer_kind,fias_house_guid,premises,colour,weight\n"
    with pytest.raises(d.RuleViolation) as err:
        list(readers.read_csv(io.StringIO(header)))
    assert "colour, weight" in str(err.value)
    assert [e.path for e in err.value.errors] == ["header.colour", "header.weight"]


async def test_import_contacts_are_normalised_or_refused_without_echoing_them(
    db: async_sessionmaker[AsyncSession],
) -> None:
    org = await _org(db)
    rows = [
        account_row("2001", phone="8 (912) 345-67-89", email="  petrov@example.ru "),
        account_row("2002", phone="+79123456780", email=""),
        account_row("2003", phone="+1 555 123 4567"),  # not a Russian number
        account_row("2004", email="nobody"),
        account_row("2005"),
    ]
    report = await _run(db, org, jsonl(*rows))
    assert (report.applied, report.rejected) == (3, 2)
    problems = [
        (r["account_number"], e["field"], e["rule"]) for r in report.rejected_rows for e in r["errors"]
    ]
    assert problems == [("2003", "phone", "value_error"), ("2004", "email", "value_error")]
    assert "555" not in str(report.as_dict()) and "nobody" not in str(report.as_dict())
    async with db() as s:
        got = (
            await s.execute(
                select(Account.account_number, Account.phone, Account.email)
                .where(Account.organisation_id == org)
                .order_by(Account.account_number)
            )
        ).all()
    assert [tuple(r) for r in got] == [
        ("2001", "+79123456789", "petrov@example.ru"),
        ("2002", "+79123456780", None),
        ("2005", None, None),
    ]
    # The CSV import takes them as columns.
    header = ",".join(readers.CSV_COLUMNS)
    base = dict.fromkeys(readers.CSV_COLUMNS, "")
    values = {
        "account_number": "2006", "payer_kind": "person", "last_name": "Петров", "first_name": "Пётр",
        "fias_house_guid": HOUSE, "premises": "6", "phone": "89001112233", "email": "p@example.ru",
    }  # fmt: skip
    csv_text = header + "\n" + ",".join({**base, **values}[c] for c in readers.CSV_COLUMNS)
    assert (await _run(db, org, csv_text.encode(), "csv")).applied == 1
    async with db() as s:
        acc = await s.get(Account, schema.account_id_for(org, "2006"))
        assert acc is not None and (acc.phone, acc.email) == ("+79001112233", "p@example.ru")
