"""`gisgw demo` (what `make run` starts): the gateway with the embedded GIS stand and demo data.

The stand is seeded with a management company, its houses, accounts and debt subrequests, and trusts the
gateway's development key; the gateway gets the same organisation, its billing accounts (with a ledger) and a
demo API key, and a first fetch is queued so the inbox and the dashboard fill within seconds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import ApiKey, Operation, Organisation
from app.domain.kernel.access import ALL_SCOPES, SYSTEM, create_key
from app.domain.kernel.calendar import moscow_today
from app.settings import Settings

log = logging.getLogger(__name__)

#: Fixed identifiers, so a rerun of `make run` finds the same demo organisation and key.
DEMO_ORG_PPA_GUID = uuid.UUID("6f1c2d1e-3b7a-4c55-9a1e-0d1e2f3a4b5c")
DEMO_EXECUTOR_GUID = uuid.UUID("0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d")
DEMO_TOKEN = "gk_demo0000_demo-key-for-local-use-only-never-in-production"
DEMO_ACCOUNTS = 600
DEMO_SUBREQUESTS = 80
LEDGER_MONTHS = 24


async def seed_gateway(session: AsyncSession) -> tuple[Organisation, str]:
    """Create (once) the demo organisation and a demo key with every scope; return them."""
    org = await session.scalar(select(Organisation).where(Organisation.ppa_guid == DEMO_ORG_PPA_GUID))
    if org is None:
        org = Organisation(
            name="ООО «УК Демонстрационная»",
            inn="7701000001",
            ogrn="1027700000001",
            org_type="management_company",
            ppa_guid=DEMO_ORG_PPA_GUID,
            executor_guid=DEMO_EXECUTOR_GUID,
            region_code="77",
            address="г. Москва, ул. Примерная, д. 1",
        )
        session.add(org)
        await session.flush()
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == "demo0000"))
    if key is None:
        await create_key(
            session=session, name="demo", scopes=ALL_SCOPES, all_organisations=True, token=DEMO_TOKEN
        )
    return org, DEMO_TOKEN


def _month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    result = []
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
        result.append(first)
    return sorted(result)


#: The demo's address → magistrate's court table (one made-up court per city the stand seeds).
DEMO_COURTS_FILE = "samples/demo-courts.json"


def region_of(address: str) -> str:
    """Return the region code of a stand house address from the stand's own city table."""
    from app.gis_stand.seed import CITIES

    for region, city in CITIES:
        if address.startswith(city) or city.split(", ")[-1] in address:
            return region
    return "77"


