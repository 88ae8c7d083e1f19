"""Administration: API keys and the audit journal (scope `admin`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import MAX_SERIAL_ID, Admin, SessionDep
from app.api.errors import error_responses
from app.domain.kernel import access, audit
from app.domain.kernel.access import Scope

router = APIRouter(prefix="/api/v1", tags=["admin"])


class ApiKeyCreate(BaseModel):
    """A new key: who it is for, its scopes and organisations."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["billing-1c"])
    scopes: list[Scope] = Field(min_length=1, examples=[["read", "answer", "send"]])
    organisation_ids: list[uuid.UUID] = Field(default_factory=list)
    all_organisations: bool = False


class ApiKeyRead(BaseModel):
    """A key as listed (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    all_organisations: bool
    organisation_ids: list[uuid.UUID]
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyRead):
    """The created key with its token, shown this once."""

    token: str = Field(description="the secret; store it now, it is not shown again")


class ApiKeysPage(BaseModel):
    """All keys."""

    items: list[ApiKeyRead]


class AuditEventRead(BaseModel):
    """One audit event."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    key_id: uuid.UUID | None
    actor: str
    action: str
    resource_type: str
    resource_id: str | None
    organisation_id: uuid.UUID | None
    outcome: str
    exchange_id: uuid.UUID | None
    request_id: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    """Audit events, newest first; pass `next_before_id` as `before_id` for the next page."""

    items: list[AuditEventRead]
    next_before_id: int | None


def _key_read(key: Any) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scopes,
        "all_organisations": key.all_organisations,
        "organisation_ids": [link.organisation_id for link in key.organisations],
        "revoked_at": key.revoked_at,
        "created_at": key.created_at,
    }


@router.post(
    "/keys", response_model=ApiKeyCreated, status_code=201, responses=error_responses(401, 403, 404, 422)
)
async def create_api_key(body: ApiKeyCreate, session: SessionDep, principal: Admin) -> ApiKeyCreated:
    """Create an API key; the token is in this answer only (scope `admin`)."""
    created = await access.create_key_as(
        session=session,
        principal=principal,
        name=body.name,
        scopes=body.scopes,
        organisation_ids=body.organisation_ids,
        all_organisations=body.all_organisations,
    )
    key = await access.get_key(session=session, key_id=created.id)
    await audit.record(
        session=session,
        principal=principal,
        action="key.create",
        resource_type="api_key",
        resource_id=key.id,
        details={"scopes": created.scopes},
    )
    return ApiKeyCreated(token=created.token, **_key_read(key))


@router.get("/keys", response_model=ApiKeysPage, status_code=200, responses=error_responses(401, 403))
async def list_api_keys(session: SessionDep, principal: Admin) -> ApiKeysPage:
    """List the API keys of this admin's organisations, without their secrets (scope `admin`)."""
    keys = await access.list_keys(session=session, principal=principal)
    return ApiKeysPage(items=[ApiKeyRead(**_key_read(k)) for k in keys])


@router.delete(
    "/keys/{key_id}", response_model=ApiKeyRead, status_code=200, responses=error_responses(401, 403, 404)
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> ApiKeyRead:
    """Revoke an API key at once (scope `admin`)."""
    key = await access.revoke_key(session=session, key_id=key_id, principal=principal)
    await audit.record(
        session=session, principal=principal, action="key.revoke", resource_type="api_key", resource_id=key.id
    )
    return ApiKeyRead(**_key_read(key))


@router.get(
    "/audit", response_model=AuditPage, status_code=200, responses=error_responses(401, 403, 404, 422)
)
async def list_audit_events(
    session: SessionDep,
    principal: Admin,
    organisation_id: uuid.UUID | None = None,
    action: str | None = Query(None, max_length=100),
    since: datetime | None = None,
    until: datetime | None = None,
    key_id: uuid.UUID | None = None,
    before_id: int | None = Query(None, ge=1, le=MAX_SERIAL_ID),
    cursor: int | None = Query(
        None, ge=1, le=MAX_SERIAL_ID, description="the same as before_id, under the name the other lists use"
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> AuditPage:
    """Read the audit journal: who did what, when, with what outcome (scope `admin`)."""
    events = await audit.list_events(
        session=session,
        organisation_ids=principal.visible_orgs(organisation_id),
        action=action,
        since=since,
        until=until,
        key_id=key_id,
        before_id=before_id if before_id is not None else cursor,
        limit=limit,
    )
    items = [AuditEventRead.model_validate(e) for e in events]
    return AuditPage(items=items, next_before_id=items[-1].id if len(items) == limit else None)
