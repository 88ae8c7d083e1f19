"""Tables of the debt requests area (filled in by its issue)."""

from __future__ import annotations
