"""Table of the GIS ZhKKh operations gisgw calls: endpoint, SOAPAction, body/result elements, base:version."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_DRS = "http://dom.gosuslugi.ru/schema/integration/drs/"
NS_HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
NS_DEBTS = "http://dom.gosuslugi.ru/schema/integration/debts/"
NS_NSI_COMMON = "http://dom.gosuslugi.ru/schema/integration/nsi-common/"
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
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One SOAP operation: where to send it, what it wraps and which base:version it carries."""

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


def _op(
    name: str,
    service: Service,
    body: str,
    result: str | None,
    version: str | None,
    *,
    fixed: bool,
    signed: bool = True,
) -> Operation:
    return Operation(name, service, f"urn:{name}", body, result, version, fixed, signed)


# Versions: gis-protocol.md §4 (fixed where the 16.3.0.0 XSD fixes them; otherwise the value production
# clients send).
OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        _op(
            "exportDebtSubrequests",
            Service.DEBT_REQUESTS,
            q("drs", "exportDSRsRequest"),
            q("drs", "exportDSRsResult"),
            "14.0.0.0",
            fixed=False,
        ),
        _op(
            "importResponses",
            Service.DEBT_REQUESTS,
            q("drs", "importDSRResponsesRequest"),
            q("drs", "importResult"),
            "14.0.0.0",
            fixed=True,
        ),
        _op(
            "exportAccountData",
            Service.HOUSE_MANAGEMENT,
            q("hm", "exportAccountRequest"),
            q("hm", "exportAccountResult"),
            "10.0.1.1",
            fixed=True,
        ),
        # Builder, parser and result type: app/gis_client/house_data.py.
        _op(
            "exportHouseData",
            Service.HOUSE_MANAGEMENT,
            q("hm", "exportHouseRequest"),
            q("hm", "exportHouseResult"),
            "15.6.0.1",
            fixed=False,
        ),
        _op(
            "importDebt",
            Service.DEBTS,
            q("debts", "importDebtRequest"),
            q("debts", "ImportResult"),
            "15.3.0.0",
            fixed=True,
        ),
        _op(
            "exportDebt",
            Service.DEBTS,
            q("debts", "exportDebtRequest"),
            q("debts", "ExportDebtResult"),
            "15.3.0.0",
            fixed=False,
        ),
        _op(
            "exportNsiItem",
            Service.NSI_COMMON,
            q("nsi-common", "exportNsiItemRequest"),
            q("nsi-common", "NsiItem"),
            "10.0.1.2",
            fixed=True,
        ),
    )
}

# getState: unsigned, no Id, no version (gis-protocol.md §3, production practice).
GET_STATE: dict[Service, Operation] = {
    svc: Operation("getState", svc, "urn:getState", q("base", "getStateRequest"), None, None, False, False)
    for svc in Service
}


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


def get_state_operation(service: Service | str) -> Operation:
    """Return the getState operation of a service."""
    return GET_STATE[Service(service)]
