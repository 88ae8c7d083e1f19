"""The XSD facet table: equal to what the official schema says, and the check agrees with the schema."""

from __future__ import annotations

from functools import cache
from typing import Any

import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.debt_requests import xsd_facets
from app.gis_client.wire.schemas import default_schema_dir


@cache
def _root() -> Any:
    schema = xmlschema.XMLSchema(str(default_schema_dir() / "debt-requests" / "hcs-debt-requests-types.xsd"))
    return schema.elements[xsd_facets.ROOT]


def test_table_equals_the_schema_facets() -> None:
    assert xsd_facets.derive_facets(default_schema_dir()) == xsd_facets.FACETS
    for kind, paths in xsd_facets.ALSO.items():
        for path in paths:
            assert xsd_facets.facet_of(_root(), path) == xsd_facets.FACETS[kind], path


def _values(facet: xsd_facets.Facet) -> st.SearchStrategy[str]:
    """Generate values around every facet: pattern matches, lengths at the limits, bad characters."""
    limit = facet.max_length or 40
    low = facet.min_length or 0
    chars = st.characters(codec="utf-8") | st.sampled_from(["\x00", "\x01", "\x1f", "\ufffe", "\ud800", "7"])
    options = [
        st.text(chars, max_size=3),
        st.text(chars, min_size=max(0, limit - 2), max_size=limit + 2),
        st.text(chars, min_size=max(0, low - 1), max_size=low + 1),
    ]
    for regex in facet.patterns:
        pattern = "^(?:" + regex + ")$"
        options.append(st.from_regex(pattern, fullmatch=True))
        options.append(st.from_regex(pattern, fullmatch=True).map(lambda v: v + "\x00"))
        options.append(st.from_regex(pattern, fullmatch=True).map(lambda v: v[:-1]))
    if facet.enumeration:
        options.append(st.sampled_from(facet.enumeration))
        options.append(st.sampled_from(facet.enumeration).map(str.lower))
    return st.one_of(options)


@st.composite
def _kind_and_value(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(sorted(xsd_facets.FACETS)))
    return kind, draw(_values(xsd_facets.FACETS[kind]))


@settings(max_examples=400, deadline=None)
@given(_kind_and_value())
def test_check_accepts_exactly_what_the_schema_and_xml_accept(case: tuple[str, str]) -> None:
    kind, value = case
    xsd_type = _root().find(xsd_facets.FACETS[kind].path, xsd_facets.NAMESPACES).type
    carried = xsd_facets.bad_xml_char(value) is None
    expected = carried and xsd_type.is_valid(value)
    assert (xsd_facets.violations(kind, value) == []) == expected, (kind, value)


def test_violations_name_the_rule() -> None:
    assert [r for r, _ in xsd_facets.violations("description", "a\x00b")] == ["xml_char"]
    assert [r for r, _ in xsd_facets.violations("description", "я" * 1001)] == ["xsd_max_length"]
    assert [r for r, _ in xsd_facets.violations("person_name", "")] == ["xsd_min_length"]
    assert [r for r, _ in xsd_facets.violations("snils", "1234567890")] == ["xsd_pattern"]
    assert [r for r, _ in xsd_facets.violations("nsi_code", "1.2.x")] == ["xsd_pattern"]
    assert [r for r, _ in xsd_facets.violations("action_type", "send")] == ["xsd_enumeration"]
    assert xsd_facets.violations("nsi_code", "A12.3") == []


def test_an_over_long_value_is_refused_without_trying_the_pattern() -> None:
    """nsi_code's XSD pattern backtracks exponentially: a long hostile value must not reach it (were it
    tried, this call would not return for hours)."""
    assert [r for r, _ in xsd_facets.violations("nsi_code", "1" * 60 + "x")] == ["xsd_max_length"]
