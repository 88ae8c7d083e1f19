"""The committed OpenAPI spec is the one the app generates."""

from __future__ import annotations

import json

from app.cli import render_openapi
from app.settings import REPO_ROOT


def test_committed_openapi_matches_app() -> None:
    committed = (REPO_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_every_operation_has_stable_id_and_description() -> None:
    spec = json.loads(render_openapi())
    ids = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op.get("operationId"), f"{method} {path} has no operationId"
            assert op.get("description") or op.get("summary"), f"{method} {path} has no docstring"
            ids.append(op["operationId"])
    assert len(ids) == len(set(ids))
