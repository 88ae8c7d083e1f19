"""importDSRResponses bodies written as text and parsed once equal the element-by-element build."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from app.gis_client.services import get_operation
from app.gis_client.services.common import Attachment, IdentityDocument, NsiRef
from app.gis_client.services.debt_requests import (
    DebtDocument,
    DebtInfo,
    DSRAction,
    DSRResponseData,
    Person,
    build_import_dsr_responses,
    build_import_dsr_responses_by_elements,
)
from app.gis_client.wire.envelope import build_envelope
from tests.gis_client.samples.data import g, schemas, send_action

# Any text, including markup characters, CR/LF, astral characters, empty strings and characters XML cannot
# carry (both builders must refuse those alike).
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "a&b", "<x>", "]]>", "a\r\nb", "\t tab ", "Иванов", "\x00", "\x0b", "\ufffe", "&amp;"]
)
opt = st.none() | text
nsi = st.builds(NsiRef, text, text, opt)
attachment = st.builds(Attachment, text, text, text, opt)
person = st.builds(Person, text, text, opt, opt, st.none() | st.builds(IdentityDocument, nsi, text, opt))
debt_info = st.builds(
    DebtInfo, person, st.lists(st.builds(DebtDocument, nsi, attachment), max_size=2).map(tuple)
)
response = st.builds(
    DSRResponseData,
    st.booleans(),
    text,
    st.lists(debt_info, max_size=2).map(tuple),
    st.lists(text, max_size=2).map(tuple),
    st.lists(attachment, max_size=2).map(tuple),
    opt,
)
action = st.builds(DSRAction, text, text, st.sampled_from(["Send", "Revoke"]), st.none() | response)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, min_size=1, max_size=3))
def test_text_builder_equals_element_builder(actions: list[DSRAction]) -> None:
    # The limits are checked first by build_import_dsr_responses; the element builder alone skips them.
    try:
        built = build_import_dsr_responses(actions)
    except ValueError as exc:
        if type(exc).__name__ == "GisLimitError":
            return
        with pytest.raises(ValueError):
            build_import_dsr_responses_by_elements(actions)
        return
    assert etree.tostring(built) == etree.tostring(build_import_dsr_responses_by_elements(actions))


def test_text_builder_sample_bytes_and_schema() -> None:
    actions = [send_action(i % 2 == 0) for i in range(100)]
    body = build_import_dsr_responses(actions)
    assert etree.tostring(body) == etree.tostring(build_import_dsr_responses_by_elements(actions))
    op = get_operation("importResponses")
    schemas().validate_envelope(build_envelope(op, body, org_ppa_guid=g()))
