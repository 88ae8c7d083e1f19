"""Parsers of GIS replies: Ack and getStateResult (typed results by the operations' declarations).

The envelope level (Body, SOAP Fault) is `wire/faults.py`; it is re-exported here for callers.
"""

from __future__ import annotations

from collections.abc import Collection

from lxml import etree

from app.gis_client.errors import DEFAULT_RETRYABLE_CODES, PAGE_RETRY_MARK, GisFaultError, GisProtocolError

__all__ = ["body_element", "error_to_fault", "parse_ack", "parse_fault", "parse_state", "raise_for_fault"]
from app.gis_client.operations import NS_SOAP, q
from app.gis_client.services import RESULT_PARSERS
from app.gis_client.services.common import Ack, ErrorInfo, StateResult, parse_error_message
from app.gis_client.wire.faults import body_element, parse_fault
from app.gis_client.xmlread import _find, _guid, _need, _req


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
    retryable = error.code in retryable_codes or PAGE_RETRY_MARK in error.description.lower()
    return GisFaultError(error.code, error.description, retryable=retryable)


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