def billing_rows(stand_accounts: list[Any], today: date) -> Iterator[dict[str, Any]]:
    """Turn the stand's accounts into billing import rows with a ledger (debtors owe the recent months)."""
    periods = _month_starts(today, LEDGER_MONTHS)
    for acc, house_fias, house_address, premises_number in stand_accounts:
        charge = Decimal(acc.monthly_charge).quantize(Decimal("0.01"))
        unpaid = int(Decimal(acc.debt) // charge) if charge and acc.debt else 0
        ledger = [
            {
                "period": p.isoformat(),
                "charged": str(charge),
                "paid": "0.00" if i >= len(periods) - unpaid else str(charge),
            }
            for i, p in enumerate(periods)
        ]
        yield {
            "account_number": acc.account_number,
            "els": acc.unified_number,
            "zhku_id": acc.service_id,
            "gis_account_guid": acc.guid,
            "opened_on": acc.creation_date.isoformat(),
            "payer": {
                "kind": "person",
                "last_name": acc.surname,
                "first_name": acc.first_name,
                "middle_name": acc.patronymic,
                "birth_date": acc.birth_date.isoformat(),
                "birth_place": "г. Москва",
                "snils": acc.snils,
            },
            "premises": [
                {
                    "fias_house_guid": house_fias,
                    "address": house_address,
                    "region": region_of(house_address),
                    "number": premises_number or "1",
                    "kind": "apartment",
                    "share_percent": "100",
                }
            ],
            "ledger": ledger,
        }


async def open_demo_case(
    session: AsyncSession, organisation_id: uuid.UUID, settings: Settings, today: date
) -> None:
    """Open one court case (with its application package) for the first ready debtor, so the area shows."""
    from app.db.models.accounts import Account as GatewayAccount
    from app.domain.court.packages import create_case_for_accounts
    from app.domain.court.rules import court_rules
    from app.domain.kernel import errors

    rules = court_rules(settings)
    candidates = await session.scalars(
        select(GatewayAccount.id).where(GatewayAccount.organisation_id == organisation_id).limit(200)
    )
    for account_id in candidates.all():
        try:
            async with session.begin_nested():
                await create_case_for_accounts(
                    session=session, principal=SYSTEM, organisation_id=organisation_id,
                    account_ids=[account_id], on_date=today, rules=rules,
                )  # fmt: skip
        except errors.DomainError:
            continue  # not ready (no debt, too small, …): try the next debtor
        log.info("demo: court case opened for account %s", account_id)
        return
    log.warning("demo: no ready debtor for a court case (is the court table configured?)")


#: Monthly monitoring snapshots the demo stores, so the dashboard's ageing and trend charts show.
DEMO_SNAPSHOT_MONTHS = 12


async def store_demo_snapshots(
    session: AsyncSession, organisation_id: uuid.UUID, settings: Settings, today: date
) -> None:
    """Compute the monitoring snapshots of the last complete months from the demo ledger."""
    from app.domain.monitoring.snapshots import compute_snapshot

    month = today.replace(day=1)
    for _ in range(DEMO_SNAPSHOT_MONTHS):
        month = (month - timedelta(days=1)).replace(day=1)
        await compute_snapshot(
            session=session, organisation_id=organisation_id, month=month, settings=settings.monitoring
        )
    log.info("demo: %d monitoring snapshots stored", DEMO_SNAPSHOT_MONTHS)


async def seed_all(settings: Settings) -> str:
    """Seed the stand and the gateway for the demo (idempotent); return the demo API key."""
    from app.domain.accounts.importing import upsert_accounts
    from app.domain.debt_requests.jobs import queue_fetch
    from app.gis_client.crypto.backend import get_backend
    from app.gis_client.runtime import ensure_development_key
    from app.gis_stand.models import Account, House, Org, Premises, StandBase
    from app.gis_stand.seed import seed as seed_stand

    _key_path, cert_path = ensure_development_key(get_backend(settings.signing.crypto_backend))
    today = moscow_today()

    stand_engine = create_engine(settings.stand.database_url)
    try:
        async with stand_engine.begin() as conn:
            await conn.run_sync(StandBase.metadata.create_all)
        async with create_sessionmaker(stand_engine)() as stand:
            org_row = await stand.scalar(select(Org).where(Org.ppa_guid == str(DEMO_ORG_PPA_GUID)))
        if org_row is None:
            summary = await seed_stand(
                stand_engine,
                orgs=1,
                accounts=DEMO_ACCOUNTS,
                subrequests=DEMO_SUBREQUESTS,
                seed=2026,
                org_ppa_guid=str(DEMO_ORG_PPA_GUID),
                cert_pem=cert_path.read_text(),
                today=today,
                debt_share=0.15,
            )
            log.info(
                "demo: stand seeded with %d accounts and %d subrequests",
                summary.accounts,
                summary.subrequests,
            )
        async with create_sessionmaker(stand_engine)() as stand:
            rows = (
                await stand.execute(
                    select(Account, House.fias_guid, House.address, Premises.number)
                    .join(House, House.id == Account.house_id)
                    .join(Org, Org.id == Account.org_id)
                    .outerjoin(Premises, Premises.id == Account.premises_id)
                    .where(Org.ppa_guid == str(DEMO_ORG_PPA_GUID))
                    .order_by(Account.id)
                )
            ).all()
    finally:
        await stand_engine.dispose()

    engine = create_engine(settings.database.url)
    try:
        async with create_sessionmaker(engine)() as session:
            org, token = await seed_gateway(session)
            if not await session.scalar(select(func.count()).select_from(Operation)):
                await upsert_accounts(
                    session=session, organisation_id=org.id, rows=list(billing_rows(list(rows), today))
                )
                await open_demo_case(session, org.id, settings, today)
                await store_demo_snapshots(session, org.id, settings, today)
                await queue_fetch(
                    session=session,
                    principal=SYSTEM,
                    organisation_id=org.id,
                    date_from=today - timedelta(days=60),
                    date_to=today,
                )
            await session.commit()
    finally:
        await engine.dispose()
    return token
