"""Property-based API testing: schemathesis drives every operation of the committed spec; no 5xx allowed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from app.db.engine import create_engine, create_sessionmaker
from app.main import create_app
from app.settings import REPO_ROOT
from tests.conftest import make_settings, new_database
from tests.factories import make_org, make_token
from tests.live import serve_in_thread

schema = schemathesis.openapi.from_path(REPO_ROOT / "openapi" / "openapi.json")


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
    with serve_in_thread(create_app(make_settings(url))) as base_url:
        yield base_url, token


@schema.parametrize()
@settings(
    max_examples=15,
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
