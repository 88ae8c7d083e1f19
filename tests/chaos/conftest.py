"""The chaos tests reuse the end-to-end fixtures (stand, gateway processes, keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import e2e_keys, gateway_process, stand  # noqa: F401


@pytest.fixture
def stand_database_url(tmp_path: Path) -> str:
    """The stand on SQLite: GIS does not go down with the gateway's PostgreSQL, which the tests stop."""
    return f"sqlite+aiosqlite:///{tmp_path / 'stand.db'}"
