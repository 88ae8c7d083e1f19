"""What a GIS operation is (`Operation`, `declare`), the services' endpoints and namespaces, and getState.

Each operation is declared once, in the module of its GIS service (`app/gis_client/services/<svc>.py`): name,
service, SOAPAction, base:version, request type and builder, result element, parser and type, import or
export. The engine, the client and the parser read those declarations (`services.OPERATIONS`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from lxml import etree
from pydantic import TypeAdapter

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_DRS = "http://dom.gosuslugi.ru/schema/integration/drs/"
NS_HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
NS_DEBTS = "http://dom.gosuslugi.ru/schema/integration/debts/"
NS_NSI_COMMON = "http://dom.gosuslugi.ru/schema/integration/nsi-common/"
NS_BILLS = "http://dom.gosuslugi.ru/schema/integration/bills/"
NS_BILLS_BASE = "http://dom.gosuslugi.ru/schema/integration/bills-base/"
NS_NSI_BASE = "http://dom.gosuslugi.ru/schema/integration/nsi-base/"
NS_ACCOUNT_BASE = "http://dom.gosuslugi.ru/schema/integration/account-base/"
NS_PREMISES_BASE = "http://dom.gosuslugi.ru/schema/integration/premises-base/"
NS_IND_REG_BASE = "http://dom.gosuslugi.ru/schema/integration/individual-registry-base/"
NS_ORG_REG_BASE = "http://dom.gosuslugi.ru/schema/integration/organizations-registry-base/"

# Prefixes used on the wire and in XPath lookups. GIS does not care about prefixes, but fixing them keeps
# golden files and journal diffs stable.
NS: dict[str, str] = {
    "soap": NS_SOAP,
    "base": NS_BASE,
    "ds": NS_DS,
    "drs": NS_DRS,
    "hm": NS_HM,
    "debts": NS_DEBTS,
    "nsi-common": NS_NSI_COMMON,
    "nsi-base": NS_NSI_BASE,
    "account-base": NS_ACCOUNT_BASE,
    "premises-base": NS_PREMISES_BASE,
    "ind": NS_IND_REG_BASE,
    "org": NS_ORG_REG_BASE,
    "bills": NS_BILLS,
    "bills-base": NS_BILLS_BASE,
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}

BASE_VERSION_ATTR = f"{{{NS_BASE}}}version"
SIGNED_ID = "signed-data-container"


def q(prefix: str, local: str) -> str:
    """Return the Clark-notation name `{namespace}local` for a known prefix."""
    return f"{{{NS[prefix]}}}{local}"


class Service(StrEnum):
    """Async SOAP services used by gisgw."""

    DEBT_REQUESTS = "debt-requests"
    HOUSE_MANAGEMENT = "house-management"
    DEBTS = "debts"
    NSI_COMMON = "nsi-common"
    BILLS = "bills"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """Per-service constants: endpoint, namespace prefix, getStateResult element and its base:version."""

    service: Service
    path: str
    prefix: str
    # base:version of {svc}:getStateResult as the 16.3.0.0 XSD wants it (the stand emits it): drs requires a
    # value without fixing it, hm fixes 11.0.0.1, nsi-common fixes 10.0.1.2, debts makes it optional.
    state_result_version: str | None
    # nsi-common is an anonymous service: the WSDL binds base:ISRequestHeader instead of RequestHeader.
    header: Literal["RequestHeader", "ISRequestHeader"] = "RequestHeader"

    @property
    def namespace(self) -> str:
        """Return the target namespace of the service's types."""
        return NS[self.prefix]

    @property
    def state_result(self) -> str:
        """Return the Clark name of `{svc}:getStateResult`."""
        return q(self.prefix, "getStateResult")


SERVICES: dict[Service, ServiceInfo] = {
    Service.DEBT_REQUESTS: ServiceInfo(
        Service.DEBT_REQUESTS, "/ext-bus-debtreq-service/services/DebtRequestsAsync", "drs", "14.0.0.0"
    ),
    Service.HOUSE_MANAGEMENT: ServiceInfo(
        Service.HOUSE_MANAGEMENT,
        "/ext-bus-home-management-service/services/HomeManagementAsync",
        "hm",
        "11.0.0.1",
    ),
    Service.DEBTS: ServiceInfo(
        Service.DEBTS, "/ext-bus-debt-service/services/DebtAsync", "debts", "15.3.0.0"
    ),
    Service.NSI_COMMON: ServiceInfo(
        Service.NSI_COMMON,
        "/ext-bus-nsi-common-service/services/NsiCommonAsync",
        "nsi-common",
        "10.0.1.2",
        header="ISRequestHeader",
    ),
    # bills fixes getStateResult's base:version to 10.0.1.1.
    Service.BILLS: ServiceInfo(
        Service.BILLS, "/ext-bus-bills-service/services/BillsAsync", "bills", "10.0.1.1"
    ),
}


