"""The msgspec fast path of the JSONL encoder against its specification, the pydantic row models.

Whenever the fast path accepts a line, the models must accept it too and encode the very same COPY text;
whatever the fast path declines goes through the models, so the report (row, field, reason) is theirs.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.domain.accounts import import_fast as fast
from app.domain.accounts import rows as schema
from app.domain.kernel.snils import is_valid_snils, random_valid_snils
from tests.domain.test_accounts_import import account_row, jsonl

ORG = uuid.UUID("0b6f7c1e-3a52-4c1e-9d0e-7f1f2f0c9a11")

# --- strategies: values the models accept, and the near misses around them ---------------------------------
# Every field is mostly drawn valid and canonical, now and then a near miss (padded, other spellings, JSON
# types, out of range), so that rows are accepted often and rejected or declined in every way.


def _or_miss(valid: st.SearchStrategy[Any], *misses: Any) -> st.SearchStrategy[Any]:
    """Mostly `valid`; one draw in twenty from the near misses (values or strategies)."""
    miss = st.one_of(*(m if isinstance(m, st.SearchStrategy) else st.just(m) for m in misses))
    # sampled_from, not integers: hypothesis favours the bounds of integer ranges.
    return st.sampled_from(range(20)).flatmap(lambda n: miss if n == 19 else valid)


def _padded(s: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(s.map(lambda v: f" {v}"), s.map(lambda v: f"{v}\u00a0"), s.map(lambda v: f"\t{v}\n"))


_chars = st.sampled_from("АБВЁёабвгдеЖжIvanov -.\\\t\n\r№\u00a0\x1c'\"é0123456789")
_text = st.text(alphabet=_chars, min_size=1, max_size=12).filter(lambda v: v.strip() == v)
_name = _or_miss(
    st.one_of(st.sampled_from(["Иванов", "Пётр", "ЁЛКИН", "o'Brien", "Анна-Мария", "a\\b"]), _text),
    _padded(_text),
    "",
    "x" * 101,
    st.integers(),
)
_canonical_uuid = st.uuids().map(str)
_uuid = _or_miss(
    _canonical_uuid,
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: u.hex),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    "0c5b2444-70a0-4932-980c-b4dc0d3f02b",
)
_date = _or_miss(
    st.dates().map(lambda d: d.isoformat()),
    "2025-02-30",
    "2025-1-01",
    "20250101",
    "2025-01-01T00:00:00",
    "0000-01-01",
    "",
    "١٩٩٠-01-01",
    st.integers(0, 2_000_000_000),
)
_period = _or_miss(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 1)).map(
        lambda d: d.replace(day=1).isoformat()
    ),
    _date,
)
_money = _or_miss(
    st.from_regex(r"\A-?[0-9]{1,12}(\.[0-9]{1,2})?\Z"),
    st.from_regex(r"\A-?[0-9]{13}(\.[0-9]{1,3})?\Z"),
    "1.",
    ".5",
    "1e3",
    "١٢",
    " 10.00",
    "10.00\n",
    st.integers(-100, 100),
    st.floats(allow_nan=False, allow_infinity=False),
)
_paid = _or_miss(st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{1,2})?\Z"), "-1.00", None, _money)
_share = _or_miss(
    st.one_of(
        st.sampled_from(["100", "100.00", "100.0", "0", "0.00", "33.33", "5.5"]),
        st.from_regex(r"\A[1-9][0-9]?(\.[0-9]{1,2})?\Z"),
    ),
    "100.01",
    "050",
    "1e2",
    "-1",
    "101",
    "1.234",
    st.floats(0, 100),
    st.integers(-1, 101),
)
_valid_snils = st.randoms(use_true_random=False).map(random_valid_snils)
_snils = _or_miss(
    _valid_snils,
    _valid_snils.map(lambda s: f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}"),
    st.from_regex(r"\A[0-9]{11}\Z"),
    "",
    "00100199800",
    " 00100199800",
)
_bool = _or_miss(st.booleans(), 0, 1, "true", "yes", None)


@st.composite
def _optional(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Each field absent, null (one draw in ten) or drawn."""
    out: dict[str, Any] = {}
    for key, s in fields.items():
        n = draw(st.sampled_from(range(10)))
        if n < 4:
            continue
        out[key] = None if n == 4 else draw(s)
    return out


