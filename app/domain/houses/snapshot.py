"""Pure parts of the house-data sync: snapshot rows from GIS answers, payer hashes, month-to-month changes.

No I/O here, so the rules can be tested exhaustively. A snapshot of one house in one month is its premises
(by PremisesGUID) and its accounts (by AccountGUID); `diff_house` compares two snapshots of the same house.
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Literal

from app.domain.accounts.rows import fold, premises_norm
from app.gis_client.messages import Account, HouseData

ChangeKind = Literal[
    "premises_added",
    "premises_removed",
    "area_changed",
    "cadastral_number_changed",
    "account_opened",
    "account_closed",
    "payer_changed",
]
CHANGE_KINDS: tuple[ChangeKind, ...] = (
    "premises_added",
    "premises_removed",
    "area_changed",
    "cadastral_number_changed",
    "account_opened",
    "account_closed",
    "payer_changed",
)

#: GIS premises kind → the billing import's premises kind (app.db.models.accounts.PREMISES_KINDS).
BILLING_KINDS = {
    "residential": "apartment",
    "non_residential": "non_residential",
    "house_block": "house_block",
}

#: Namespace of the change ids (the webhook event ids): the same change found again keeps its id.
CHANGE_NAMESPACE = uuid.UUID("3f0c62a4-5a52-4d0e-9b7e-6f1f1c5e2a17")


def month_start(day: date) -> date:
    """Return the first day of the day's month."""
    return day.replace(day=1)


@dataclass(frozen=True, slots=True)
class PremisesRow:
    """One premises of a house snapshot."""

    premises_guid: uuid.UUID
    unique_number: str | None
    number_raw: str | None
    number_norm: str | None
    kind: str
    cadastral_number: str | None
    total_area: Decimal | None
    gross_area: Decimal | None
    entrance: str | None
    floor: str | None
    account_area: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One GIS account of a house snapshot; the payer only as a keyed hash."""

    account_guid: uuid.UUID
    els: str
    zhku_id: str | None
    account_number: str | None
    premises_guid: uuid.UUID | None
    closed: bool
    total_area: Decimal | None
    payer_hash: str


#: Every field of a snapshot row, in declaration order (what the snapshot digest covers).
_PREMISES_VALUES = operator.attrgetter(*(f.name for f in fields(PremisesRow)))
_ACCOUNT_VALUES = operator.attrgetter(*(f.name for f in fields(AccountRow)))


@dataclass(frozen=True, slots=True)
class Change:
    """A difference between two snapshots of a house."""

    kind: ChangeKind
    object_guid: uuid.UUID
    premises_number: str | None = None
    els: str | None = None
    account_number: str | None = None
    old_value: str | None = None
    new_value: str | None = None

    def event_id(self, organisation_id: uuid.UUID, month: date) -> uuid.UUID:
        """Return the change's id: stable for the same change of the same organisation and month."""
        name = f"{organisation_id}:{month.isoformat()}:{self.kind}:{self.object_guid}:{self.new_value or ''}"
        return uuid.uuid5(CHANGE_NAMESPACE, name)


def payer_hash(organisation_id: uuid.UUID, account: Account) -> str:
    """Return HMAC-SHA256 of the payer's identity, keyed by the organisation (no payer in clear, ever).

    A payer organisation is its version GUID; a person is the folded full name, birth date, SNILS digits and
    the identity document. Keying by the organisation keeps equal payers of two organisations unlinkable.
    """
    payer = account.payer
    parts: list[str] = []
    if payer.org_version_guid:
        parts = ["org", payer.org_version_guid.lower()]
    elif payer.individual is not None:
        ind = payer.individual
        doc = ind.document
        parts = [
            "person",
            fold(" ".join(p for p in (ind.surname, ind.first_name, ind.patronymic) if p)),
            ind.date_of_birth.isoformat() if ind.date_of_birth else "",
            "".join(c for c in (ind.snils or "") if c.isdigit()),
            f"{doc.series or ''}|{doc.number or ''}" if doc is not None else "",
        ]
    message = "\x1f".join(parts).encode()
    return hmac.new(organisation_id.bytes, message, hashlib.sha256).hexdigest()


def _premises_of(account: Account) -> uuid.UUID | None:
    for acc in account.accommodations:
        if acc.kind == "PremisesGUID":
            return uuid.UUID(acc.guid)
    return None


def account_rows(organisation_id: uuid.UUID, accounts: Iterable[Account]) -> list[AccountRow]:
    """Turn exportAccountData results into snapshot rows (payer hashed)."""
    return [
        AccountRow(
            account_guid=uuid.UUID(a.account_guid),
            els=a.unified_account_number.upper(),
            zhku_id=a.service_id.upper() if a.service_id else None,
            account_number=a.account_number,
            premises_guid=_premises_of(a),
            closed=a.closed is not None,
            total_area=a.total_square,
            payer_hash=payer_hash(organisation_id, a),
        )
        for a in accounts
    ]