@functools.cache
def _cached_adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def adapter(tp: Any) -> TypeAdapter[Any]:
    """Return the (cached) pydantic adapter of a request or result type."""
    # A plain wrapper so callers may pass `list[X]` aliases: mypy types functools.cache arguments as Hashable.
    return _cached_adapter(tp)


Kind = Literal["import", "export", "state"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One SOAP operation: where it goes, what it wraps, its base:version, and how to build and read it."""

    name: str
    service: Service
    soap_action: str
    body: str
    """Clark name of the request body element."""
    result: str | None
    """Clark name of the typed result inside getStateResult (None for getState itself)."""
    version: str | None
    version_fixed: bool
    """True where the XSD fixes the value: overriding it would only earn HTTP 400."""
    signed: bool = True
    kind: Kind = "state"
    """import changes data in GIS (resending it blindly could apply it twice); export only reads."""
    request_type: Any = None
    """Type of the request (the builder's argument); pydantic stores it as the exchange's JSON payload."""
    build: Callable[[Any], etree._Element] | None = None
    """Typed request → request body element (protocol limits checked first)."""
    parse: Callable[[etree._Element], object] | None = None
    """getStateResult element → typed result (called when the result element is present)."""
    result_type: Any = None
    """Type of the parsed result, so a stored JSON result turns back into typed objects."""
    encode_request: Callable[[Any], dict[str, Any]] | None = None
    """Custom JSON of the request where pydantic's own would be ambiguous (a union of look-alikes)."""
    decode_request: Callable[[Mapping[str, Any]], Any] | None = None

    @property
    def info(self) -> ServiceInfo:
        """Return the service constants of this operation."""
        return SERVICES[self.service]

    @property
    def path(self) -> str:
        """Return the endpoint path relative to the GIS base URL."""
        return self.info.path

    @property
    def soap_action_header(self) -> str:
        """Return the SOAPAction HTTP header value; GIS expects it quoted."""
        return f'"{self.soap_action}"'

    @property
    def is_import(self) -> bool:
        """Return whether the operation changes data in GIS."""
        return self.kind == "import"

    def encode(self, request: Any) -> dict[str, Any]:
        """Turn the typed request into the JSON payload stored on the exchange row."""
        if self.encode_request is not None:
            return self.encode_request(request)
        data: dict[str, Any] = adapter(type(request)).dump_python(request, mode="json")
        return data

    def decode(self, payload: Mapping[str, Any]) -> Any:
        """Turn a stored JSON payload back into the typed request."""
        if self.decode_request is not None:
            return self.decode_request(payload)
        return adapter(self.request_type).validate_python(payload)

    def build_body(self, payload: Mapping[str, Any]) -> etree._Element:
        """Build the request body element from a stored JSON payload."""
        if self.build is None:
            raise TypeError(f"{self.name} has no request builder")
        return self.build(self.decode(payload))


def declare(
    name: str,
    service: Service,
    body: str,
    result: str,
    *,
    version: str,
    fixed: bool,
    kind: Literal["import", "export"],
    request_type: Any,
    build: Callable[[Any], etree._Element],
    parse: Callable[[etree._Element], object],
    result_type: Any,
    encode: Callable[[Any], dict[str, Any]] | None = None,
    decode: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Operation:
    """Declare a signed operation of `service`; `body` and `result` are local names in its namespace."""
    prefix = SERVICES[service].prefix
    return Operation(
        name,
        service,
        f"urn:{name}",
        q(prefix, body),
        q(prefix, result),
        version,
        fixed,
        kind=kind,
        request_type=request_type,
        build=build,
        parse=parse,
        result_type=result_type,
        encode_request=encode,
        decode_request=decode,
    )


# getState: unsigned, no Id, no version (gis-protocol.md §3, production practice).
GET_STATE: dict[Service, Operation] = {
    svc: Operation("getState", svc, "urn:getState", q("base", "getStateRequest"), None, None, False, False)
    for svc in Service
}


def get_state_operation(service: Service | str) -> Operation:
    """Return the getState operation of a service."""
    return GET_STATE[Service(service)]
