"""The SOAP side of the stand: read, parse, validate, authenticate, accept (Ack) and answer getState."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from app.db.base import utcnow
from app.gis_client.crypto.keys import GostCryptoError, load_certificate
from app.gis_client.crypto.xmldsig import CERT_NOT_VALID_PREFIX, sign_element_sync, verify_tree
from app.gis_client.errors import GisSchemaError
from app.gis_client.messages import ErrorInfo
from app.gis_client.operations import (
    BASE_VERSION_ATTR,
    NS,
    NS_SOAP,
    SIGNED_ID,
    Operation,
    Service,
    get_state_operation,
)
from app.gis_client.services import OPERATIONS
from app.gis_client.wire.envelope import new_guid
from app.gis_client.wire.safexml import XmlParseError, parse_xml
from app.gis_stand import codes
from app.gis_stand.models import Cert, Message, Org
from app.gis_stand.results_builder import build_ack, build_fault, build_state_result
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.wire import restamp, serialize_gis, to_gis_layout

log = logging.getLogger(__name__)

#: Values GIS accepts where the XSD does not fix one (annotations of the 16.3.0.0 XSD, gis-protocol.md §4).
ALLOWED_VERSIONS: dict[str, frozenset[str]] = {
    "exportDebtSubrequests": frozenset({"13.1.10.1", "14.0.0.0", "15.3.0.0"}),
    "exportDebt": frozenset({"13.3.1.0", "15.3.0.0"}),
}

#: What a processor returns: payload elements of getStateResult, or an ErrorMessage.
Outcome = list[etree._Element] | ErrorInfo
Processor = Callable[[StandRuntime, AsyncSession, Message, Org, etree._Element], Awaitable[Outcome]]
#: Synchronous checks beyond the XSD (documented limits) run before the Ack; raise SoapFault.
Precheck = Callable[[StandRuntime, etree._Element], None]


class SoapFault(Exception):
    """A request refused synchronously with a GIS-style SOAP Fault."""

    def __init__(self, code: str, message: str, *, status: int = 500, client: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.client = client


def xml_response(data: bytes, status: int = 200) -> Response:
    """Return serialised envelope bytes as text/xml."""
    return Response(data, status_code=status, media_type="text/xml; charset=utf-8")


def gis_fault(code: str, message: str) -> bytes:
    """Return a SOAP Fault as GIS writes it: `env:Server`, "CODE: message", detail/ns4:Fault (§16)."""
    return serialize_gis(to_gis_layout(build_fault(code, message, faultcode="env:Server"), None))


def fault_response(fault: SoapFault) -> Response:
    """Return the SOAP Fault of a refusal (HTTP 400 for format errors, 500 otherwise)."""
    # GIS answers faultcode env:Server for every refusal seen (§16), client errors included.
    return xml_response(gis_fault(fault.code, fault.message), fault.status)


def format_fault(message: str) -> SoapFault:
    """Return the FMT001300 Fault GIS answers to malformed, schema-invalid or over-limit requests."""
    return SoapFault(codes.FORMAT, message, status=400, client=True)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed, validated request."""

    raw: bytes
    root: etree._Element
    body: etree._Element
    org_ppa_guid: str
    message_guid: str


