"""Admin API of the stand (`/stand/admin/...`): seed, organisations, certificates, faults, clock, inspect."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from app.gis_client.crypto.keys import GostCryptoError
from app.gis_client.wire.envelope import new_guid
from app.gis_stand import bills
from app.gis_stand.models import AnswerEvent, Cert, Org, PremisesBlock, Subrequest
from app.gis_stand.runtime import StandRuntime, sweep_overdue
from app.gis_stand.seed import SeedSummary, seed
from app.gis_stand.soap import thumbprint


class SeedRequest(BaseModel):
    """Parameters of a seeding run."""

    orgs: int = Field(1, ge=1, le=1000)
    accounts: int = Field(1000, ge=0, le=2_000_000)
    subrequests: int = Field(100, ge=0, le=100_000)
    seed: int = 1
    org_ppa_guid: str | None = None
    cert_pem: str | None = None
    sent_within_days: int = Field(4, ge=0, le=365)
    flats_per_house: int = Field(60, ge=1, le=1000)
    living_houses: int = Field(0, ge=0, le=10000, description="individual houses (detached, terraced)")


class PremisesBlockCreate(BaseModel):
    """A block of generated residential premises (one account each) and their monthly payment documents."""

    org_ppa_guid: str
    premises: int = Field(ge=1, le=5_000_000)
    per_house: int = Field(500, ge=1, le=10_000)
    documents: dict[str, int] = Field(
        default_factory=dict,
        description='"YYYY-MM" → how many of the premises (the first ones) have a payment document then',
    )
    account_kind: str | None = Field(None, description="isUOAccount … isTKOAccount (default: by org kind)")


class PremisesBlockUpdate(BaseModel):
    """New monthly document counts of a block (months omitted stay as they are)."""

    documents: dict[str, int]


class OrgCreate(BaseModel):
    """An organisation (information provider) to register, optionally with its IS certificate."""

    ppa_guid: str | None = None
    name: str = "ООО «Управляющая компания»"
    inn: str | None = None
    cert_pem: str | None = None


class CertCreate(BaseModel):
    """A PEM certificate to register for an organisation."""

    pem: str


class FaultsUpdate(BaseModel):
    """New fault shares (omitted ones stay as they are); `seed` restarts the random sequence."""

    exp001000: float | None = Field(None, ge=0, le=1)
    http503: float | None = Field(None, ge=0, le=1)
    drop: float | None = Field(None, ge=0, le=1)
    slow: float | None = Field(None, ge=0, le=1)
    slow_seconds: float | None = Field(None, ge=0, le=600)
    stuck: float | None = Field(None, ge=0, le=1)
    seed: int | None = None


class RefusalsUpdate(BaseModel):
    """Scripted refusals of importDSRResponses: whole messages carrying a GUID, or single actions."""

    whole_message: list[str] = Field(
        default_factory=list, description="subrequest GUIDs: a message carrying one is refused (FMT001300)"
    )
    per_action: dict[str, str] = Field(
        default_factory=dict, description="subrequest GUID → error code of that action alone"
    )


class ClockUpdate(BaseModel):
    """Move the stand clock: to a moment (`now`), or by days; `frozen` stops it there."""

    now: datetime | None = None
    advance_days: float | None = None
    frozen: bool = False


def build_router(rt: StandRuntime) -> APIRouter:
    """Return the admin routes bound to a stand runtime."""
    router = APIRouter(prefix="/stand/admin", tags=["stand-admin"])

    @router.get("/certificate", response_class=PlainTextResponse)
    async def certificate() -> str:
        """Return the PEM certificate the stand signs getStateResult with."""
        return rt.signer.certificate.pem().decode()

    @router.post("/seed")
    async def seed_data(body: SeedRequest) -> dict[str, Any]:
        """Generate deterministic demo data."""
        summary: SeedSummary = await seed(
            rt.engine,
            orgs=body.orgs,
            accounts=body.accounts,
            subrequests=body.subrequests,
            seed=body.seed,
            org_ppa_guid=body.org_ppa_guid,
            cert_pem=body.cert_pem,
            today=rt.clock.today(),
            sent_within_days=body.sent_within_days,
            flats_per_house=body.flats_per_house,
            living_houses=body.living_houses,
        )
        rt.registered(body.cert_pem)
        return summary.as_dict()

    @router.post("/premises-blocks", status_code=201)
    async def create_premises_block(body: PremisesBlockCreate) -> dict[str, Any]:
        """Describe N premises of an organisation with their payment documents per month (one row)."""
        _check_documents(body.documents)
        async with rt.sessionmaker() as session:
            org = await session.scalar(select(Org).where(Org.ppa_guid == body.org_ppa_guid.lower()))
            if org is None:
                raise HTTPException(404, f"organisation {body.org_ppa_guid} is not registered")
            block = await bills.create_block(
                session,
                org=org,
                premises=body.premises,
                per_house=body.per_house,
                documents=body.documents,
                account_kind=body.account_kind,
            )
            await session.commit()
        return _block_json(block)

    @router.patch("/premises-blocks/{tag}")
    async def update_premises_block(tag: str, body: PremisesBlockUpdate) -> dict[str, Any]:
        """Change how many premises of a block have a payment document in the months given."""
        _check_documents(body.documents)
        async with rt.sessionmaker() as session:
            row = await session.scalar(select(PremisesBlock).where(PremisesBlock.tag == tag.lower()))
            if row is None:
                raise HTTPException(404, f"premises block {tag} not found")
            documents = json.loads(row.documents or "{}")
            documents.update(body.documents)
            row.documents = json.dumps(documents, sort_keys=True)
            await session.commit()
            return _block_json(bills.Block.of(row))

    @router.post("/orgs", status_code=201)
    async def create_org(body: OrgCreate) -> dict[str, Any]:
        """Register an organisation (and its certificate)."""
        async with rt.sessionmaker() as session:
            ppa = (body.ppa_guid or new_guid()).lower()
            org = await session.scalar(select(Org).where(Org.ppa_guid == ppa))
            if org is None:
                org = Org(ppa_guid=ppa, root_guid=new_guid(), name=body.name, inn=body.inn, kind="uo")
                session.add(org)
                await session.flush()
            if body.cert_pem:
                session.add(Cert(org_id=org.id, pem=body.cert_pem, thumbprint=_thumb(body.cert_pem)))
            await session.commit()
            rt.registered(body.cert_pem)
            return {"ppa_guid": org.ppa_guid, "root_guid": org.root_guid, "name": org.name}

    @router.post("/orgs/{ppa_guid}/certificates", status_code=201)
    async def add_cert(ppa_guid: str, body: CertCreate) -> dict[str, Any]:
        """Register another certificate of the organisation's information system."""
        async with rt.sessionmaker() as session:
            org = await session.scalar(select(Org).where(Org.ppa_guid == ppa_guid.lower()))
            if org is None:
                raise HTTPException(404, "organisation not found")
            thumb = _thumb(body.pem)
            session.add(Cert(org_id=org.id, pem=body.pem, thumbprint=thumb))
            await session.commit()
            rt.registered(body.pem)
            return {"ppa_guid": org.ppa_guid, "thumbprint": thumb}

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        """Return the fault shares and what was injected so far."""
        return rt.faults.snapshot()

    @router.put("/faults")
    async def set_faults(body: FaultsUpdate) -> dict[str, Any]:
        """Change the fault shares (resets the counters and the random sequence)."""
        try:
            rt.faults.update(**body.model_dump(exclude_none=True))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return rt.faults.snapshot()

    @router.post("/subrequests/{guid}/withdraw")
    async def withdraw_subrequest(guid: str) -> dict[str, Any]:
        """Withdraw a subrequest's request as its requester (social protection) would."""
        rt.withdrawn.add(guid.lower())
        return {"withdrawn": sorted(rt.withdrawn)}

    @router.put("/refusals")
    async def set_refusals(body: RefusalsUpdate) -> dict[str, Any]:
        """Script GIS refusing whole importDSRResponses messages or single actions (replaces the script)."""
        rt.refuse_messages_with = {g.lower() for g in body.whole_message}
        rt.refuse_actions = {
            g.lower(): (code, "the answer was refused by GIS (scripted)")
            for g, code in body.per_action.items()
        }
        rt.refused_messages = 0
        return await get_refusals()

    @router.get("/refusals")
    async def get_refusals() -> dict[str, Any]:
        """Return the scripted refusals and how many messages were refused as a whole."""
        return {
            "whole_message": sorted(rt.refuse_messages_with),
            "per_action": {g: c for g, (c, _) in rt.refuse_actions.items()},
            "refused_messages": rt.refused_messages,
        }

    @router.get("/clock")
    async def get_clock() -> dict[str, Any]:
        """Return the stand's time."""
        return {
            "now": rt.clock.now().isoformat(),
            "offset_seconds": rt.clock.offset_seconds,
            "frozen": rt.clock.frozen,
        }

    @router.post("/clock")
    async def set_clock(body: ClockUpdate) -> dict[str, Any]:
        """Move the stand's clock (deadlines, AutoGenerated answers follow it)."""
        if body.now is not None:
            rt.clock.set(body.now, frozen=body.frozen)
        if body.advance_days is not None:
            rt.clock.advance(timedelta(days=body.advance_days))
        return await get_clock()

    @router.delete("/clock")
    async def reset_clock() -> dict[str, Any]:
        """Return the clock to real time."""
        rt.clock.reset()
        return await get_clock()

    @router.get("/subrequests")
    async def list_subrequests(
        org_ppa_guid: str | None = None,
        status: str | None = None,
        limit: int = Query(100, ge=1, le=10_000),
        offset: int = Query(0, ge=0),
    ) -> list[dict[str, Any]]:
        """List subrequests with their status and deadline (AutoGenerated ones swept first)."""
        async with rt.sessionmaker() as session:
            await sweep_overdue(session, rt.clock.today())
            await session.commit()
            query = select(Subrequest, Org.ppa_guid).join(Org, Org.id == Subrequest.org_id)
            if org_ppa_guid:
                query = query.where(Org.ppa_guid == org_ppa_guid.lower())
            if status:
                query = query.where(Subrequest.response_status == status)
            rows = (await session.execute(query.order_by(Subrequest.id).offset(offset).limit(limit))).all()
            return [_sub_json(s, ppa) for s, ppa in rows]

    @router.get("/subrequests/{guid}")
    async def get_subrequest(guid: str) -> dict[str, Any]:
        """Return one subrequest with its answer and answer history."""
        async with rt.sessionmaker() as session:
            row = (
                await session.execute(
                    select(Subrequest, Org.ppa_guid)
                    .join(Org, Org.id == Subrequest.org_id)
                    .where(Subrequest.guid == guid.lower())
                )
            ).first()
            if row is None:
                raise HTTPException(404, "subrequest not found")
            sub, ppa = row
            events = (
                await session.scalars(
                    select(AnswerEvent).where(AnswerEvent.subrequest_id == sub.id).order_by(AnswerEvent.id)
                )
            ).all()
            data = _sub_json(sub, ppa)
            data["response"] = json.loads(sub.response) if sub.response else None
            data["events"] = [
                {"action": e.action, "at": e.at.isoformat(), "message_guid": e.message_guid,
                 "transport_guid": e.transport_guid, "has_debt": e.has_debt}
                for e in events
            ]  # fmt: skip
            return data

    @router.get("/answer-stats")
    async def answer_stats(org_ppa_guid: str | None = None) -> dict[str, Any]:
        """Count subrequests by status and Send actions applied per subrequest ("answered exactly once")."""
        async with rt.sessionmaker() as session:
            subs = select(Subrequest.id)
            if org_ppa_guid:
                subs = subs.join(Org, Org.id == Subrequest.org_id).where(Org.ppa_guid == org_ppa_guid.lower())
            ids = subs.scalar_subquery()
            by_status = dict(
                (
                    await session.execute(
                        select(Subrequest.response_status, func.count())
                        .where(Subrequest.id.in_(ids))
                        .group_by(Subrequest.response_status)
                    )
                ).all()
            )
            sends = (
                select(AnswerEvent.subrequest_id, func.count().label("n"))
                .where(AnswerEvent.action == "Send", AnswerEvent.subrequest_id.in_(ids))
                .group_by(AnswerEvent.subrequest_id)
                .subquery()
            )
            histogram: dict[int, int] = dict(
                (await session.execute(select(sends.c.n, func.count()).group_by(sends.c.n))).all()
            )
            return {
                "by_status": by_status,
                "subrequests": sum(by_status.values()),
                "send_count_histogram": {str(k): v for k, v in histogram.items()},
                "revokes": await session.scalar(
                    select(func.count()).where(
                        AnswerEvent.action == "Revoke", AnswerEvent.subrequest_id.in_(ids)
                    )
                ),
            }

    @router.post("/reset")
    async def reset() -> dict[str, str]:
        """Drop all stand data and return the clock to real time."""
        await rt.reset()
        return {"status": "empty"}

    return router


def _check_documents(documents: dict[str, int]) -> None:
    for month, count in documents.items():
        try:
            datetime.strptime(month, "%Y-%m")
        except ValueError:
            raise HTTPException(422, f"documents: {month!r} is not a YYYY-MM month") from None
        if count < 0:
            raise HTTPException(422, f"documents: {month} has a negative count")


def _block_json(block: bills.Block) -> dict[str, Any]:
    return {
        "tag": block.tag,
        "premises": block.premises,
        "per_house": block.per_house,
        "account_kind": block.account_kind,
        "documents": block.documents,
        "fias_house_guids": block.fias_guids(),
    }


def _thumb(pem: str) -> str:
    try:
        return thumbprint(pem.encode())
    except (GostCryptoError, ValueError) as exc:
        raise HTTPException(422, f"not a readable GOST certificate: {exc}") from None


def _sub_json(sub: Subrequest, ppa: str) -> dict[str, Any]:
    return {
        "guid": sub.guid,
        "org_ppa_guid": ppa,
        "sent_date": sub.sent_date.isoformat(),
        "response_date": sub.response_date.isoformat(),
        "response_status": sub.response_status,
        "answered_at": sub.answered_at.isoformat() if sub.answered_at else None,
    }
