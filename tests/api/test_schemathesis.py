"""Property-based API testing: schemathesis drives every operation of the committed spec; no 5xx allowed."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error

from app.db.engine import create_engine, create_sessionmaker
from app.main import create_app
from app.settings import REPO_ROOT
from tests.conftest import make_settings, new_database
from tests.factories import make_org, make_token
from tests.live import serve_in_thread

schema = schemathesis.openapi.from_path(REPO_ROOT / "openapi" / "openapi.json")

#: Examples per operation (and stateful runs), steps per stateful run: small for `make test`; the long run
#: documented in docs/benchmarks.md ("## Stateful schemathesis, long run") sets them by environment.
EXAMPLES = int(os.environ.get("GISGW_SCHEMATHESIS_EXAMPLES", "15"))
STEPS = int(os.environ.get("GISGW_SCHEMATHESIS_STEPS", "6"))
#: A seed instead of the derandomized default: the long run is several runs with different seeds, each on a
#: fresh server, because one long stateful run meets the server's state left by its own earlier examples and
#: Hypothesis stops with FlakyStrategyDefinition (a bundle empty on replay) instead of finding anything.
SEED = os.environ.get("GISGW_SCHEMATHESIS_SEED")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A gateway on a real port with its own database, an organisation and an all-scopes key."""
    tmp: Path = tmp_path_factory.mktemp("schemathesis")

    async def prepare() -> tuple[str, str]:
        url = await new_database(tmp)
        engine = create_engine(url)
        async with create_sessionmaker(engine)() as session:
            await make_org(session)
            token = await make_token(session, all_orgs=True)
            await session.commit()
        await engine.dispose()
        return url, token

    url, token = asyncio.run(prepare())
    # No write rate and no queue caps: a refusal that depends on earlier examples (429) makes Hypothesis's
    # replays differ (FlakyStrategyDefinition in the long run); tests/domain/test_write_rate.py and
    # tests/api/test_hostile_input.py cover both.
    caps_off = {"operations_max_pending_per_key": 0, "operations_max_pending_per_organisation": 0}
    unlimited = make_settings(url, write_rate_per_minute=0, **caps_off)
    with serve_in_thread(create_app(unlimited)) as base_url:
        yield base_url, token


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.too_slow,
    ],
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, live: tuple[str, str]) -> None:
    base_url, token = live
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error],
        timeout=30,
    )


def test_stateful_no_server_errors(live: tuple[str, str]) -> None:
    """Sequences of linked calls (create an organisation, then read, change, fetch for it, …): no 5xx."""
    base_url, token = live
    machine = schema.as_state_machine()
    # Hypothesis instantiates the class itself; the live server's URL and key reach it as class attributes.

    statuses: Counter[int] = Counter()

    class Workflow(machine):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:  # noqa: ARG002
            return {"base_url": base_url, "headers": {"Authorization": f"Bearer {token}"}, "timeout": 30}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: object) -> None:  # noqa: ARG002
            statuses[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])

    if SEED is not None:
        Workflow = seed(int(SEED))(Workflow)  # noqa: N806 - the class, seeded
    Workflow.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=SEED is None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The long run's figures (docs/benchmarks.md), shown with `-s`.
    print(f"stateful: {sum(statuses.values())} calls, statuses {dict(sorted(statuses.items()))}")  # noqa: T201