async def read_body(request: Request, limit: int) -> bytes:
    """Read the request body, refusing more than `limit` bytes without buffering them."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise format_fault(f"message larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # A caller that timed out or died mid-message (a gateway replica killed mid-send): an ordinary refusal
        # nobody will read, not an unhandled exception with a traceback in the stand's log.
        raise format_fault("the client disconnected before the message was complete") from None
    return b"".join(chunks)


def parse_envelope(rt: StandRuntime, raw: bytes) -> Envelope:
    """Parse and schema-validate a SOAP 1.1 request; return its body element and header values."""
    try:
        root = parse_xml(raw, max_bytes=rt.config.max_body_bytes)
        # RequestHeader and the body only: GIS accepts foreign header blocks (WCF's Action, §16).
        rt.schemas.validate_envelope(root, foreign_headers="ignore")
    except XmlParseError as exc:
        raise format_fault(f"invalid XML: {exc.message}") from None
    except GisSchemaError as exc:
        raise format_fault(f"schema violation: {exc}") from None
    header = root.find("soap:Header/base:RequestHeader", NS)
    anonymous = root.find("soap:Header/base:ISRequestHeader", NS)
    if header is None and anonymous is not None:
        # nsi-common binds base:ISRequestHeader: no organisation, the IS is known by its certificate.
        header = anonymous
        ppa = ""
    elif header is None:
        raise format_fault("base:RequestHeader is required")
    else:
        ppa = (header.findtext("base:orgPPAGUID", namespaces=NS) or "").strip()
        if not ppa:
            raise format_fault("base:orgPPAGUID is required")
    message_guid = (header.findtext("base:MessageGUID", namespaces=NS) or "").strip().lower()
    body = root.find("soap:Body", NS)
    assert body is not None  # validate_envelope checked the frame
    return Envelope(raw, root, body[0], ppa.lower(), message_guid)


def operation_for(service: Service, soap_action: str | None, body: etree._Element) -> Operation:
    """Match the SOAPAction header and the body element to an operation of the service."""
    action = (soap_action or "").strip().strip('"')
    if action == "urn:getState":
        op = get_state_operation(service)
    else:
        op = next((o for o in OPERATIONS.values() if o.service == service and o.soap_action == action), None)  # type: ignore[assignment]
        if op is None:
            raise format_fault(f"SOAPAction {action!r} is not an operation of {service.value}")
    if body.tag != op.body:
        raise format_fault(f"SOAPAction {action} expects {etree.QName(op.body).localname} in the Body")
    return op


async def find_org(rt: StandRuntime, session: AsyncSession, ppa_guid: str) -> Org:
    """Return the organisation of orgPPAGUID (registering it on the fly when any signature is trusted)."""
    org = await session.scalar(select(Org).where(Org.ppa_guid == ppa_guid))
    if org is not None:
        return org
    if not rt.config.trust_any_signature:
        raise SoapFault(codes.UNKNOWN_ORG, f"organisation {ppa_guid} is not registered in GIS ZhKKh")
    org = Org(ppa_guid=ppa_guid, root_guid=new_guid(), name=f"Организация {ppa_guid[:8]}", kind="uo")
    session.add(org)
    await session.flush()
    return org


async def check_signature(rt: StandRuntime, session: AsyncSession, env: Envelope, org: Org) -> None:
    """Verify the enveloped XAdES signature of the body against the organisation's certificates."""
    signature = env.body.find("ds:Signature", NS)
    if signature is None or env.body.index(signature) != 0:
        raise SoapFault(codes.BAD_SIGNATURE, "the body element must carry ds:Signature as its first child")
    body_id = env.body.get("Id")
    first_ref = signature.find("ds:SignedInfo/ds:Reference", NS)
    # Signature wrapping: the checked reference must be this body element, not some other Id in the message.
    if body_id is None or first_ref is None or first_ref.get("URI") != f"#{body_id}":
        raise SoapFault(codes.BAD_SIGNATURE, f"the signature must reference the body element (#{SIGNED_ID})")
    pems = list((await session.scalars(select(Cert.pem).where(Cert.org_id == org.id))).all())
    if not pems and not rt.config.trust_any_signature:
        raise SoapFault(codes.ACCESS_DENIED, "no certificate of the information system is registered")
    trusted = [p.encode() for p in pems] if pems else None
    try:
        # The tree parsed from the received bytes, unchanged since (validation and lookups only read it).
        report = verify_tree(env.root, trusted_certs=trusted, backend=rt.backend)
    except (GostCryptoError, GisSchemaError) as exc:
        raise SoapFault(codes.BAD_SIGNATURE, f"signature cannot be checked: {exc}") from None
    failed = report.failed()
    trust = report.check("certificate-trust")
    if trust is not None and not trust.ok:
        if trust.reason.startswith(CERT_NOT_VALID_PREFIX):
            raise SoapFault(codes.CERT_NOT_VALID, f"the signing certificate is not valid now: {trust.reason}")
        raise SoapFault(codes.ACCESS_DENIED, "the signing certificate is not registered for the organisation")
    if failed:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in failed)
        raise SoapFault(codes.BAD_SIGNATURE, f"signature is invalid ({reasons})")


