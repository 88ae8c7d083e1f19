"""The operations' declarations: each once, complete, and what the engine and the parser read from them."""

from __future__ import annotations

import pytest

from app.gis_client.operations import SERVICES
from app.gis_client.services import OPERATIONS, RESULT_PARSERS, get_operation
from tests.gis_client.exchange_support import schemas


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_declaration_is_complete(name: str) -> None:
    op = OPERATIONS[name]
    assert op.name == name and op.soap_action == f"urn:{name}"
    assert op.build is not None and op.parse is not None
    assert op.request_type is not None and op.result_type is not None
    assert op.kind == ("import" if name.startswith("import") else "export")
    assert op.body.startswith("{" + SERVICES[op.service].namespace + "}")
    assert op.result is not None and RESULT_PARSERS[op.result] is op


def test_declared_fixed_versions_are_the_xsds() -> None:
    fixed = schemas().fixed_versions
    for op in OPERATIONS.values():
        if op.version_fixed:
            assert fixed[op.body] == op.version
        else:
            assert op.body not in fixed
    state = {SERVICES[s].state_result: v for s in SERVICES if (v := fixed.get(SERVICES[s].state_result))}
    assert set(state.values()) == {"11.0.0.1", "10.0.1.2", "10.0.1.1"}  # hm, nsi-common, bills


def test_unknown_operation_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown GIS operation"):
        get_operation("importEverything")
