"""HTTP routes of the court orders area (filled in by its issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["court-orders"])
