"""Organisations served by the gateway (a settlement centre serves many)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal, require_organisation

OrgType = Literal[
    "management_company",  # управляющая организация
    "resource_supplier",  # РСО
    "settlement_centre",  # расчётный центр
    "capital_repair_operator",  # региональный оператор капремонта
    "waste_operator",  # региональный оператор ТКО
]
ORG_TYPES: tuple[str, ...] = get_args(OrgType)


async def create(*, session: AsyncSession, data: dict[str, Any]) -> Organisation:
    """Register an organisation; its orgPPAGUID must be unique."""
    org = Organisation(**data)
    session.add(org)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise d.ConflictError(
            f"An organisation with orgPPAGUID {data.get('ppa_guid')} already exists.",
            errors=[d.FieldProblem("body.ppa_guid", "unique", "already registered")],
        ) from exc
    return org


async def list_visible(*, session: AsyncSession, principal: Principal) -> Sequence[Organisation]:
    """List the organisations the caller's key is bound to."""
    stmt = select(Organisation).order_by(Organisation.name, Organisation.id)
    orgs = principal.visible_orgs()
    if orgs is not None:
        stmt = stmt.where(Organisation.id.in_(orgs))
    return (await session.scalars(stmt)).all()


async def update(
    *, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, changes: dict[str, Any]
) -> Organisation:
    """Change an organisation's registration data."""
    org = await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    for name, value in changes.items():
        setattr(org, name, value)
    await session.flush()
    return org
