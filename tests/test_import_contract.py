"""The import contract (`[tool.importlinter]` in pyproject.toml) holds, and catches a forbidden import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the `app` package under `root` with the repository's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(  # noqa: S603 - our own tool with fixed arguments
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_contract_holds_on_the_tree() -> None:
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "body", "expected"),
    [
        ("app/gis_client/probe.py", "import app.api.health\n", "app.gis_client.probe -> app.api.health"),
        (
            "app/gis_stand/probe.py",
            "import app.domain.accounts.ledger\n",
            "app.gis_stand.probe -> app.domain.accounts.ledger",
        ),
        (
            "app/db/probe.py",
            "import app.gis_client.wire.transport\n",
            "app.db.probe -> app.gis_client.wire.transport",
        ),
        (
            "app/domain/probe.py",
            "import app.gis_client.wire.transport\n",
            "app.domain.probe -> app.gis_client.wire.transport",
        ),
        ("app/domain/probe.py", "import app.api.health\n", "app.domain.probe -> app.api.health"),
    ],
)
def test_contract_catches_a_forbidden_import(tmp_path: Path, module: str, body: str, expected: str) -> None:
    shutil.copytree(REPO_ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(f'"""A forbidden import."""\n\n{body}', encoding="utf-8")

    result = _lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stdout, result.stdout
