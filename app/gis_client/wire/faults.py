"""The envelope level of GIS replies: the Body element and SOAP Faults (for the transport and the parser)."""

from __future__ import annotations

import re
from collections.abc import Collection

from lxml import etree

from app.gis_client.errors import DEFAULT_RETRYABLE_CODES, GisFaultError, GisProtocolError
from app.gis_client.operations import NS_SOAP
from app.gis_client.xmlread import _find, _need, _text

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
