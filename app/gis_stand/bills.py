"""bills service on the stand: exportPaymentDocumentData from the seeded accounts and the premises blocks.

Payment documents come from two places, both generated on the fly and never stored:
- the seeded accounts (`stand_accounts`): each has one document a month from its creation month up to the
  month before the stand clock's (a month is billed once it is over);
- premises blocks (`stand_premises_blocks`, seeded with `POST /stand/admin/premises-blocks`): a block
  describes N residential premises in houses of `per_house`, one account each (kind of the organisation's
  type) and, per month, how many of them have a document. Every GUID is derived from the block's tag and the
  premises' index (`<tag>-0000-4000-800K-<index as 12 hex digits>`), so 200,000 premises are one row and
  the answers still carry real-looking, stable identifiers.

GIS reads a month by lists of ≤1000 accounts (there is no "every document of the organisation" export), so
that is how the stand answers: the documents of the listed accounts for the month, INT002012 when none.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.calendar import MOSCOW
from app.gis_client.messages import Accommodation, Account, ErrorInfo, Payer, PaymentDocument
from app.gis_stand import codes
from app.gis_stand.models import Account as AccountRow
from app.gis_stand.models import Message, Org, PremisesBlock
from app.gis_stand.results_builder import build_account, build_payment_document
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.soap import Outcome, Processor, element_text, texts

# The digit after "800" tells what a derived GUID names.
_FIAS, _HOUSE, _PREMISES, _ACCOUNT = "0", "1", "2", "3"
#: Account kind of a block by the organisation type (the gateway's types; GIS's account kinds).
ACCOUNT_KIND_BY_ORG_TYPE = {
    "uo": "isUOAccount",
    "rso": "isRSOAccount",
    "regop_tko": "isTKOAccount",
    "regop_kr": "isCRAccount",
    "rc": "isRCAccount",
}


def derived_guid(tag: str, what: str, index: int) -> str:
    """Return the GUID of object `index` of a block (`what`: fias, house, premises or account digit)."""
    return f"{tag}-0000-4000-800{what}-{index:012x}"


def parse_derived(guid: str, what: str) -> tuple[str, int] | None:
    """Return (tag, index) of a block-derived GUID of kind `what`, or None for any other GUID."""
    g = guid.strip().lower()
    if len(g) != 36 or g[8:23] != f"-0000-4000-800{what}":
        return None
    try:
        return g[:8], int(g[24:], 16)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Block:
    """A premises block read from its row."""

    id: int
    tag: str
    org_id: int
    premises: int
    per_house: int
    account_kind: str
    documents: dict[str, int]
    monthly_charge: Decimal

    @classmethod
    def of(cls, row: PremisesBlock) -> Block:
        """Read a block row."""
        return cls(
            row.id,
            row.tag,
            row.org_id,
            row.premises,
            row.per_house,
            row.account_kind,
            {k: int(v) for k, v in json.loads(row.documents or "{}").items()},
            row.monthly_charge,
        )

    @property
    def houses(self) -> int:
        """Return the number of houses the premises fill."""
        return -(-self.premises // self.per_house)

    def fias_guids(self) -> list[str]:
        """Return the FIAS GUIDs of the block's houses."""
        return [derived_guid(self.tag, _FIAS, h) for h in range(self.houses)]

    def premises_of_house(self, house: int) -> range:
        """Return the premises indexes of a house."""
        return range(house * self.per_house, min(self.premises, (house + 1) * self.per_house))

    def unified_number(self, index: int) -> str:
        """Return the ЕЛС of premises `index`'s account (10 characters)."""
        return f"{self.id % 100:02d}{index:08d}"

    def account(self, index: int) -> Account:
        """Return the account of premises `index` (no personal data: a block's payers are anonymous)."""
        return Account(
            kind=self.account_kind,  # type: ignore[arg-type]
            account_guid=derived_guid(self.tag, _ACCOUNT, index),
            unified_account_number=self.unified_number(index),
            payer=Payer(),
            account_number=f"{self.tag.upper()}-{index}",
            creation_date=datetime.combine(date(2024, 1, 1), time(), MOSCOW),
            total_square=Decimal("50.00"),
            accommodations=(Accommodation("PremisesGUID", derived_guid(self.tag, _PREMISES, index)),),
        )

    def document(self, index: int, year: int, month: int) -> PaymentDocument | None:
        """Return premises `index`'s payment document of a month, or None when none was placed."""
        if index >= self.premises or index >= self.documents.get(f"{year:04d}-{month:02d}", 0):
            return None
        return PaymentDocument(
            account_guid=derived_guid(self.tag, _ACCOUNT, index),
            payment_document_id=f"{self.tag[:6]}{year % 100:02d}{month:02d}{index:08d}",
            number=f"{self.tag.upper()}-{year:04d}{month:02d}-{index}",
            year=year,
            month=month,
            total_payable=self.monthly_charge,
            account_number=f"{self.tag.upper()}-{index}",
        )


