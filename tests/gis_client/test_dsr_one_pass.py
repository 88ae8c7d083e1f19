"""The one-pass exportDSRs reader gives exactly what the field-by-field reference parser gives, or defers."""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError, dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from app.gis_client.errors import GisProtocolError
from app.gis_client.services.debt_requests import (
    _subrequest_one_pass,
    parse_subrequest,
    parse_subrequest_by_paths,
)
from app.gis_stand.results_builder import build_subrequest
from tests.gis_client.samples.data import subrequest

# Six sample subrequests: answered (debtor, documents with act and cancelled address, files) or not, and
# both housing-object variants.
SAMPLES = [etree.tostring(build_subrequest(subrequest(i, answered=i % 3 == 0))) for i in range(6)]

# Mutations a malformed or unusual answer may carry: an element dropped, doubled (the twin with another
# value, after or before it), moved last, a comment or a foreign element inserted, a text replaced (blank,
# padded, not a date, empty).
texts = st.sampled_from(["", " ", "  x  ", "2025-13-45", "true", "1", "false", " 2025-03-03+03:00 ", "Ив"])
hows = st.sampled_from(["drop", "double", "double-first", "last", "comment", "foreign", "text"])
mutation = st.tuples(hows, st.integers(0, 200), texts)


def _mutate(el: etree._Element, how: str, index: int, text: str) -> None:
    nodes = list(el.iter())[1:]
    node = nodes[index % len(nodes)]
    parent = node.getparent()
    assert parent is not None
    if how == "drop":
        parent.remove(node)
    elif how in ("double", "double-first"):
        twin = copy.deepcopy(node)
        if len(twin) == 0 and isinstance(twin.tag, str):
            twin.text = f"{node.text}{text}2"  # a different value: which one is read shows
        if how == "double":
            node.addnext(twin)
        else:
            node.addprevious(twin)
    elif how == "last":
        parent.append(node)
    elif how == "comment":
        node.addprevious(etree.Comment("c"))
    elif how == "foreign":
        node.addprevious(etree.Element("{urn:other}x"))
    elif isinstance(node.tag, str):
        node.text = text


def _outcome(fn: Any, el: etree._Element) -> object:
    try:
        return fn(el)
    except Exception as exc:  # the error itself is what is compared
        return (type(exc), str(exc))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SAMPLES) - 1), st.lists(mutation, max_size=3))
def test_one_pass_equals_reference_or_defers(sample: int, mutations: list[tuple[str, int, str]]) -> None:
    el = etree.fromstring(SAMPLES[sample])
    for how, index, text in mutations:
        _mutate(el, how, index, text)
    reference = _outcome(parse_subrequest_by_paths, el)
    try:
        fast = _subrequest_one_pass(el)
    except Exception:
        fast = None  # deferred: parse_subrequest then returns or raises what the reference does
    else:
        assert fast == reference
    assert _outcome(parse_subrequest, el) == reference


@pytest.mark.parametrize("raw", SAMPLES)
def test_one_pass_reads_samples(raw: bytes) -> None:
    el = etree.fromstring(raw)
    assert _subrequest_one_pass(el) == parse_subrequest_by_paths(el)


def test_parse_subrequest_missing_element_raises_reference_error() -> None:
    el = etree.fromstring(SAMPLES[0])
    el.remove(el[1])  # requestInfo
    with pytest.raises(GisProtocolError, match="missing drs:requestInfo"):
        parse_subrequest(el)


def test_maker_builds_equal_instances() -> None:
    from app.gis_client.services.debt_requests import Executor, Period
    from app.gis_client.xmlread import maker

    day = date(2025, 1, 1)
    assert maker(Executor)("g", "fio") == Executor("g", "fio")
    assert hash(maker(Period)(day, day)) == hash(Period(day, day))
    with pytest.raises(FrozenInstanceError):
        maker(Executor)("g", "fio").guid = "x"  # type: ignore[misc]


def test_maker_refuses_class_with_post_init() -> None:
    from app.gis_client.xmlread import maker

    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            assert self.value >= 0

    with pytest.raises(TypeError):
        maker(Checked)
