"""Break-it suite at a small size (issue #19): two gateway replicas on one PostgreSQL, the stand injecting
EXP001000, HTTP 503 and dropped connections, one replica killed with SIGKILL mid-send, PostgreSQL stopped
and started; every answer reaches GIS exactly once and no request to the survivor is a 500.

The scenario is `tests/chaos/scenario.py` (also run large by `bench/bench_chaos.py`). Most of its minute is
the exchange lease of the killed replica (connect + read timeout + 30 s): rows it held are taken over only
when the lease runs out. Figures: docs/benchmarks.md "## Chaos".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.chaos.scenario import calm_from_env, two_replicas_answer_each_once
from tests.harness import GatewayProcess, KeyFiles, StandHandle

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

#: Answers sent; the long run sets GISGW_CHAOS_N (docs/benchmarks.md "## Chaos").
N = int(os.environ.get("GISGW_CHAOS_N", "40"))
PG_CTL = os.environ.get("GISGW_TEST_PG_CTL")


@pytest.mark.skipif(PG_CTL is None, reason="needs the throwaway PostgreSQL of scripts/with-postgres.sh")
async def test_two_replicas_kill_and_database_outage_answer_each_request_once(
    fresh_database_url: str,
    stand: StandHandle,
    e2e_keys: KeyFiles,
    gateway_process: Callable[[dict[str, Any]], GatewayProcess],
) -> None:
    assert fresh_database_url.startswith("postgresql"), "run with GISGW_TEST_DB=postgresql"
    run = await two_replicas_answer_each_once(
        database_url=fresh_database_url,
        stand=stand,
        keys=e2e_keys,
        start_gateway=gateway_process,
        n=N,
        pg_ctl=PG_CTL,
        calm=calm_from_env(),
    )
    assert run.stats["send_count_histogram"] == {"1": N}, run.stats
    assert 500 not in run.statuses, "a request to the surviving replica answered 500"
    print(  # noqa: T201 - the suite's figures, for docs/benchmarks.md
        f"chaos: {N} answers once; faults {dict(run.faults)}; retries {dict(run.retries)}; "
        f"marks {run.marks}; peak RSS {run.peak_rss_mb} MB; {run.seconds:.1f} s"
    )
