"""Official GIS ZhKKh XSD set: compiled once, validates body elements in place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lxml import etree

from app.gis_client.errors import GisSchemaError, SchemaPackageMissing
from app.gis_client.operations import BASE_VERSION_ATTR, NS, NS_SOAP
from app.gis_client.wire.envelope import built_info
from app.gis_client.xmlread import element_path

# Target namespace → type file inside the package. Everything else (lib/*.xsd, including the W3C xmldsig
# schema that hcs-base.xsd imports from `lib/xmldsig-core-schema.xsd`) is reached through the packages' own
# relative imports, so no network access and no local copies are needed. XAdES sits inside ds:Object, which
# the xmldsig schema validates with processContents="lax", so the ETSI schema is not needed either.
SERVICE_SCHEMAS: dict[str, str] = {
    NS["drs"]: "debt-requests/hcs-debt-requests-types.xsd",
    NS["hm"]: "house-management/hcs-house-management-types.xsd",
    NS["debts"]: "debts/hcs-debts-types.xsd",
    NS["nsi-common"]: "nsi-common/hcs-nsi-common-types.xsd",
    NS["bills"]: "bills/hcs-bills-types.xsd",
    NS["base"]: "lib/hcs-base.xsd",
}

SCHEMA_SET_VERSION = "16.3.0.0"

# Backend choice, measured with bench/bench_envelope.py (medians, 2 shared cores, lxml 6.1 / libxml2 2.14,
# xmlschema 4.3):
#   compile the five service schemas:             lxml ≈ 45 ms     xmlschema ≈ 1500 ms
#   validate a 100-action importDSRResponses:     lxml ≈ 1.1 ms    xmlschema ≈ 49 ms
#   validate a 100-subrequest drs:getStateResult: lxml ≈ 1.3 ms    xmlschema ≈ 51 ms
# libxml2 is ~40x faster and validates the element in place (no re-serialisation), so the hot path uses
# lxml.etree.XMLSchema. Its one gap (fixed values on attribute refs) is covered by `fixed_versions` below.


def default_schema_dir() -> Path:
    """Return `GISGW_SCHEMA_DIR` or the shared schema package next to the repository root."""
    env = os.environ.get("GISGW_SCHEMA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "gis-schemas" / SCHEMA_SET_VERSION


_GIS_NS_START = "{http://dom.gosuslugi.ru/schema/integration/"


@dataclass(frozen=True, slots=True)
class SchemaSet:
    """Compiled XSDs of the services gisgw uses; thread-compatible, build once per process."""

    schema_dir: Path
    schema: etree.XMLSchema
    #: Clark name of a top-level element → the `base:version` its XSD fixes (see `fixed_versions`).
    fixed_versions: Mapping[str, str]

    @classmethod
    def load(cls, schema_dir: Path | None = None) -> SchemaSet:
        """Compile the service schemas from the official package; raise SchemaPackageMissing if absent."""
        root = (schema_dir or default_schema_dir()).resolve()
        missing = [rel for rel in SERVICE_SCHEMAS.values() if not (root / rel).is_file()]
        if missing:
            raise SchemaPackageMissing(
                f"GIS schema package not found under {root}: missing {', '.join(missing)}"
            )
        imports = "".join(
            f'<xs:import namespace="{ns}" schemaLocation="{(root / rel).as_uri()}"/>'
            for ns, rel in SERVICE_SCHEMAS.items()
        )
        wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
        # no_network: every import in the package is relative; a remote one must fail, not be fetched.
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        try:
            doc = etree.fromstring(wrapper.encode(), parser, base_url=root.as_uri() + "/")
            schema = etree.XMLSchema(doc)
        except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise SchemaPackageMissing(f"GIS schema package under {root} does not compile: {exc}") from exc
        return cls(root, schema, fixed_versions(root, parser))

    def validate(self, element: etree._Element) -> None:
        """Validate one business element in place (body, header, fault detail) or raise GisSchemaError."""
        if self.schema.validate(element):
            self._check_fixed_version(element)
            return
        errors: list[etree._LogEntry] = list(self.schema.error_log)  # type: ignore[call-overload]
        if not errors:  # pragma: no cover - libxml2 always logs why
            raise GisSchemaError("schema validation failed", path=element_path(element))
        first = errors[0]
        parent = element.getparent()
        # libxml2 reports paths relative to the validated element; prepend where it sits in the envelope.
        prefix = element_path(parent) if parent is not None else ""
        details = tuple(f"{prefix}{e.path}: {_readable(e.message)}" for e in errors)
        raise GisSchemaError(
            _readable(first.message),
            path=f"{prefix}{first.path}",
            rule=first.type_name,
            line=first.line or None,
            details=details,
        )

    def _check_fixed_version(self, element: etree._Element) -> None:
        fixed = self.fixed_versions.get(element.tag) if isinstance(element.tag, str) else None
        if fixed is not None and element.get(BASE_VERSION_ATTR) != fixed:
            raise GisSchemaError(
                f"base:version must be {fixed}, got {element.get(BASE_VERSION_ATTR)!r}",
                path=element_path(element) + "/@base:version",
                rule="fixed attribute value",
            )

    def validate_envelope(
        self, envelope: etree._Element, *, foreign_headers: Literal["validate", "ignore"] = "validate"
    ) -> None:
        """Validate the SOAP header blocks and the body element of an envelope (SOAP 1.1 frame by hand).

        ``foreign_headers="ignore"`` skips header blocks outside the GIS namespaces (a receiver's view:
        GIS accepts a WCF client's ``Action`` block, gis-protocol.md §16); our own messages validate all.
        """
        # The package has no SOAP 1.1 envelope schema, so the frame is checked here and every GIS block
        # inside it is validated against the official XSD.
        if envelope.tag != f"{{{NS_SOAP}}}Envelope":
            raise GisSchemaError("not a SOAP 1.1 Envelope", path=element_path(envelope), rule="soap-frame")
        body = envelope.find("soap:Body", NS)
        if body is None or len(body) != 1:
            raise GisSchemaError("SOAP Body must hold exactly one element", path=element_path(envelope))
        header = envelope.find("soap:Header", NS)
        if header is not None:
            for block in header:
                if not isinstance(block.tag, str):
                    continue
                if foreign_headers == "ignore" and not block.tag.startswith(_GIS_NS_START):
                    continue
                self.validate(block)
        payload = body[0]
        if payload.tag == f"{{{NS_SOAP}}}Fault":
            detail = payload.find("detail")
            for block in detail if detail is not None else ():
                if isinstance(block.tag, str):
                    self.validate(block)
            return
        built = built_info(payload, take=True)
        if built is not None and built.valid_markup is not None and _unchanged(payload, built.valid_markup):
            # Valid by construction: its builder checked every value against the XSD facets and writes only
            # the XSD's structure (a property test validates every such body), and its content is still what
            # was built; build_envelope added Id and base:version, whose fixed value is checked as `validate`
            # checks it. Serialising the body costs a fifth of validating it.
            self._check_fixed_version(payload)
            return
        self.validate(payload)


def _unchanged(element: etree._Element, markup: bytes) -> bool:
    """Return whether the element is its start tag (base:version, Id) followed by exactly `markup`."""
    keys = element.keys()
    if BASE_VERSION_ATTR not in keys or not all(k in (BASE_VERSION_ATTR, "Id") for k in keys):
        return False
    data = etree.tostring(element, encoding="UTF-8", xml_declaration=False, with_tail=False)
    cut = len(data) - len(markup)
    # The start tag ends right where the markup starts: `>` is escaped in text, `<` in attribute values,
    # so no text, comment or other node sits between them.
    return cut > 1 and data.endswith(markup) and data[cut - 1 : cut] == b">" and data.find(b"<", 1) == cut


_XS = "http://www.w3.org/2001/XMLSchema"


def fixed_versions(root: Path, parser: etree.XMLParser) -> dict[str, str]:
    """Read the `base:version` each top-level element of the service schemas fixes, from the XSD itself.

    libxml2 does not enforce `fixed` on attribute uses that reference a global attribute
    (`<xs:attribute ref="base:version" fixed="14.0.0.0"/>`), and a wrong version is exactly what GIS answers
    with HTTP 400 (gis-protocol.md §4), so `SchemaSet.validate` checks these values itself.
    """
    out: dict[str, str] = {}
    for rel in SERVICE_SCHEMAS.values():
        top = etree.parse(str(root / rel), parser).getroot()
        namespace = top.get("targetNamespace")
        assert namespace is not None, rel
        for element in top.iterfind(f"{{{_XS}}}element"):
            name = f"{{{namespace}}}{element.get('name')}"
            for attribute in element.iter(f"{{{_XS}}}attribute"):
                fixed = attribute.get("fixed")
                if (
                    attribute.get("ref") == "base:version"
                    and fixed is not None
                    and _owner(attribute) is element
                ):
                    out[name] = fixed
                    break
    return out


def _owner(node: etree._Element) -> etree._Element | None:
    """Return the nearest xs:element around a schema node (an attribute belongs to that element)."""
    parent = node.getparent()
    while parent is not None and parent.tag != f"{{{_XS}}}element":
        parent = parent.getparent()
    return parent


def _readable(message: str) -> str:
    """Shorten `{namespace}local` names in a libxml2 message to `prefix:local`."""
    for prefix, uri in NS.items():
        message = message.replace("{" + uri + "}", prefix + ":")
    return message.strip()