@st.composite
def _rows(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(_or_miss(st.sampled_from(["person", "organisation"]), "other", "Person"))
    payer: dict[str, Any] = {"kind": kind}
    if kind == "person" or draw(st.sampled_from(range(10))) == 9:
        payer |= {"last_name": draw(_name), "first_name": draw(_name)}
    if kind != "person" or draw(st.sampled_from(range(10))) == 9:
        payer["name"] = draw(_name)
    payer |= draw(
        _optional(
            {
                "middle_name": _name,
                "birth_date": _date,
                "birth_place": _name,
                "snils": _snils,
                "inn": _or_miss(st.from_regex(r"\A[0-9]{10}([0-9]{2})?\Z"), "123456789", "١٢٣٤٥٦٧٨٩٠"),
                "ogrn": _or_miss(st.from_regex(r"\A[0-9]{13}([0-9]{2})?\Z"), "12345678901234"),
                "document": st.builds(
                    lambda t, n, o: {"type": t, "number": n} | o,
                    _or_miss(st.sampled_from(["21", "10"]), "", "x" * 21, " 21"),
                    _name,
                    _optional({"series": _name}),
                ),
            }
        )
    )
    premises = draw(
        st.lists(
            st.builds(
                lambda g, n, o: {"fias_house_guid": g, "number": n} | o,
                _or_miss(st.sampled_from(["0c5b2444-70a0-4932-980c-b4dc0d3f02b5"]), _uuid),
                _or_miss(st.sampled_from(["кв. 12а", "пом. 3Н", "7 комн. 2", "1", "a\\b"]), _name),
                _optional(
                    {
                        "kind": _or_miss(
                            st.sampled_from(["apartment", "non_residential", "room", "house_block"]), "flat"
                        ),
                        "share_percent": _share,
                        "hm_object_guid": _uuid,
                        "gis_premises_guid": _uuid,
                        "address": _name,
                        "region": _or_miss(st.just("77"), "7", "7a", "٧٧", "77\n", 77),
                        "cadastral_number": _name,
                    }
                ),
            ),
            min_size=draw(_or_miss(st.just(1), 0)),
            max_size=3,
        )
    )
    ledger = draw(
        st.lists(
            st.builds(
                lambda p, c, o: {"period": p, "charged": c} | o,
                _period,
                _money,
                _optional({"paid": _paid, "due_date": _date}),
            ),
            max_size=4,
        )
    )
    row: dict[str, Any] = {
        "account_number": draw(_or_miss(st.from_regex(r"\A[0-9]{1,30}\Z"), _name, "1" * 31)),
        "payer": payer,
        "premises": premises,
        "ledger": ledger,
    }
    row |= draw(
        _optional(
            {
                "els": _or_miss(st.from_regex(r"\A[0-9A-Za-zА-Яа-яЁё]{10}\Z"), "00АА00000", "００АА000001"),
                "zhku_id": _or_miss(st.from_regex(r"\A[0-9A-Za-zА-Я\-]{13}\Z"), "00АА0000001"),
                "gis_account_guid": _uuid,
                "opened_on": _date,
                "closed_on": _date,
                "closed": _bool,
                "dispute": _bool,
                "bankruptcy": _bool,
            }
        )
    )
    if draw(st.sampled_from(range(20))) == 19:
        row["unknown_field"] = 1
    return row


def _valid_row(i: int) -> dict[str, Any]:
    row = account_row(f"{1000 + i}")
    row["payer"]["snils"] = random_valid_snils(random.Random(i))
    return row


def _line(row: dict[str, Any], ascii_only: bool) -> bytes:
    return json.dumps(row, ensure_ascii=ascii_only).encode()


def _model_text(line: bytes) -> fast.TextChunk | None:
    try:
        acc = schema.AccountIn.model_validate_json(line)
    except ValidationError:
        return None
    chunk = fast.TextChunk()
    fast._encode_model_row(chunk, ORG, 1, acc)
    return chunk


def _assert_equivalent(line: bytes) -> bool:
    chunk = fast.TextChunk()
    accepted = fast.encode_line(chunk, line, str(ORG))
    if accepted:
        reference = _model_text(line)
        assert reference is not None, "the fast path accepted a line the models reject"
        for table in ("houses", "premises", "accounts", "links", "ledger", "months"):
            assert getattr(chunk, table) == getattr(reference, table), table
    else:  # declining never changes the chunk
        assert not (chunk.accounts or chunk.houses or chunk.premises)
    return accepted


# --- properties -------------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=_rows(), ascii_only=st.booleans())
def test_fast_path_accepts_only_what_the_models_accept_and_encodes_it_alike(
    row: dict[str, Any], ascii_only: bool
) -> None:
    _assert_equivalent(_line(row, ascii_only))


@settings(max_examples=300, deadline=None)
@given(
    i=st.integers(0, 50),
    pos=st.integers(0, 10_000),
    insert=st.sampled_from(
        [b" ", b"\t", b"\\", b'"', b",", b"}", b"\\u0000", b"\\ud800", b"\xff", b"0", b"-"]
    ),
    cut=st.integers(0, 3),
)
def test_fast_path_equivalent_on_byte_mutations(i: int, pos: int, insert: bytes, cut: int) -> None:
    line = _line(_valid_row(i), ascii_only=i % 2 == 0)
    pos %= len(line)
    _assert_equivalent(line[:pos] + insert + line[pos + cut :])


def test_fast_path_takes_the_usual_rows() -> None:
    row = _valid_row(1)
    row["payer"]["birth_place"] = "г. Москва\\Тверь\tдом"  # escaped in COPY text
    row["premises"].append(
        {"fias_house_guid": str(uuid.uuid4()), "number": "пом. 3", "kind": "non_residential", "region": "77"}
    )
    row["ledger"][0]["due_date"] = "2025-02-20"
    row["closed_on"] = "2025-12-31"
    for ascii_only in (False, True):
        assert _assert_equivalent(_line(row, ascii_only))


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["payer"].update(last_name=" Иванов"),  # the models strip it
        lambda r: r["premises"][0].update(fias_house_guid=r["premises"][0]["fias_house_guid"].upper()),
        lambda r: r["premises"][0].update(share_percent=100),  # a JSON number
        lambda r: r["ledger"][0].update(paid=None),  # not nullable: the models reject it
        lambda r: r.update(closed=1),
    ],
)
def test_fast_path_declines_what_it_cannot_vouch_for_and_the_models_decide(change: Any) -> None:
    row = _valid_row(2)
    change(row)
    line = _line(row, ascii_only=False)
    assert not fast.encode_line(fast.TextChunk(), line, str(ORG))
    enc = fast.encode_jsonl_chunk([line], 1, ORG)  # the models take it (or reject it with their reasons)
    assert enc.accounts + len(enc.rejected) == 1


