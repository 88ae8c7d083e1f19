"""The GIS services gisgw speaks, one module each; every operation is declared once in its service's module.

Adding an operation touches one file: declare it (`operations.declare`) in `services/<svc>.py` next to its
request type, builder and parser, and list it in that module's `OPERATIONS` (the stand needs its handler too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from app.gis_client.operations import Operation
from app.gis_client.services import bills, debt_requests, debts, house_management, nsi

#: Every operation by name, from the services' declarations.
OPERATIONS: dict[str, Operation] = {
    op.name: op for module in (debt_requests, house_management, debts, nsi, bills) for op in module.OPERATIONS
}

#: getStateResult's result element (Clark name) → the operation whose parser reads it.
RESULT_PARSERS: dict[str, Operation] = {op.result: op for op in OPERATIONS.values() if op.result is not None}


def get_operation(name: str, versions: Mapping[str, str] | None = None) -> Operation:
    """Return the operation `name`, with base:version overridden from a settings dict where allowed."""
    try:
        op = OPERATIONS[name]
    except KeyError:
        raise KeyError(f"unknown GIS operation {name!r}; known: {', '.join(sorted(OPERATIONS))}") from None
    wanted = (versions or {}).get(name)
    if wanted is None or wanted == op.version:
        return op
    if op.version_fixed:
        raise ValueError(f"{name}: base:version is fixed to {op.version} by the XSD, cannot use {wanted}")
    return dataclasses.replace(op, version=wanted)
