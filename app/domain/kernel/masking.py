"""Personal data (names, SNILS, documents, birth data, addresses) as a caller without the `pii` scope sees it.

The one masking rule of the gateway; routers and the court documents call it. Forms: `initial` cuts a name to
its first letter and a point ("Иванов" → "И."), the form of the debt-request and account lists; `stars`
replaces a value with "***" and keeps the field, the form of a court application's debtor block (the
document's layout stays readable); `withhold` drops the value (None), for identifiers that may not show at
all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar, overload

T = TypeVar("T")

MaskForm = Literal["initial", "stars", "withhold"]

#: What `stars` shows instead of a value.
MASK = "***"


@overload
def mask(value: T, *, pii: bool, form: Literal["withhold"] = "withhold") -> T | None: ...


@overload
def mask(value: str | None, *, pii: bool, form: Literal["initial", "stars"]) -> str | None: ...


def mask(value: Any, *, pii: bool, form: MaskForm = "withhold") -> Any:
    """Return a personal-data value whole to a caller with `pii`, else in the masked `form`."""
    if pii:
        return value
    if form == "initial":
        return f"{value[0]}." if value else None
    if form == "stars":
        return MASK if value else value  # an empty field stays empty: nothing to hide
    return None


def mask_fields(data: Mapping[str, Any], fields: Iterable[str], *, pii: bool) -> dict[str, Any]:
    """Return a copy of a record, its personal-data `fields` masked as `stars` unless the caller has `pii`."""
    names = frozenset(fields)
    return {k: (mask(v, pii=pii, form="stars") if k in names else v) for k, v in data.items()}
