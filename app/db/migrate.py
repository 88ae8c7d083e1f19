"""Run Alembic migrations from code (`gisgw db upgrade`, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.settings import REPO_ROOT


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config for the repository's migrations and the given database."""
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the database to `revision`."""
    command.downgrade(alembic_config(database_url), revision)
