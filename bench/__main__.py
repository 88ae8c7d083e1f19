"""`make bench`: the quick benchmarks, in order, with their own output (each script is also runnable alone).

The heavy runs (1,000,000 accounts on PostgreSQL, 100,000 debtors, 10,000 subrequests) take minutes each and
are listed with their exact commands in docs/benchmarks.md; set GISGW_BENCH_FULL=1 to include the
10,000-subrequest cycle and the 100,000-debtor readiness run here.

Every benchmark ends with its ratio line(s) against its floor (`bench/floor.py`); they are repeated in a
summary at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK: list[list[str]] = [
    ["bench/bench_gis_messages.py", "--runs", "30"],
    ["bench/bench_crypto.py", "--runs", "20"],
    ["bench/bench_envelope.py"],
    ["bench/bench_exchange.py", "50", "3"],
    ["bench/bench_stand.py", "--accounts", "20000", "--subrequests", "1000"],
    ["bench/bench_court.py", "--accounts", "10000", "--months", "36"],
    ["bench/bench_debt_requests.py", "--n", "1000"],
    ["bench/bench_writeoff.py", "--accounts", "10000", "--months", "36"],
]
FULL: list[list[str]] = [
    ["bench/bench_debt_requests.py", "--n", "10000"],
    ["bench/bench_court.py", "--accounts", "100000", "--months", "36"],
]


RATIO_LINE = re.compile(r"^.+: gisgw .+, floor .+, ratio \S+$")


def run_one(args: list[str]) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output; return its exit code and its ratio lines."""
    ratios: list[str] = []
    with subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if RATIO_LINE.match(line.rstrip("\n")):
                ratios.append(line.rstrip("\n"))
    return proc.returncode, ratios


def main() -> int:
    """Run the benchmarks one after another; stop at the first that fails; summarise the ratio lines."""
    runs = QUICK + (FULL if os.environ.get("GISGW_BENCH_FULL") else [])
    summary: list[str] = []
    code = 0
    for args in runs:
        print(f"\n===== python {' '.join(args)}", flush=True)
        code, ratios = run_one(args)
        summary += ratios
        if code != 0:
            break
    print("\n===== ratios to the floor (gisgw / floor; for rates higher is better)")
    for line in summary:
        print(line)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
