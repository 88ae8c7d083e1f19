"""An importDSRResponses body its builder notes as valid by construction does validate against the XSD.

The envelope's validation skips libxml2 for such a body (`SchemaSet.validate_envelope`); this property is
what allows it: for arbitrary actions with values on both sides of every facet, a body noted valid passes
the official XSD, and the prefixes noted are those `used_prefixes` finds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from app.gis_client.errors import GisLimitError, GisSchemaError
from app.gis_client.services import get_operation
from app.gis_client.services.common import Attachment, IdentityDocument, NsiRef
from app.gis_client.services.debt_requests import (
    DebtDocument,
    DebtInfo,
    DSRAction,
    DSRResponseData,
    Person,
    build_import_dsr_responses,
)
from app.gis_client.wire.envelope import build_envelope, built_info, used_prefixes
from tests.gis_client.samples.data import g, schemas, send_action


def _mostly(valid: st.SearchStrategy[str], invalid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid values nine times in ten: a body is noted valid only if every one of its values is."""
    return st.integers(0, 9).flatmap(lambda i: invalid if i == 0 else valid)


def _sized(low: int, high: int) -> st.SearchStrategy[str]:
    """Texts of lengths at and just outside a facet's bounds (multi-byte and markup characters included)."""
    chars = st.sampled_from(["я", "a", "&<>", " ", "\U0001f600", "\r\n"])
    inside = st.sampled_from(sorted({low, low + 1, (low + high) // 2, high - 1, high} - {0}) or [1])
    outside = st.sampled_from(sorted({max(low - 1, 0), high + 1}))
    return st.builds(lambda n, c: (c * n)[:n], _mostly(inside, outside), chars)  # type: ignore[arg-type]


guid = _mostly(
    st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()),
    st.sampled_from(["not-a-guid", " " + str(uuid.UUID(int=1)), str(uuid.UUID(int=2)) + "\n", "g" * 36]),
)
code = _mostly(
    st.from_regex(r"(A?[0-9]{1,4}\.?){1,4}", fullmatch=True).filter(lambda c: len(c) <= 20),
    st.sampled_from(["B1", "1..2", "٣", "12345", "1" * 21, "A1.A2.3", "AA1"]),
)
snils = _mostly(
    st.from_regex(r"[0-9]{11}", fullmatch=True),
    st.sampled_from(["123", "1234567890", "123456789012", "١٢٣٤٥٦٧٨٩٠١", "1234567890a"]),
)
nsi = st.builds(NsiRef, code, guid, st.none() | _sized(0, 1200))
attachment = st.builds(Attachment, _sized(1, 1024), _sized(1, 500), guid, st.none() | _sized(1, 64))
person = st.builds(
    Person,
    _sized(1, 255),
    _sized(1, 255),
    st.none() | _sized(1, 255),
    st.none() | snils,
    st.none() | st.builds(IdentityDocument, nsi, _sized(0, 255), st.none() | _sized(0, 255)),
)
debt_info = st.builds(
    DebtInfo, person, st.lists(st.builds(DebtDocument, nsi, attachment), max_size=2).map(tuple)
)


@st.composite
def responses(draw: st.DrawFn) -> DSRResponseData:
    has_debt = draw(st.booleans())
    infos = tuple(draw(st.lists(debt_info, min_size=1, max_size=2))) if has_debt else ()
    guids = tuple(draw(st.lists(guid, min_size=1, max_size=2))) if has_debt and not infos else ()
    files = tuple(draw(st.lists(attachment, max_size=2))) if has_debt else ()
    return DSRResponseData(has_debt, draw(guid), infos, guids, files, draw(st.none() | _sized(0, 1000)))


@st.composite
def actions(draw: st.DrawFn) -> DSRAction:
    if draw(st.booleans()):
        return DSRAction(draw(guid), draw(guid), "Revoke")
    return DSRAction(draw(guid), draw(guid), "Send", draw(responses()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions(), min_size=1, max_size=3))
def test_body_noted_valid_validates(drawn: list[DSRAction]) -> None:
    try:
        body = build_import_dsr_responses(drawn)
    except (GisLimitError, ValueError):
        return
    info = built_info(body)
    op = get_operation("importResponses")
    envelope = build_envelope(op, body, org_ppa_guid=g())
    if info is None:
        return  # written element by element: validated as always
    assert info.prefixes == tuple(used_prefixes(body))
    verdict = _verdict(schemas().validate, body)  # libxml2 on the very body
    if info.valid_markup is not None:
        assert verdict is None  # the property the envelope's validation relies on
    assert _verdict(schemas().validate_envelope, envelope) == verdict  # the same verdict either way


def _verdict(validate: Callable[[etree._Element], None], element: etree._Element) -> str | None:
    try:
        validate(element)
    except GisSchemaError as exc:
        return str(exc)
    return None


def test_sample_body_skips_libxml2_and_is_valid() -> None:
    body = build_import_dsr_responses([send_action(i % 2 == 0) for i in range(100)])
    info = built_info(body)
    assert info is not None and info.valid_markup is not None
    envelope = build_envelope(get_operation("importResponses"), body, org_ppa_guid=g())
    schemas().validate_envelope(envelope)
    assert built_info(body) is None  # one validation took the note
    schemas().validate(body)


@pytest.mark.parametrize(
    "change",
    [
        lambda body: setattr(body.find(".//{*}snils"), "text", "123"),
        lambda body: body.find(".//{*}action").append(etree.Element("{urn:x}y")),
        lambda body: setattr(body, "text", "x"),
        lambda body: body.set("other", "1"),
        lambda body: body[0].remove(body[0][0]),
    ],
)
def test_body_changed_after_building_is_validated(change: object) -> None:
    body = build_import_dsr_responses([send_action(), send_action()])
    envelope = build_envelope(get_operation("importResponses"), body, org_ppa_guid=g())
    change(body)  # type: ignore[operator]
    with pytest.raises(GisSchemaError):
        schemas().validate_envelope(envelope)


def test_body_with_value_outside_facet_is_validated() -> None:
    action = send_action()
    assert action.response is not None and action.response.debt_info
    info = action.response.debt_info[0]
    bad = DebtInfo(Person(info.person.first_name, info.person.last_name, snils="123"), info.documents)
    body = build_import_dsr_responses(
        [DSRAction(action.transport_guid, action.subrequest_guid, "Send",
                   DSRResponseData(True, action.response.executor_guid, (bad,)))]
    )  # fmt: skip
    noted = built_info(body)
    assert noted is not None and noted.valid_markup is None
    with pytest.raises(GisSchemaError, match="snils"):
        schemas().validate_envelope(build_envelope(get_operation("importResponses"), body, org_ppa_guid=g()))


# One field of a valid sample action replaced by a value at or just across its facet's bound, so every bound
# is met alone (above, a body is noted valid only when all of its values are, which rarely isolates one).
def _with(action: DSRAction, field: str, value: str) -> DSRAction:
    r = action.response
    assert r is not None and r.debt_info
    info = r.debt_info[0]
    p = info.person
    assert p.document is not None
    doc, att = info.documents[0], r.additional_files[0]
    changes: dict[str, Callable[[], DSRAction]] = {
        "transport_guid": lambda: replace(action, transport_guid=value),
        "executor_guid": lambda: replace(action, response=replace(r, executor_guid=value)),
        "debt_guid": lambda: replace(action, response=replace(r, debt_info=(), debt_guids=(value,))),
        "first_name": lambda: _person(action, replace(p, first_name=value)),
        "middle_name": lambda: _person(action, replace(p, middle_name=value)),
        "snils": lambda: _person(action, replace(p, snils=value)),
        "series": lambda: _person(action, replace(p, document=replace(p.document, series=value))),
        "number": lambda: _person(action, replace(p, document=replace(p.document, number=value))),
        "nsi_code": lambda: _person(
            action, replace(p, document=replace(p.document, type=replace(p.document.type, code=value)))
        ),
        "nsi_guid": lambda: _document(action, replace(doc, type=replace(doc.type, guid=value))),
        "nsi_name": lambda: _document(action, replace(doc, type=replace(doc.type, name=value))),
        "att_name": lambda: replace(
            action, response=replace(r, additional_files=(replace(att, name=value),))
        ),
        "att_description": lambda: _document(
            action, replace(doc, attachment=replace(doc.attachment, description=value))
        ),
        "att_guid": lambda: _document(
            action, replace(doc, attachment=replace(doc.attachment, attachment_guid=value))
        ),
        "att_hash": lambda: _document(action, replace(doc, attachment=replace(doc.attachment, hash=value))),
        "description": lambda: replace(action, response=replace(r, description=value)),
    }
    return changes[field]()


def _person(action: DSRAction, person: Person) -> DSRAction:
    assert action.response is not None
    info = replace(action.response.debt_info[0], person=person)
    return replace(action, response=replace(action.response, debt_info=(info,)))


def _document(action: DSRAction, document: DebtDocument) -> DSRAction:
    assert action.response is not None
    info = replace(action.response.debt_info[0], documents=(document,))
    return replace(action, response=replace(action.response, debt_info=(info,)))


def _bounds(low: int, high: int) -> st.SearchStrategy[str]:
    chars = st.sampled_from(["я", "a", "&", "\U0001f600"])
    lengths = st.sampled_from(sorted({max(low - 1, 0), low, high, high + 1}))
    return st.builds(lambda n, c: c * n, lengths, chars)


_GUIDS = st.uuids().map(str) | st.sampled_from(["not-a-guid", str(uuid.UUID(int=2)) + " ", "g" * 36])
_FIELDS: dict[str, st.SearchStrategy[str]] = {
    "transport_guid": _GUIDS,
    "executor_guid": _GUIDS,
    "debt_guid": _GUIDS,
    "nsi_guid": _GUIDS,
    "att_guid": _GUIDS,
    "first_name": _bounds(1, 255),
    "middle_name": _bounds(1, 255),
    "snils": st.from_regex(r"[0-9]{10,12}", fullmatch=True) | st.sampled_from(["١٢٣٤٥٦٧٨٩٠١", "1234567890a"]),
    "series": _bounds(0, 255),
    "number": _bounds(0, 255),
    "nsi_code": st.from_regex(r"(A?[0-9]{1,5}\.{0,2}){1,6}", fullmatch=True)
    | st.sampled_from(["B1", "٣", "1" * 20, "1" * 21, "A1." * 7, "A1." * 6 + "A1"]),
    "nsi_name": _bounds(0, 1200),
    "att_name": _bounds(1, 1024),
    "att_description": _bounds(1, 500),
    "att_hash": _bounds(1, 2),
    "description": _bounds(0, 1000),
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_FIELDS)).flatmap(lambda f: st.tuples(st.just(f), _FIELDS[f])))
def test_each_facet_bound_alone(field_value: tuple[str, str]) -> None:
    field, value = field_value
    try:
        body = build_import_dsr_responses([_with(send_action(), field, value)])
    except (GisLimitError, ValueError):
        return
    info = built_info(body)
    build_envelope(get_operation("importResponses"), body, org_ppa_guid=g())
    if info is not None and info.valid_markup is not None:
        assert _verdict(schemas().validate, body) is None, (field, value)
