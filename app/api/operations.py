"""Long-running operations: poll them after a 202."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from app.api.deps import Reader, SessionDep
from app.api.errors import error_responses
from app.domain.kernel import operations as service

router = APIRouter(prefix="/api/v1/operations", tags=["operations"])


class OperationRead(BaseModel):
    """A queued, running or finished job."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    organisation_id: uuid.UUID | None
    status: str
    progress_done: int
    progress_total: int | None
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@router.get(
    "/{operation_id}", response_model=OperationRead, status_code=200, responses=error_responses(401, 403, 404)
)
async def get_operation(operation_id: uuid.UUID, session: SessionDep, principal: Reader) -> OperationRead:
    """Show an operation's status, progress and result (scope `read`)."""
    op = await service.get_or_raise(session=session, principal=principal, operation_id=operation_id)
    return OperationRead.model_validate(op)
