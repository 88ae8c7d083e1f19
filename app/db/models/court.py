"""Tables of the court area (filled in by its issue)."""

from __future__ import annotations
