"""The XSD facets of every importDSRResponses field the gateway maps, as one table, and the check using it.

The table is derived from the official package (`derive_facets`, run `python -m
app.domain.debt_requests.xsd_facets` to print it) and a test compares it with the schema, so a new format
version that changes a limit fails the test instead of sending values GIS refuses. It is kept as data here
rather than read at startup because the gateway runs (without XSD validation) when the package is absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.domain.kernel import errors as d
from app.gis_client.messages import DSRAction

#: Namespaces of the paths below (the prefixes gis-protocol.md uses).
NAMESPACES = {
    "drs": "http://dom.gosuslugi.ru/schema/integration/drs/",
    "base": "http://dom.gosuslugi.ru/schema/integration/base/",
    "nsi-base": "http://dom.gosuslugi.ru/schema/integration/nsi-base/",
}
ROOT = "importDSRResponsesRequest"
_PERSON = "drs:action/drs:responseData/drs:debtInfo/drs:person"
_PROOF = "drs:action/drs:responseData/drs:debtInfo/drs:document"


@dataclass(frozen=True)
class Facet:
    """The facets of one simple type: lengths, patterns (XSD and Python), enumeration, range."""

    path: str = field(compare=False)
    min_length: int | None = None
    max_length: int | None = None
    patterns: tuple[str, ...] = ()
    regexps: tuple[str, ...] = ()
    enumeration: tuple[str, ...] = ()
    min_inclusive: Decimal | None = None
    max_inclusive: Decimal | None = None

    def json_schema(self) -> dict[str, Any]:
        """Return the OpenAPI keywords of the facets (documentation; the check below enforces them)."""
        out: dict[str, Any] = {}
        if self.min_length is not None:
            out["minLength"] = self.min_length
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.patterns:
            out["pattern"] = "^(?:" + self.patterns[0] + ")$"
        if self.enumeration:
            out["enum"] = list(self.enumeration)
        return out


#: Field kind → the XSD element (relative to drs:importDSRResponsesRequest) and its facets.
FACETS: dict[str, Facet] = {
    "action_type": Facet("drs:action/drs:actionType", enumeration=("Send", "Revoke")),
    "description": Facet("drs:action/drs:responseData/drs:description", max_length=1000),
    "guid": Facet(
        "drs:action/drs:responseData/drs:executorGUID",
        patterns=("([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}",),
        regexps=(
            "^(?:(?:[0-9A-Fa-f]){8}-(?:[0-9A-Fa-f]){4}-(?:[0-9A-Fa-f]){4}-(?:[0-9A-Fa-f]){4}"
            "-(?:[0-9A-Fa-f]){12})$(?!\\n\\Z)",
        ),
    ),
    "person_name": Facet(f"{_PERSON}/drs:lastName", min_length=1, max_length=255),
    "snils": Facet(f"{_PERSON}/drs:snils", patterns=("\\d{11}",), regexps=("^(?:\\d{11})$(?!\\n\\Z)",)),
    "document_series": Facet(f"{_PERSON}/drs:document/drs:series", max_length=255),
    "document_number": Facet(f"{_PERSON}/drs:document/drs:number", max_length=255),
    "nsi_code": Facet(
        f"{_PERSON}/drs:document/drs:type/nsi-base:Code",
        max_length=20,
        patterns=("(A{0,1}\\d{1,4}(\\.)?)+",),
        regexps=("^(?:(?:A{0,1}\\d{1,4}(?:\\.)?)+)$(?!\\n\\Z)",),
    ),
    "attachment_name": Facet(f"{_PROOF}/drs:attachment/base:Name", min_length=1, max_length=1024),
    "attachment_description": Facet(
        f"{_PROOF}/drs:attachment/base:Description", min_length=1, max_length=500
    ),
}

#: Every element a kind stands for (the test checks that each has exactly the kind's facets).
ALSO: dict[str, tuple[str, ...]] = {
    "person_name": (f"{_PERSON}/drs:firstName", f"{_PERSON}/drs:middleName"),
    "guid": (
        "drs:action/base:TransportGUID",
        "drs:action/drs:subrequestGUID",
        "drs:action/drs:responseData/drs:debtGUID",
    ),
    "nsi_code": (f"{_PROOF}/drs:type/nsi-base:Code",),
    "attachment_name": ("drs:action/drs:responseData/drs:additionalFile/base:Name",),
    "attachment_description": ("drs:action/drs:responseData/drs:additionalFile/base:Description",),
}

_COMPILED = {kind: tuple(re.compile(r) for r in f.regexps) for kind, f in FACETS.items()}


def bad_xml_char(value: str) -> int | None:
    """Return the position of the first character XML 1.0 cannot carry (§2.2 Char), or None."""
    for i, ch in enumerate(value):
        c = ord(ch)
        if c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF:
            continue
        return i
    return None


def violations(kind: str, value: str) -> list[tuple[str, str]]:
    """Return every (rule, message) the value breaks for its field kind; empty when GIS's XSD accepts it."""
    f = FACETS[kind]
    out: list[tuple[str, str]] = []
    pos = bad_xml_char(value)
    if pos is not None:
        out.append(("xml_char", f"character U+{ord(value[pos]):04X} at position {pos} cannot be sent in XML"))
    if f.min_length is not None and len(value) < f.min_length:
        out.append(("xsd_min_length", f"at least {f.min_length} character(s)"))
    too_long = f.max_length is not None and len(value) > f.max_length
    if too_long:
        out.append(("xsd_max_length", f"at most {f.max_length} characters, got {len(value)}"))
    # An over-long value is refused already; its pattern is not tried: the XSD's own patterns backtrack
    # exponentially on long input (nsi_code's `(A{0,1}\d{1,4}(\.)?)+`: 20 digits and an "x" take 0.03 s, 40
    # would take hours), so only values within the length limit reach the regex.
    if _COMPILED[kind] and not too_long and not all(r.match(value) for r in _COMPILED[kind]):
        out.append(("xsd_pattern", f"must match {f.patterns[0]}"))
    if f.enumeration and value not in f.enumeration:
        out.append(("xsd_enumeration", "one of " + ", ".join(f.enumeration)))
    return out