def premises_rows(house: HouseData, accounts: Sequence[AccountRow]) -> list[PremisesRow]:
    """Turn an exportHouseData result into snapshot rows, with the area placed with the accounts."""
    placed: dict[uuid.UUID, Decimal] = {}
    for a in accounts:
        if a.premises_guid is not None and not a.closed and a.total_area is not None:
            placed[a.premises_guid] = placed.get(a.premises_guid, Decimal(0)) + a.total_area
    rows = []
    for p in house.premises:
        if p.termination_date is not None:
            continue  # terminated (снесено, объединено): gone, whether GIS still lists it or not
        guid = uuid.UUID(p.guid)
        number = p.number
        # The billing import's key: non-residential premises "3" is "3Н" (app.domain.accounts.premises).
        norm = premises_norm(number, BILLING_KINDS[p.kind]) or None if number else None
        rows.append(
            PremisesRow(
                premises_guid=guid,
                unique_number=p.unique_number,
                number_raw=number,
                number_norm=norm,
                kind=p.kind,
                cadastral_number=p.cadastral_number,
                total_area=p.total_area,
                gross_area=p.gross_area,
                entrance=p.entrance,
                floor=p.floor,
                account_area=placed.get(guid),
            )
        )
    return rows


def _text(value: Decimal | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _field(value: object) -> str:
    # One canonical spelling per value: 50.50 and 50.5 are the same area; None differs from "".
    if value is None:
        return "\x00"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def snapshot_hash(premises: Iterable[PremisesRow], accounts: Iterable[AccountRow]) -> str:
    """Return SHA-256 of a house snapshot's rows (every field, rows ordered by GUID).

    Two snapshots with the same digest have the same rows, so `diff_house` would find nothing: the sync
    compares digests first and reads the previous month's rows back only when they differ.
    """
    digest = hashlib.sha256()
    for rows, values in (
        (sorted(premises, key=lambda p: p.premises_guid.bytes), _PREMISES_VALUES),
        (sorted(accounts, key=lambda a: a.account_guid.bytes), _ACCOUNT_VALUES),
    ):
        for row in rows:
            digest.update("\x1f".join(map(_field, values(row))).encode())
            digest.update(b"\x1e")
        digest.update(b"\x1d")
    return digest.hexdigest()


def _same_area(a: Decimal | None, b: Decimal | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and Decimal(a) == Decimal(b))


def diff_house(
    old_premises: Sequence[PremisesRow],
    new_premises: Sequence[PremisesRow],
    old_accounts: Sequence[AccountRow],
    new_accounts: Sequence[AccountRow],
) -> list[Change]:
    """List what changed in a house between two snapshots, premises first, then accounts."""
    changes: list[Change] = []
    old_p = {p.premises_guid: p for p in old_premises}
    new_p = {p.premises_guid: p for p in new_premises}
    for guid, p in new_p.items():
        before = old_p.get(guid)
        if before is None:
            changes.append(Change("premises_added", guid, p.number_raw, new_value=p.number_raw))
            continue
        if not _same_area(before.total_area, p.total_area):
            changes.append(
                Change("area_changed", guid, p.number_raw, old_value=_text(before.total_area),
                       new_value=_text(p.total_area))
            )  # fmt: skip
        if (before.cadastral_number or None) != (p.cadastral_number or None):
            changes.append(
                Change("cadastral_number_changed", guid, p.number_raw, old_value=before.cadastral_number,
                       new_value=p.cadastral_number)
            )  # fmt: skip
    for guid, p in old_p.items():
        if guid not in new_p:
            changes.append(Change("premises_removed", guid, p.number_raw, old_value=p.number_raw))
    old_a = {a.account_guid: a for a in old_accounts}
    new_a = {a.account_guid: a for a in new_accounts}
    number_of = {p.premises_guid: p.number_raw for p in (*old_premises, *new_premises)}
    for guid, a in new_a.items():
        before_a = old_a.get(guid)
        premises = number_of.get(a.premises_guid) if a.premises_guid else None
        if before_a is None:
            if not a.closed:
                changes.append(
                    Change("account_opened", guid, premises, a.els, a.account_number, new_value=a.els)
                )
            continue
        if a.closed and not before_a.closed:
            changes.append(Change("account_closed", guid, premises, a.els, a.account_number, old_value=a.els))
        elif not a.closed and before_a.payer_hash != a.payer_hash:
            # Only the fact: neither hash means anything to a subscriber.
            changes.append(Change("payer_changed", guid, premises, a.els, a.account_number))
    for guid, a in old_a.items():
        if guid not in new_a and not a.closed:
            premises = number_of.get(a.premises_guid) if a.premises_guid else None
            changes.append(Change("account_closed", guid, premises, a.els, a.account_number, old_value=a.els))
    return changes