async def create_block(
    session: AsyncSession,
    *,
    org: Org,
    premises: int,
    per_house: int,
    documents: dict[str, int],
    account_kind: str | None = None,
) -> Block:
    """Describe a block of premises of `org` with its monthly payment documents (one row)."""
    row = PremisesBlock(
        tag=secrets.token_hex(4),
        org_id=org.id,
        premises=premises,
        per_house=per_house,
        account_kind=account_kind or ACCOUNT_KIND_BY_ORG_TYPE.get(org.kind, "isUOAccount"),
        documents=json.dumps(documents, sort_keys=True),
        monthly_charge=Decimal("2500.00"),
    )
    session.add(row)
    await session.flush()
    return Block.of(row)


async def blocks_by_tag(session: AsyncSession, org_id: int, tags: Iterable[str]) -> dict[str, Block]:
    """Return the organisation's blocks among `tags`."""
    wanted = sorted(set(tags))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(PremisesBlock).where(PremisesBlock.org_id == org_id, PremisesBlock.tag.in_(wanted))
    )
    return {r.tag: Block.of(r) for r in rows}


async def block_house_accounts(session: AsyncSession, org: Org, fias: str) -> list[etree._Element] | None:
    """Return exportAccountResult elements of a block house, or None when `fias` is no block's house."""
    parsed = parse_derived(fias, _FIAS)
    if parsed is None:
        return None
    tag, house = parsed
    block = (await blocks_by_tag(session, org.id, [tag])).get(tag)
    if block is None or house >= block.houses:
        return None
    return [build_account(block.account(i)) for i in block.premises_of_house(house)]


async def block_accounts(session: AsyncSession, org: Org, guids: Iterable[str]) -> list[etree._Element]:
    """Return exportAccountResult elements of the block accounts among `guids`."""
    indexes = _by_tag(guids, _ACCOUNT)
    blocks = await blocks_by_tag(session, org.id, indexes)
    return [
        build_account(blocks[tag].account(i))
        for tag, found in indexes.items()
        if tag in blocks
        for i in found
        if i < blocks[tag].premises
    ]


def _by_tag(guids: Iterable[str], what: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for g in guids:
        parsed = parse_derived(g, what)
        if parsed is not None:
            out.setdefault(parsed[0], []).append(parsed[1])
    return out


def _months_billed(created: date, today: date) -> Iterator[tuple[int, int]]:
    year, month = created.year, created.month
    while (year, month) < (today.year, today.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def seeded_document(row: AccountRow, year: int, month: int, today: date) -> PaymentDocument | None:
    """Return a seeded account's document of a month: one a month from its creation month, once billed."""
    if (year, month) not in set(_months_billed(row.creation_date, today)):
        return None
    return PaymentDocument(
        account_guid=row.guid,
        payment_document_id=f"{row.id:012d}{year:04d}{month:02d}",
        number=f"{row.account_number}-{year:04d}{month:02d}",
        year=year,
        month=month,
        total_payable=row.monthly_charge,
        account_number=row.account_number,
    )


async def export_payment_documents(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Export the organisation's payment documents of a month for ≤1000 accounts (or by document ids)."""
    del message
    year_text, month_text = element_text(body, "base:Year"), element_text(body, "base:Month")
    if year_text is None or month_text is None:
        # By PaymentDocumentID: ids of blocks carry tag, month and index; seeded ones the account row id.
        return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")
    year, month = int(year_text), int(month_text)
    today = rt.clock.today()
    found: list[PaymentDocument] = []
    account_guids = [g.lower() for g in texts(body, "bills:AccountGUID")]
    by_tag = _by_tag(account_guids, _ACCOUNT)
    blocks = await blocks_by_tag(session, org.id, by_tag)
    for tag, indexes in by_tag.items():
        block = blocks.get(tag)
        if block is not None:
            found.extend(d for i in indexes if (d := block.document(i, year, month)) is not None)
    query = select(AccountRow).where(AccountRow.org_id == org.id)
    plain = [g for g in account_guids if parse_derived(g, _ACCOUNT) is None]
    if plain:
        query = query.where(AccountRow.guid.in_(plain))
    elif numbers := texts(body, "account-base:UnifiedAccountNumber"):
        query = query.where(AccountRow.unified_number.in_(numbers))
    elif service_ids := texts(body, "account-base:ServiceID"):
        query = query.where(AccountRow.service_id.in_(service_ids))
    else:
        query = query.where(AccountRow.id.is_(None))
    for row in (await session.scalars(query.order_by(AccountRow.id))).all():
        doc = seeded_document(row, year, month, today)
        if doc is not None:
            found.append(doc)
    if not found:
        return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")
    return [build_payment_document(d) for d in found]


#: The operations this module answers; the stand app lists them.
PROCESSORS: dict[str, Processor] = {"exportPaymentDocumentData": export_payment_documents}
