"""SchemaSet: loading, validation errors that name the element, missing package."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.gis_client.errors import GisSchemaError, SchemaPackageMissing
from app.gis_client.messages import ExportAccountQuery, build_export_account, build_import_dsr_responses
from app.gis_client.services import get_operation
from app.gis_client.wire.envelope import build_envelope, sub
from app.gis_client.wire.schemas import SchemaSet, element_path
from tests.gis_client.samples.data import g, schemas, send_action


def test_load_schema_set_missing_package(tmp_path: Path) -> None:
    with pytest.raises(SchemaPackageMissing, match="missing"):
        SchemaSet.load(tmp_path)


def test_validate_reports_unexpected_element_with_path() -> None:
    body = build_export_account(ExportAccountQuery(account_guids=(g(),)))
    env = build_envelope(get_operation("exportAccountData"), body, org_ppa_guid=g())
    sub(body, "hm", "Bogus", "x")
    with pytest.raises(GisSchemaError) as info:
        schemas().validate_envelope(env)
    err = info.value
    assert "hm:Bogus" in err.message
    assert err.path == "/soap:Envelope/soap:Body/hm:exportAccountRequest/hm:Bogus"
    assert err.rule and err.rule.startswith("SCHEMAV_")


def test_validate_reports_bad_snils_in_nested_action() -> None:
    actions = [send_action(), send_action()]
    body = build_import_dsr_responses(actions)
    env = build_envelope(get_operation("importResponses"), body, org_ppa_guid=g())
    snils = body.findall(".//{*}snils")[1]
    snils.text = "123"
    with pytest.raises(GisSchemaError) as info:
        schemas().validate_envelope(env)
    assert info.value.path is not None
    assert info.value.path.endswith("drs:action[2]/drs:responseData/drs:debtInfo/drs:person/drs:snils")
    assert "123" in info.value.message


def test_validate_refuses_wrong_fixed_version() -> None:
    body = build_import_dsr_responses([send_action(False)])
    build_envelope(get_operation("importResponses"), body, org_ppa_guid=g())
    body.set("{http://dom.gosuslugi.ru/schema/integration/base/}version", "15.3.0.0")
    with pytest.raises(GisSchemaError, match="version"):
        schemas().validate(body)


def test_validate_envelope_rejects_non_soap() -> None:
    with pytest.raises(GisSchemaError, match="SOAP"):
        schemas().validate_envelope(etree.Element("x"))


def test_element_path_numbers_siblings() -> None:
    root = etree.fromstring("<a><b/><b><c/></b></a>")
    assert element_path(root[1][0]) == "/a/b[2]/c"
