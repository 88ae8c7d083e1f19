"""Parsers of GIS replies at the envelope level: SOAP Fault, Ack, getStateResult (results by declaration)."""

from __future__ import annotations

import re
from collections.abc import Collection

from lxml import etree

from app.gis_client.errors import DEFAULT_RETRYABLE_CODES, GisFaultError, GisProtocolError
from app.gis_client.operations import NS_SOAP, q
from app.gis_client.services import RESULT_PARSERS
from app.gis_client.services.common import Ack, ErrorInfo, StateResult, parse_error_message
from app.gis_client.xmlread import _find, _guid, _need, _req, _text

# GIS writes "Unknown fault occured" for internal errors that pass on a rebuilt resend (gis-protocol.md §8).
_UNKNOWN_FAULT = "unknown fault occured"
_FAULTSTRING_CODE = re.compile(r"^\s*([A-Z]{3}\d{6})\s*:\s*(.*)$", re.S)


# ------------------------------------------------------------------------------------------ envelope level


def body_element(document: etree._Element) -> etree._Element:
    """Return the single Body child of an envelope, or the element itself if it is not an envelope."""
    if document.tag != f"{{{NS_SOAP}}}Envelope":
        return document
    body = _need(document, "soap:Body")
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise GisProtocolError(f"SOAP Body holds {len(children)} elements, expected 1")
    return children[0]


def parse_fault(
    fault: etree._Element, retryable_codes: Collection[str] = DEFAULT_RETRYABLE_CODES
) -> GisFaultError:
    """Turn a soap:Fault into GisFaultError: code from detail/base:Fault/ErrorCode, else the faultstring."""
    faultstring = (_text(fault, "faultstring") or "").strip()
    detail = _find(fault, "detail/base:Fault")
    code, message = "", faultstring
    if detail is not None:
        code = (_text(detail, "base:ErrorCode") or "").strip()
        message = (_text(detail, "base:ErrorMessage") or faultstring).strip()
    if not code:
        match = _FAULTSTRING_CODE.match(faultstring)
        if match:
            code, message = match.group(1), match.group(2).strip()
    retryable = code in retryable_codes or _UNKNOWN_FAULT in faultstring.lower()
    return GisFaultError(code, message, retryable=retryable)


def raise_for_fault(
    document: etree._Element, retryable_codes: Collection[str] = DEFAULT_RETRYABLE_CODES
) -> etree._Element:
    """Return the body element, raising GisFaultError if it is a SOAP Fault."""
    body = body_element(document)
    if body.tag == f"{{{NS_SOAP}}}Fault":
        raise parse_fault(body, retryable_codes)
    return body


def parse_ack(document: etree._Element) -> Ack:
    """Parse base:AckRequest (envelope or element) into (GIS MessageGUID, our MessageGUID)."""
    body = raise_for_fault(document)
    if body.tag != q("base", "AckRequest"):
        raise GisProtocolError(f"expected base:AckRequest, got {body.tag}")
    ack = _need(body, "base:Ack")
    return Ack(_guid(_req(ack, "base:MessageGUID")), _guid(_req(ack, "base:RequesterMessageGUID")))


def error_to_fault(
    error: ErrorInfo, retryable_codes: Collection[str] = DEFAULT_RETRYABLE_CODES
) -> GisFaultError:
    """Turn an ErrorMessage of a finished getState into the same exception a SOAP Fault gives."""
    return GisFaultError(error.code, error.description, retryable=error.code in retryable_codes)


def parse_state(document: etree._Element) -> StateResult:
    """Parse `{svc}:getStateResult` of any service: RequestState + typed result or ErrorMessage."""
    body = raise_for_fault(document)
    if etree.QName(body).localname != "getStateResult":
        raise GisProtocolError(f"expected getStateResult, got {body.tag}")
    state_text = _req(body, "base:RequestState").strip()
    if state_text not in ("1", "2", "3"):
        raise GisProtocolError(f"unknown RequestState {state_text!r}")
    message_guid = _guid(_req(body, "base:MessageGUID"))
    error_el = _find(body, "base:ErrorMessage")
    error = parse_error_message(error_el) if error_el is not None else None
    payload = None if error is not None else _payload(body)
    return StateResult(int(state_text), message_guid, payload=payload, error=error)


def _payload(body: etree._Element) -> object:
    # The declared result element present in getStateResult names the operation whose parser reads it.
    for child in body:
        if isinstance(child.tag, str):
            op = RESULT_PARSERS.get(child.tag)
            if op is not None and op.parse is not None:
                return op.parse(body)
    return None
