"""`make bench`: the quick benchmarks, in order, with their own output (each script is also runnable alone).

The heavy runs (1,000,000 accounts on PostgreSQL, 100,000 debtors, 10,000 subrequests) take minutes each and
are listed with their exact commands in docs/benchmarks.md; set GISGW_BENCH_FULL=1 to include the
10,000-subrequest cycle and the 100,000-debtor readiness run here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK: list[list[str]] = [
    ["bench/bench_gis_messages.py", "--runs", "30"],
    ["bench/bench_crypto.py", "--runs", "20"],
    ["bench/bench_envelope.py"],
    ["bench/bench_stand.py", "--accounts", "20000", "--subrequests", "1000"],
    ["bench/bench_court.py", "--accounts", "10000", "--months", "36"],
    ["bench/bench_debt_requests.py", "--n", "1000"],
    ["bench/bench_writeoff.py", "--accounts", "10000", "--months", "36"],
]
FULL: list[list[str]] = [
    ["bench/bench_debt_requests.py", "--n", "10000"],
    ["bench/bench_court.py", "--accounts", "100000", "--months", "36"],
]


def main() -> int:
    """Run the benchmarks one after another; stop at the first that fails."""
    runs = QUICK + (FULL if os.environ.get("GISGW_BENCH_FULL") else [])
    for args in runs:
        print(f"\n===== python {' '.join(args)}", flush=True)
        result = subprocess.run([sys.executable, *args], cwd=ROOT, check=False)
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
