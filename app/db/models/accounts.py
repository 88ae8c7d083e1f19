"""Tables of the accounts area (filled in by its issue)."""

from __future__ import annotations
