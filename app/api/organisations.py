"""Organisations the gateway serves."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.deps import Admin, Reader, SessionDep
from app.api.errors import error_responses
from app.domain.kernel import audit
from app.domain.kernel import organisations as service
from app.domain.kernel.access import require_organisation
from app.domain.kernel.organisations import OrgType

router = APIRouter(prefix="/api/v1/organisations", tags=["organisations"])

OrgId = Annotated[uuid.UUID, Path(description="organisation id")]


class OrganisationCreate(BaseModel):
    """Registration data of an organisation (from its GIS ZhKKh personal cabinet)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500, examples=["ООО «УК Северная»"])
    inn: str = Field(pattern=r"^\d{10}(\d{2})?$", examples=["7701234567"])
    ogrn: str | None = Field(None, pattern=r"^\d{13}(\d{2})?$")
    org_type: OrgType
    ppa_guid: uuid.UUID = Field(description="orgPPAGUID, the information-provider code from the cabinet")
    executor_guid: uuid.UUID | None = Field(None, description="employee GUID that forms debt answers")
    region_code: str | None = Field(None, pattern=r"^\d{2}$", description="region code, e.g. 77")
    address: str | None = Field(None, max_length=1000)
    signing_key_ref: str | None = Field(None, max_length=500, description="which key signs for it")


class OrganisationUpdate(BaseModel):
    """Fields that may change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=500)
    executor_guid: uuid.UUID | None = None
    region_code: str | None = Field(None, pattern=r"^\d{2}$")
    address: str | None = Field(None, max_length=1000)
    signing_key_ref: str | None = Field(None, max_length=500)

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str:
        # Omit `name` to keep it; null would erase a required column (it was a 500 on PostgreSQL).
        if value is None:
            raise ValueError("name cannot be null; omit it to keep the current name")
        return value


class OrganisationRead(BaseModel):
    """An organisation as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    inn: str
    ogrn: str | None
    org_type: str
    ppa_guid: uuid.UUID
    executor_guid: uuid.UUID | None
    region_code: str | None
    address: str | None
    signing_key_ref: str | None
    last_fetch_at: datetime | None
    last_send_at: datetime | None
    created_at: datetime


class OrganisationsPage(BaseModel):
    """All organisations visible to the key."""

    items: list[OrganisationRead]


@router.post(
    "",
    response_model=OrganisationRead,
    status_code=201,
    responses=error_responses(401, 403, 409, 422),
)
async def create_organisation(
    body: OrganisationCreate, session: SessionDep, principal: Admin
) -> OrganisationRead:
    """Register an organisation (scope `admin`)."""
    org = await service.create(session=session, data=body.model_dump())
    await audit.record(
        session=session,
        principal=principal,
        action="organisation.create",
        resource_type="organisation",
        resource_id=org.id,
        organisation_id=org.id,
    )
    return OrganisationRead.model_validate(org)


@router.get("", response_model=OrganisationsPage, status_code=200, responses=error_responses(401, 403))
async def list_organisations(session: SessionDep, principal: Reader) -> OrganisationsPage:
    """List the organisations this key may act for (scope `read`)."""
    orgs = await service.list_visible(session=session, principal=principal)
    return OrganisationsPage(items=[OrganisationRead.model_validate(o) for o in orgs])


@router.get(
    "/{organisation_id}",
    response_model=OrganisationRead,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_organisation(
    organisation_id: OrgId, session: SessionDep, principal: Reader
) -> OrganisationRead:
    """Show one organisation (scope `read`)."""
    org = await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    return OrganisationRead.model_validate(org)


@router.patch(
    "/{organisation_id}",
    response_model=OrganisationRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def update_organisation(
    organisation_id: OrgId, body: OrganisationUpdate, session: SessionDep, principal: Admin
) -> OrganisationRead:
    """Change an organisation's data (scope `admin`)."""
    org = await service.update(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        changes=body.model_dump(exclude_unset=True),
    )
    await audit.record(
        session=session,
        principal=principal,
        action="organisation.update",
        resource_type="organisation",
        resource_id=org.id,
        organisation_id=org.id,
        details={"fields": sorted(body.model_fields_set)},
    )
    return OrganisationRead.model_validate(org)