def check_version(op: Operation, body: etree._Element) -> None:
    """Refuse a base:version GIS does not serve for this operation (the fixed ones the XSD check covers)."""
    allowed = ALLOWED_VERSIONS.get(op.name)
    version = body.get(BASE_VERSION_ATTR)
    if allowed is not None and version not in allowed:
        raise format_fault(
            f"base:version {version!r} is not supported by {op.name}; use one of {', '.join(sorted(allowed))}"
        )


async def org_of_signer(session: AsyncSession, env: Envelope) -> Org:
    """Return the organisation whose registered certificate signed an anonymous (ISRequestHeader) request."""
    b64 = env.body.findtext("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
    if not b64:
        raise SoapFault(codes.BAD_SIGNATURE, "the signature carries no certificate")
    pem = b"-----BEGIN CERTIFICATE-----\n" + "".join(b64.split()).encode() + b"\n-----END CERTIFICATE-----\n"
    try:
        thumb = thumbprint(pem)
    except (GostCryptoError, ValueError):
        raise SoapFault(codes.BAD_SIGNATURE, "the signing certificate cannot be read") from None
    org = await session.scalar(select(Org).join(Cert, Cert.org_id == Org.id).where(Cert.thumbprint == thumb))
    if org is None:
        raise SoapFault(codes.ACCESS_DENIED, "the signing certificate is not registered in GIS ZhKKh")
    return org


async def org_of_message(session: AsyncSession, service: Service, env: Envelope) -> Org:
    """Return the organisation of an anonymous service's message named by an (unsigned) getState."""
    guid = (env.body.findtext("base:MessageGUID", namespaces=NS) or "").strip().lower()
    org = await session.scalar(
        select(Org)
        .join(Message, Message.org_id == Org.id)
        .where(Message.guid == guid, Message.service == service.value)
    )
    if org is None:
        raise SoapFault(codes.REQUEST_NOT_FOUND, f"request {guid} not found")
    return org


def thumbprint(pem: bytes) -> str:
    """Return the SHA-1 thumbprint of a certificate, as GIS identifies the IS by it."""
    der = load_certificate(pem).der
    return hashlib.sha1(der).hexdigest()  # noqa: S324 - an identifier, not a security digest


async def accept(
    rt: StandRuntime,
    service: Service,
    request: Request,
    prechecks: dict[str, Precheck],
    processors: Mapping[str, Processor],
) -> Response:
    """Handle one POST to a service endpoint: an Ack for a valid request, getStateResult for getState."""
    try:
        raw = await read_body(request, rt.config.max_body_bytes)
        env = parse_envelope(rt, raw)
        op = operation_for(service, request.headers.get("soapaction"), env.body)
        async with rt.sessionmaker() as session:
            if env.org_ppa_guid:
                org = await find_org(rt, session, env.org_ppa_guid)
            elif op.name == "getState":
                org = await org_of_message(session, service, env)
            else:
                org = await org_of_signer(session, env)
            if op.name == "getState":
                response = await get_state(rt, session, service, env, org, processors)
                await session.commit()
                return response
            check_version(op, env.body)
            await check_signature(rt, session, env, org)
            precheck = prechecks.get(op.name)
            if precheck is not None:
                precheck(rt, env.body)
            message = Message(
                guid=new_guid(),
                requester_guid=env.message_guid,
                org_id=org.id,
                service=service.value,
                operation=op.name,
                received_at=utcnow(),
                stuck=rt.faults.stuck(),
                request_xml=raw,
            )
            session.add(message)
            try:
                await session.commit()
            except IntegrityError:
                raise SoapFault(
                    codes.DUPLICATE_MESSAGE,
                    f"MessageGUID {env.message_guid} was already used; build a new message",
                    status=400,
                    client=True,
                ) from None
            ack = build_ack(message.guid, env.message_guid, message_guid=env.message_guid)
            return xml_response(serialize_gis(to_gis_layout(ack, service)))
    except SoapFault as fault:
        log.info("stand refused a %s call: %s", service.value, fault.code)
        return fault_response(fault)


def _state_of(rt: StandRuntime, message: Message) -> int:
    if message.result_xml is not None:
        return 3
    if message.stuck:
        return 2
    first, second = rt.config.state_delays
    elapsed = utcnow() - message.received_at
    if elapsed < timedelta(seconds=first):
        return 1
    if elapsed < timedelta(seconds=first + second):
        return 2
    return 3


async def get_state(
    rt: StandRuntime,
    session: AsyncSession,
    service: Service,
    env: Envelope,
    org: Org,
    processors: Mapping[str, Processor],
) -> Response:
    """Answer getState: RequestState 1 → 2 → 3 by the configured delays, the result produced once."""
    guid = (env.body.findtext("base:MessageGUID", namespaces=NS) or "").strip().lower()
    message = await session.scalar(
        select(Message).where(
            Message.guid == guid, Message.org_id == org.id, Message.service == service.value
        )
    )
    if message is None:
        raise SoapFault(codes.REQUEST_NOT_FOUND, f"request {guid} not found")
    state = _state_of(rt, message)
    if state < 3:
        document = build_state_result(service, state, message.guid, response_message_guid=env.message_guid)
        return xml_response(await sign_result(rt, service, document))
    if message.result_xml is None:
        async with rt.process_lock:
            await session.refresh(message)
            if message.result_xml is None:
                message.result_xml = await process(rt, session, message, org, processors)
                message.processed_at = utcnow()
                await session.flush()
    # Produced and signed once; each answer echoes its own requester's MessageGUID and Date (§16).
    return xml_response(restamp(message.result_xml, env.message_guid))


async def process(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, processors: Mapping[str, Processor]
) -> bytes:
    """Run the operation of an accepted message and return its signed getStateResult bytes."""
    root = parse_xml(message.request_xml, max_bytes=rt.config.max_body_bytes)
    body = root.find("soap:Body", NS)
    assert body is not None
    processor = processors[message.operation]
    outcome = await processor(rt, session, message, org, body[0])
    service = Service(message.service)
    if isinstance(outcome, ErrorInfo):
        document = build_state_result(service, 3, message.guid, error=outcome)
    else:
        document = build_state_result(service, 3, message.guid, outcome)
    return await sign_result(rt, service, document)


async def sign_result(rt: StandRuntime, service: Service, document: etree._Element) -> bytes:
    """Re-render a getStateResult envelope in GIS's layout, validate (optionally), sign and serialise it."""
    gis = to_gis_layout(document, service)
    body = gis.find(f"{{{NS_SOAP}}}Body")
    assert body is not None
    result = body[0]
    if rt.config.validate_results:
        rt.schemas.validate(result)
    sign_element_sync(gis, result, rt.signer.sign_digest_sync, rt.signer.certificate, backend=rt.backend)
    return serialize_gis(gis)


def element_text(el: etree._Element, path: str) -> str | None:
    """Return stripped text at a prefixed path, or None."""
    value = el.findtext(path, namespaces=NS)
    return value.strip() if value is not None else None


def texts(el: etree._Element, path: str) -> list[str]:
    """Return the stripped texts of every match of a prefixed path."""
    return [(e.text or "").strip() for e in el.findall(path, NS)]
