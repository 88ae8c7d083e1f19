"""Tables of the exchange area (filled in by its issue)."""

from __future__ import annotations
