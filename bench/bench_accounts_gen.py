"""Generate a deterministic accounts JSONL file for the import and search benchmarks.

    .venv/bin/python bench/bench_accounts_gen.py var/bench/accounts-1m.jsonl --accounts 1000000 --months 12

100 premises per house, spelled the many ways billing systems write them; 12 months of ledger from January
2025; one account in five owes for some months. Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.kernel.snils import snils_check_digits  # noqa: E402

PER_HOUSE = 100
HOUSE_NS = uuid.UUID("6f1c1a52-3c1e-4c55-9d0c-7d0b2a1e9b11")
SURNAMES = ["Иванов", "Петров", "Сидоров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Михайлов"]
NAMES = ["Иван", "Пётр", "Алексей", "Сергей", "Андрей", "Дмитрий", "Николай", "Михаил"]
PATRONYMICS = ["Иванович", "Петрович", "Сергеевич", "Андреевич", "Николаевич", ""]


def house_guid(n: int) -> str:
    """Return the FIAS GUID of bench house n."""
    return str(uuid.uuid5(HOUSE_NS, str(n)))


def account_number(i: int) -> str:
    """Return the account number of bench account i."""
    return f"{1_000_000_000 + i}"


def els(i: int) -> str:
    """Return the ЕЛС (10 characters) of bench account i."""
    return f"{i:08d}ЕЛ"


def flat_number(i: int) -> int:
    """Return the flat number of bench account i inside its house."""
    return i % PER_HOUSE + 1


def spelling(flat: int, rng: random.Random) -> str:
    """Write a flat number the way some billing system would."""
    return rng.choice(["кв. {n}", "{n}", "Кв.{n}", "квартира {n}", "кв {n}"]).format(n=flat)


def row(i: int, months: int, rng: random.Random) -> dict[str, object]:
    """Build the JSONL row of account i."""
    first9 = f"{100_000_000 + i * 7 % 899_999_999:09d}"
    owes = i % 5 == 0
    ledger = []
    for m in range(months):
        year, month = 2025 + m // 12, m % 12 + 1
        charged = 1500 + (i % 37) * 50
        paid = 0 if owes and m % 3 == 0 else charged
        ledger.append({"period": f"{year}-{month:02d}-01", "charged": f"{charged}.00", "paid": f"{paid}.00"})
    return {
        "account_number": account_number(i),
        "els": els(i),
        "zhku_id": f"{els(i)}001",
        "payer": {
            "kind": "person",
            "last_name": SURNAMES[i % len(SURNAMES)],
            "first_name": NAMES[i % len(NAMES)],
            "middle_name": PATRONYMICS[i % len(PATRONYMICS)] or None,
            "birth_date": f"{1950 + i % 50}-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            "snils": first9 + snils_check_digits(first9),
        },
        "premises": [
            {
                "fias_house_guid": house_guid(i // PER_HOUSE),
                "address": f"г. Бенчмарк, ул. Тестовая, д. {i // PER_HOUSE + 1}",
                "region": "77",
                "number": spelling(flat_number(i), rng),
                "share_percent": "100",
            }
        ],
        "ledger": ledger,
    }


def main() -> None:
    """Write the file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for i in range(args.accounts):
            fh.write(json.dumps(row(i, args.months, rng), ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    print(f"wrote {args.accounts} accounts to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
