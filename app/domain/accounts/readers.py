"""Readers of the accounts import: JSON Lines and CSV files as parsed rows, streamed (see accounts.rows)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.domain.accounts.rows import AccountIn, ImportFormat, ParsedRow, row_problems
from app.domain.kernel import errors as d


def read_jsonl(lines: Iterable[bytes], start: int = 1) -> Iterator[ParsedRow]:
    """Yield (line number, account or None, problems, account number) for each non-blank JSONL line."""
    for lineno, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        try:
            yield lineno, AccountIn.model_validate_json(line), [], None
        except ValidationError as exc:
            yield lineno, None, row_problems(exc), peek_number(line)


def peek_number(line: bytes) -> str | None:
    """Return the account number of a JSONL line that failed validation, when it can be read."""
    # Name the account in the report when the line is JSON at all; the number is not personal data.
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # nested past the parser's depth: the line is rejected, not the file
        return None
    number = value.get("account_number") if isinstance(value, dict) else None
    return str(number)[:30] if number is not None else None


#: CSV columns: one line per account-month; account columns repeat on each line of the account.
CSV_ACCOUNT_COLUMNS = (
    "account_number",
    "els",
    "zhku_id",
    "gis_account_guid",
    "opened_on",
    "closed_on",
    "dispute",
    "bankruptcy",
    "consumer_category",
    "phone",
    "email",
)
CSV_PAYER_COLUMNS = (
    "payer_kind",
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "birth_place",
    "snils",
    "doc_type",
    "doc_series",
    "doc_number",
    "inn",
    "org_name",
    "org_ogrn",
)
CSV_PREMISES_COLUMNS = (
    "fias_house_guid",
    "hm_object_guid",
    "address",
    "region",
    "premises",
    "premises_kind",
    "cadastral_number",
    "gis_premises_guid",
    "share_percent",
)
CSV_LEDGER_COLUMNS = ("period", "charged", "paid", "due_date")
CSV_COLUMNS = CSV_ACCOUNT_COLUMNS + CSV_PAYER_COLUMNS + CSV_PREMISES_COLUMNS + CSV_LEDGER_COLUMNS
_CSV_BOOL = {"": False, "0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}


def _blank_to_none(row: dict[str, str | None], names: Iterable[str]) -> dict[str, Any]:
    return {n: (v if v not in (None, "") else None) for n in names if (v := row.get(n)) not in (None, "")}


def _csv_group_to_dict(lines: list[dict[str, str | None]]) -> dict[str, Any]:
    first = lines[0]
    data: dict[str, Any] = _blank_to_none(first, CSV_ACCOUNT_COLUMNS[:6])
    for flag in ("dispute", "bankruptcy"):
        raw = (first.get(flag) or "").strip().lower()
        data[flag] = _CSV_BOOL.get(raw, raw)
    if category := (first.get("consumer_category") or "").strip():
        data["consumer_category"] = category
    for contact in ("phone", "email"):
        if value := (first.get(contact) or "").strip():
            data[contact] = value
    payer = _blank_to_none(first, CSV_PAYER_COLUMNS)
    payer_data: dict[str, Any] = {"kind": payer.pop("payer_kind", None)}
    if "doc_number" in payer or "doc_type" in payer:
        payer_data["document"] = {
            "type": payer.pop("doc_type", None),
            "series": payer.pop("doc_series", None),
            "number": payer.pop("doc_number", None),
        }
    for src, dst in (("org_name", "name"), ("org_ogrn", "ogrn")):
        if src in payer:
            payer_data[dst] = payer.pop(src)
    payer_data.update({k: v for k, v in payer.items() if not k.startswith("doc_")})
    data["payer"] = payer_data
    premises: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    ledger: list[dict[str, Any]] = []
    for line in lines:
        p = _blank_to_none(line, CSV_PREMISES_COLUMNS)
        key = (p.get("fias_house_guid"), p.get("premises"))
        if key != (None, None) and key not in premises:
            if "premises" in p:
                p["number"] = p.pop("premises")
            if "premises_kind" in p:
                p["kind"] = p.pop("premises_kind")
            premises[key] = p
        month = _blank_to_none(line, CSV_LEDGER_COLUMNS)
        if month:
            ledger.append(month)
    data["premises"] = list(premises.values())
    data["ledger"] = ledger
    return data


def read_csv(text_lines: Iterable[str]) -> Iterator[ParsedRow]:
    """Yield one parsed account per run of consecutive CSV lines with the same account number.

    The row number reported is the file line of the account's first data line (the header is line 1).
    """
    reader = csv.DictReader(text_lines)
    missing = [
        c
        for c in ("account_number", "payer_kind", "fias_house_guid", "premises")
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise d.RuleViolation(
            # Named in the message too: an import operation reports only the message.
            f"The CSV header lacks required columns: {', '.join(missing)}.",
            errors=[d.FieldProblem(f"header.{c}", "missing", f"column {c} is required") for c in missing],
        )
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if unknown:
        raise d.RuleViolation(
            f"The CSV header has unknown columns: {', '.join(unknown)} (known: {', '.join(CSV_COLUMNS)}).",
            errors=[d.FieldProblem(f"header.{c}", "unknown", f"unknown column {c}") for c in unknown],
        )
    group: list[dict[str, str | None]] = []
    group_line = 0
    for row in reader:
        line_no = reader.line_num
        number = (row.get("account_number") or "").strip()
        if group and number != (group[0].get("account_number") or "").strip():
            yield _parse_csv_group(group_line, group)
            group = []
        if not group:
            group_line = line_no
        group.append(row)
    if group:
        yield _parse_csv_group(group_line, group)


def _parse_csv_group(line_no: int, lines: list[dict[str, str | None]]) -> ParsedRow:
    number = (lines[0].get("account_number") or "").strip() or None
    try:
        return line_no, AccountIn.model_validate(_csv_group_to_dict(lines)), [], number
    except ValidationError as exc:
        return line_no, None, row_problems(exc), number


def iter_rows(path: Path, fmt: ImportFormat) -> Iterator[ParsedRow]:
    """Stream parsed rows from an uploaded file (never loads the file whole)."""
    if fmt == "jsonl":
        with path.open("rb") as fh:
            yield from read_jsonl(fh)
    else:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            yield from read_csv(fh)


def sniff_format(filename: str | None, content_type: str | None) -> ImportFormat:
    """Tell JSONL from CSV by the file name or the content type."""
    name = (filename or "").lower()
    if name.endswith(".csv") or (content_type or "").startswith("text/csv"):
        return "csv"
    return "jsonl"


def read_text_rows(data: bytes, fmt: ImportFormat) -> Iterator[ParsedRow]:
    """Parse an in-memory upload (tests, small files)."""
    if fmt == "jsonl":
        return read_jsonl(io.BytesIO(data))
    return read_csv(io.StringIO(data.decode("utf-8-sig"), newline=""))
