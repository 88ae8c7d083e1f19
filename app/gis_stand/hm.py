"""house-management service: exportAccountData by FIAS house, AccountGUID, ЕЛС or ЖКУ id (no paging)."""

from __future__ import annotations

from datetime import datetime, time

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.calendar import MOSCOW
from app.gis_client.messages import Accommodation, Account, ErrorInfo, IndividualPayer, Payer
from app.gis_stand import codes
from app.gis_stand.bills import block_accounts, block_house_accounts
from app.gis_stand.models import Account as AccountRow
from app.gis_stand.models import House, Message, Org, Premises
from app.gis_stand.results_builder import build_account
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.soap import Outcome, Processor, element_text, texts


def to_account(row: AccountRow, house: House, premises: Premises | None) -> Account:
    """Convert a stand account row into the exportAccountResult dataclass."""
    accommodation = (
        Accommodation("PremisesGUID", premises.guid, share_percent=None)
        if premises is not None
        else Accommodation("FIASHouseGuid", house.fias_guid)
    )
    return Account(
        kind=row.kind,  # type: ignore[arg-type]
        account_guid=row.guid,
        unified_account_number=row.unified_number,
        service_id=row.service_id,
        account_number=row.account_number,
        creation_date=datetime.combine(row.creation_date, time(), MOSCOW),
        living_persons_number=row.living_persons,
        total_square=row.total_square,
        payer=Payer(
            individual=IndividualPayer(
                surname=row.surname,
                first_name=row.first_name,
                patronymic=row.patronymic,
                sex=row.sex,  # type: ignore[arg-type]
                date_of_birth=row.birth_date,
                snils=row.snils,
            )
        ),
        accommodations=(accommodation,),
    )


async def export_accounts(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Export the organisation's accounts matching one selector; INT002000 unknown house, INT002012 none."""
    del rt, message
    rows_of_house = (
        select(AccountRow, House, Premises)
        .join(House, House.id == AccountRow.house_id)
        .outerjoin(Premises, Premises.id == AccountRow.premises_id)
    )
    query = rows_of_house.where(AccountRow.org_id == org.id)
    fias = element_text(body, "hm:FIASHouseGuid")
    if fias:
        house = await session.scalar(select(House.id).where(House.fias_guid == fias.lower()))
        if house is None:
            generated = await block_house_accounts(session, org, fias)
            if generated:
                return generated
            # GIS answers a house missing from its registry with INT002000, an empty result (§8).
            return ErrorInfo(codes.VALUE_NOT_IN_REGISTRY, f"Дом с ФИАС {fias} не найден в реестре")
        # The house's accounts through the house index, the organisation checked on the rows: with the
        # organisation in the WHERE, SQLite's planner walks the organisation's index instead (every account of
        # the organisation for every house asked, which made a whole sync's cost grow with its square).
        in_house = rows_of_house.where(House.fias_guid == fias.lower()).order_by(AccountRow.id)
        ours = [row for row in await session.execute(in_house) if row[0].org_id == org.id]
        if not ours:
            return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")
        return [build_account(to_account(*row)) for row in ours]
    elif guids := texts(body, "hm:AccountGUID"):
        query = query.where(AccountRow.guid.in_([g.lower() for g in guids]))
        generated = await block_accounts(session, org, guids)
        if generated:
            rows = (await session.execute(query.order_by(AccountRow.id))).all()
            return [build_account(to_account(*row)) for row in rows] + generated
    elif numbers := texts(body, "account-base:UnifiedAccountNumber"):
        query = query.where(AccountRow.unified_number.in_(numbers))
    else:
        query = query.where(AccountRow.service_id.in_(texts(body, "account-base:ServiceID")))
    rows = (await session.execute(query.order_by(AccountRow.id))).all()
    if not rows:
        return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")
    return [build_account(to_account(*row)) for row in rows]


#: The operations this module answers; the stand app lists them.
PROCESSORS: dict[str, Processor] = {"exportAccountData": export_accounts}