def problems(kind: str, value: str | None, path: str) -> list[d.FieldProblem]:
    """Return the value's violations as field problems under `path` (None: nothing to check)."""
    if value is None:
        return []
    return [d.FieldProblem(path, rule, message) for rule, message in violations(kind, value)]


def _action_values(action: DSRAction) -> Iterator[tuple[str, str | None, str]]:
    yield "action_type", action.action, "actionType"
    yield "guid", action.transport_guid, "TransportGUID"
    yield "guid", action.subrequest_guid, "subrequestGUID"
    r = action.response
    if r is None:
        return
    yield "description", r.description, "responseData.description"
    yield "guid", r.executor_guid, "responseData.executorGUID"
    for i, g in enumerate(r.debt_guids):
        yield "guid", g, f"responseData.debtGUID.{i}"
    for i, att in enumerate(r.additional_files):
        yield "attachment_name", att.name, f"responseData.additionalFile.{i}.Name"
        yield "attachment_description", att.description, f"responseData.additionalFile.{i}.Description"
    for i, info in enumerate(r.debt_info):
        where = f"responseData.debtInfo.{i}"
        p = info.person
        yield "person_name", p.first_name, f"{where}.person.firstName"
        yield "person_name", p.last_name, f"{where}.person.lastName"
        yield "person_name", p.middle_name, f"{where}.person.middleName"
        yield "snils", p.snils, f"{where}.person.snils"
        if p.document is not None:
            yield "nsi_code", p.document.type.code, f"{where}.person.document.type.Code"
            yield "document_series", p.document.series, f"{where}.person.document.series"
            yield "document_number", p.document.number, f"{where}.person.document.number"
        for j, doc in enumerate(info.documents):
            yield "nsi_code", doc.type.code, f"{where}.document.{j}.type.Code"
            yield "attachment_name", doc.attachment.name, f"{where}.document.{j}.attachment.Name"
            yield (
                "attachment_description",
                doc.attachment.description,
                f"{where}.document.{j}.attachment.Description",
            )


def action_problems(action: DSRAction) -> list[d.FieldProblem]:
    """Return every facet an importDSRResponses action breaks, named by its element (no personal data)."""
    out: list[d.FieldProblem] = []
    for kind, value, path in _action_values(action):
        out.extend(problems(kind, value, path))
    return out


# ------------------------------------------------------------------------------------------- derivation


def derive_facets(schema_dir: Path) -> dict[str, Facet]:
    """Read the facets of the table's elements from the official XSD with xmlschema."""
    import xmlschema

    schema = xmlschema.XMLSchema(str(schema_dir / "debt-requests" / "hcs-debt-requests-types.xsd"))
    root = schema.elements[ROOT]
    out: dict[str, Facet] = {}
    for kind, f in FACETS.items():
        out[kind] = facet_of(root, f.path)
    return out


def facet_of(root: Any, path: str) -> Facet:
    """Return the facets of the simple type of the element at `path` under `root`."""
    element = root.find(path, NAMESPACES)
    if element is None:
        raise LookupError(f"{path} is not in {ROOT}")
    t = element.type
    # xmlschema keeps the XSD regexes in `regexps` and their Python translations in `patterns`.
    patterns = tuple(t.patterns.regexps) if t.patterns is not None else ()
    regexps = tuple(r.pattern for r in t.patterns.patterns) if t.patterns is not None else ()
    low = getattr(t, "min_value", None)
    high = getattr(t, "max_value", None)
    return Facet(
        path,
        min_length=t.min_length,
        max_length=t.max_length,
        patterns=patterns,
        regexps=regexps,
        enumeration=tuple(t.enumeration or ()),
        min_inclusive=Decimal(str(low)) if low is not None else None,
        max_inclusive=Decimal(str(high)) if high is not None else None,
    )


if __name__ == "__main__":  # pragma: no cover - prints the table for a new format version
    import pprint
    import sys

    from app.settings import Settings

    pprint.pprint(derive_facets(Settings().gis.schema_dir), stream=sys.stdout, width=110)