def test_encoded_chunk_is_the_same_with_and_without_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[Any] = [_valid_row(i) for i in range(30)]
    rows[3]["ledger"][1]["period"] = "2025-02-15"  # rejected: first_of_month
    rows[4]["payer"]["snils"] = "12345678901"  # rejected: checksum
    rows[5]["payer"]["last_name"] = "  Петров "  # valid, stripped by the models
    rows[6] = dict(rows[1], els="00ББ000001")  # supersedes row 1
    rows.insert(7, "{broken")
    rows.insert(8, "")
    lines = jsonl(*rows).split(b"\n")
    fast_enc = fast.encode_jsonl_chunk(lines, 10, ORG)
    monkeypatch.setattr(fast, "FAST_ENCODER", False)
    model_enc = fast.encode_jsonl_chunk(lines, 10, ORG)
    assert fast_enc == model_enc
    assert (fast_enc.seen, fast_enc.accounts, fast_enc.superseded) == (31, 27, 1)
    assert [(r[0], [(p.field, p.rule) for p in r[1]], r[2]) for r in fast_enc.rejected] == [
        (13, [("ledger.1.period", "first_of_month")], "1003"),
        (14, [("payer.snils", "value_error")], "1004"),
        (17, [("row", "json_invalid")], None),
    ]


@given(st.text())
def test_uuid5_text_is_uuid5(name: str) -> None:
    assert fast.uuid5_text(name) == str(uuid.uuid5(schema.ID_NAMESPACE, name))


@given(st.from_regex(r"\A[0-9]{11}\Z") | _valid_snils)
def test_plain_snils_check_is_is_valid_snils(value: str) -> None:
    assert fast._plain_snils(value) == is_valid_snils(value)
