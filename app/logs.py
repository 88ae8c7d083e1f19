"""Structured logs: JSON lines with the request id, and a last-line filter that masks personal data."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# SNILS in any common spelling (11 digits, optionally grouped "123-456-789 01"), also as it appears in URLs
# and form bodies ("+" or "%20" for the space, "%2D" for the dash). Code must never log personal data: the
# access log writes parameter names only (app/access_log.py); this filter is a safety net for mistakes, not
# the mechanism (152-ФЗ: a leak is a leak).
_SEP = r"(?:[-\s+]|%20|%2[BbDd])?"
_SNILS_RE = re.compile(rf"(?<!\d)\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{2}}(?!\d)")


# Phone numbers of 11 digits are SNILS-like above; e-mail addresses (accounts' contacts for notices) here.
_EMAIL_RE = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[^\s@\"'<>(),;:]+")


def mask_pii(text: str) -> str:
    """Replace SNILS-like digit groups (and so 11-digit phone numbers) and e-mail addresses with a mask."""
    return _EMAIL_RE.sub("***@***", _SNILS_RE.sub("***********", text))


class ContextFilter(logging.Filter):
    """Add the current request id to every record and mask SNILS-like numbers in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = mask_pii(record.msg)
        return True


class _MaskingJsonFormatter(JsonFormatter):
    """JSON lines whose tracebacks are masked too (an exception's message may quote the input)."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        formatted = super().formatException(ei)
        return mask_pii(formatted if isinstance(formatted, str) else "\n".join(formatted))


class _MaskingFormatter(logging.Formatter):
    """Plain lines whose tracebacks are masked too."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return mask_pii(super().formatException(ei))


def configure_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    """Send all logs to stderr, as JSON lines or as plain text."""
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter
    if json_logs:
        formatter = _MaskingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    else:
        formatter = _MaskingFormatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # uvicorn's access line holds the raw query string (servers turn it off; this catches a server that does
    # not); aiosqlite logs every call with its SQL parameters at DEBUG: both would write personal data.
    logging.getLogger("uvicorn.access").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("aiosqlite").setLevel(max(root.level, logging.INFO))
