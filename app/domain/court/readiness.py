"""Debtor readiness for a court order (судебный приказ): the claim from the ledger and every blocking rule.

For each account (or each debtor's accounts) the claim is built month by month from the ledger:
- months whose payment is past the 3-year limitation (ГК ст. 196, 200) are excluded and listed;
- months already covered by a filed court case are excluded and listed;
- penalties per ЖК РФ ст. 155 ч. 14 (`app.domain.kernel.penalties`), the state duty (НК ст. 333.19, 50 %);
- the claim must not exceed 500,000 ₽ (ГПК ст. 121), the debtor must be identified (ГПК ст. 124: ФИО, birth
  date and place, one identifier), undisputed and not bankrupt (Пленум ВС № 62 п. 3, 12), and the
  magistrate's court district must be known (ГПК ст. 23, 28).
Each blocked case says which rule blocks it and what data would unblock it.

Speed (100,000 debtors × 36 months within a minute): ledgers are loaded in chunks with one core query each,
and penalties are priced with integer kopeck arithmetic over the segment structure that
`penalties.penalty_for_amount` computes once per (due date, billing month): with no part-payments the
segments depend only on the dates, so the structure is shared by every debtor of the run. The pricing
rounds each segment half up to the kopeck exactly as `penalty_for_amount` does (a test checks equality).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import String, delete, func, insert, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Operation
from app.db.models.court import DRAFT, CourtCase, CourtReadinessResult, CourtReadinessRun
from app.domain.accounts.ledger import decode_months, kopecks
from app.domain.court.duty import court_order_duty
from app.domain.court.rules import Court, CourtRules, court_rules
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal, require_organisation
from app.domain.kernel.limitation import is_time_barred
from app.domain.kernel.penalties import penalty_for_amount
from app.domain.kernel.snils import is_valid_snils

_ZERO = Decimal("0")
_CENT = Decimal("0.01")

# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One billing month of the ledger, amounts in kopecks."""

    period: date
    charged: int
    paid: int
    due_date: date


@dataclass(frozen=True, slots=True)
class Debtor:
    """The payer of an account with the residence the court district follows. Personal data: no repr."""

    account_id: uuid.UUID
    payer_kind: str = "person"
    last_name: str | None = field(default=None, repr=False)
    first_name: str | None = field(default=None, repr=False)
    middle_name: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    birth_place: str | None = field(default=None, repr=False)
    snils: str | None = field(default=None, repr=False)
    inn: str | None = field(default=None, repr=False)
    id_doc_type: str | None = field(default=None, repr=False)
    id_doc_series: str | None = field(default=None, repr=False)
    id_doc_number: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)
    premises_number: str | None = field(default=None, repr=False)
    region: str | None = None
    fias_house_guid: uuid.UUID | None = None
    house_guid: uuid.UUID | None = None
    premise_guid: uuid.UUID | None = None
    account_number: str | None = None
    dispute: bool = False
    bankruptcy: bool = False

    def pii(self) -> dict[str, Any]:
        """Return the debtor as stored with a court case (JSON, personal data)."""
        return {
            "payer_kind": self.payer_kind,
            "last_name": self.last_name,
            "first_name": self.first_name,
            "middle_name": self.middle_name,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "birth_place": self.birth_place,
            "snils": self.snils,
            "inn": self.inn,
            "id_doc_type": self.id_doc_type,
            "id_doc_series": self.id_doc_series,
            "id_doc_number": self.id_doc_number,
            "address": self.address,
            "premises_number": self.premises_number,
            "region": self.region,
            "fias_house_guid": str(self.fias_house_guid) if self.fias_house_guid else None,
            "house_guid": str(self.house_guid) if self.house_guid else None,
            "premise_guid": str(self.premise_guid) if self.premise_guid else None,
            "account_number": self.account_number,
        }


@dataclass(frozen=True, slots=True)
class CaseInput:
    """What one court-order case is judged on: the debtor's accounts, their ledger, months already filed."""

    debtors: tuple[Debtor, ...]
    ledger: tuple[tuple[uuid.UUID, LedgerRow], ...]
    #: billing month → id of the filed case that already claims it, per account.
    covered: dict[tuple[uuid.UUID, date], uuid.UUID] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Blocker:
    """A rule that stops the application, and what would unblock it."""

    rule: str
    message: str
    unblock: str

    def as_dict(self) -> dict[str, str]:
        """Return the JSON form."""
        return {"rule": self.rule, "message": self.message, "unblock": self.unblock}


@dataclass(frozen=True, slots=True)
class MonthClaim:
    """One claimed billing month: what is owed of it and the penalty on it (kopecks)."""

    account_id: uuid.UUID
    period: date
    due_date: date
    charged: int
    paid: int
    outstanding: int
    penalty: int


@dataclass(frozen=True, slots=True)
class ExcludedMonth:
    """A month left out of the claim: past limitation, already filed, or not yet due."""

    account_id: uuid.UUID
    period: date
    due_date: date
    outstanding: int
    reason: str  # "limitation" | "filed" | "not_due"
    case_id: uuid.UUID | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        out: dict[str, Any] = {
            "account_id": str(self.account_id),
            "period": self.period.isoformat(),
            "due_date": self.due_date.isoformat(),
            "amount": str(kopecks_to_money(self.outstanding)),
            "reason": self.reason,
        }
        if self.case_id is not None:
            out["case_id"] = str(self.case_id)
        return out


@dataclass(frozen=True)
class Assessment:
    """The readiness verdict for one case."""

    debtor: Debtor
    account_ids: tuple[uuid.UUID, ...]
    on_date: date
    months: tuple[MonthClaim, ...]
    excluded: tuple[ExcludedMonth, ...]
    principal: Decimal
    penalties: Decimal
    duty: Decimal | None
    court: Court | None
    blockers: tuple[Blocker, ...]
    warnings: tuple[Blocker, ...] = ()

    @property
    def ready(self) -> bool:
        """Whether nothing blocks the application."""
        return not self.blockers

    @property
    def total(self) -> Decimal:
        """The claim: principal and penalties (the duty is recovered on top, ГПК ст. 127)."""
        return self.principal + self.penalties

    def verdict(self) -> dict[str, Any]:
        """Return the stored verdict (JSON, no personal data)."""
        return {
            "blockers": [b.as_dict() for b in self.blockers],
            "warnings": [w.as_dict() for w in self.warnings],
            "excluded": [e.as_dict() for e in self.excluded],
            "period_from": self.months[0].period.isoformat() if self.months else None,
            "period_to": self.months[-1].period.isoformat() if self.months else None,
            "court": {"name": self.court.name, "district": self.court.district} if self.court else None,
        }


def kopecks_to_money(value: int) -> Decimal:
    """Return kopecks as a rouble amount with two decimals."""
    return (Decimal(value) / 100).quantize(_CENT)


# ---------------------------------------------------------------------------------------- penalty pricer


class PenaltyPricer:
    """Price ЖК РФ ст. 155 ч. 14 penalties on whole amounts, sharing the segment structure between debtors."""

    def __init__(self, rules: CourtRules, on_date: date) -> None:
        self._rules = rules
        self._on_date = on_date
        self._rate = rules.penalty.cap_rate if rules.key_rate is None else rules.key_rate
        self._cache: dict[tuple[date, date], tuple[tuple[int, int], ...]] = {}
        self._barred: dict[date, bool] = {}

    def time_barred(self, due_date: date) -> bool:
        """Tell whether a payment due on `due_date` is past limitation on the run date (cached per date)."""
        found = self._barred.get(due_date)
        if found is None:
            found = self._barred[due_date] = is_time_barred(due_date, self._on_date, self._rules.limitation)
        return found

    def _structure(self, due_date: date, period: date) -> tuple[tuple[int, int], ...]:
        # Segments of an amount without part-payments depend only on the dates, so one unit computation by
        # the reference function gives (numerator factor, denominator) per accruing segment.
        unit = penalty_for_amount(
            amount=Decimal(1),
            due_date=due_date,
            until=self._on_date,
            key_rate=self._rate,
            rules=self._rules.penalty,
            period=period,
        )
        parts: list[tuple[int, int]] = []
        for seg in unit.segments:
            if seg.divisor is None or seg.moratorium or seg.days <= 0:
                continue
            num, den = seg.key_rate.as_integer_ratio()
            parts.append((num * seg.days, den * seg.divisor))
        return tuple(parts)

    def price(self, outstanding: int, due_date: date, period: date) -> int:
        """Return the penalty in kopecks on `outstanding` kopecks due on `due_date`, through the run date."""
        if outstanding <= 0 or due_date >= self._on_date:
            return 0
        key = (due_date, period)
        parts = self._cache.get(key)
        if parts is None:
            parts = self._cache[key] = self._structure(due_date, period)
        total = 0
        for num, den in parts:
            q, r = divmod(outstanding * num, den)
            total += q + (1 if 2 * r >= den else 0)  # half up, as Decimal.quantize(ROUND_HALF_UP)
        return total


# ------------------------------------------------------------------------------------------- the rules


def _identifier_present(d: Debtor) -> bool:
    # ГПК ст. 124 ч. 2 п. 3: any one of SNILS, INN, or an identity document (passport, driving licence...).
    if d.snils and is_valid_snils(d.snils):
        return True
    if d.inn and len(d.inn.strip()) == 12 and d.inn.strip().isdigit():
        return True
    return bool(d.id_doc_number and d.id_doc_number.strip() and d.id_doc_type)


def identity_blockers(d: Debtor) -> list[Blocker]:
    """Return what ГПК ст. 124 ч. 2 п. 3 requires of the debtor and is missing."""
    out: list[Blocker] = []
    if d.payer_kind != "person":
        out.append(
            Blocker(
                "debtor_person",
                "The payer is an organisation; court orders here are for citizens (arbitration courts "
                "hear claims against organisations).",
                "Make a citizen the payer of the account, or file with the arbitration court.",
            )
        )
        return out
    if not (d.last_name and d.first_name):
        out.append(
            Blocker(
                "debtor_name",
                "The debtor's last and first name are missing (ГПК ст. 124).",
                "Add the payer's last, first and middle name to the account.",
            )
        )
    if d.birth_date is None:
        out.append(
            Blocker(
                "debtor_birth_date",
                "The debtor's date of birth is missing (ГПК ст. 124).",
                "Add the payer's date of birth.",
            )
        )
    if not (d.birth_place and d.birth_place.strip()):
        out.append(
            Blocker(
                "debtor_birth_place",
                "The debtor's place of birth is missing (ГПК ст. 124).",
                "Add the payer's place of birth.",
            )
        )
    if not _identifier_present(d):
        invalid = " (the SNILS on file fails its checksum)" if d.snils and not is_valid_snils(d.snils) else ""
        out.append(
            Blocker(
                "debtor_identifier",
                f"No debtor identifier: SNILS, INN or an identity document is required{invalid} "
                "(ГПК ст. 124, 229-ФЗ ст. 13).",
                "Add a valid SNILS, a 12-digit INN, or the payer's passport series and number.",
            )
        )
    if not d.address:
        out.append(
            Blocker(
                "debtor_residence",
                "The debtor's residence (the house address) is unknown.",
                "Link the account to premises in a house with an address.",
            )
        )
    return out


def assess(case: CaseInput, *, on_date: date, rules: CourtRules, pricer: PenaltyPricer) -> Assessment:
    """Judge one case: build the claim from the ledger and collect every blocking rule."""
    debtor = case.debtors[0]
    account_ids = tuple(d.account_id for d in case.debtors)
    barred = pricer.time_barred

    # Each month's payment goes to that month (the ledger books payments by period); a surplus or a credit
    # pays the oldest months whose limitation has not expired (ГК ст. 319.1; Пленум ВС № 22 п. 32).
    entries = sorted(case.ledger, key=lambda item: (item[1].due_date, item[1].period))
    left: list[int] = []
    credit = 0
    for _, row in entries:
        charged = row.charged
        if charged < 0:
            credit -= charged
            charged = 0
        rest = charged - row.paid
        if rest < 0:
            credit -= rest
            rest = 0
        left.append(rest)
    if credit:
        for i, (_, row) in enumerate(entries):
            if credit <= 0:
                break
            if left[i] > 0 and not barred(row.due_date):
                take = min(left[i], credit)
                left[i] -= take
                credit -= take

    months: list[MonthClaim] = []
    excluded: list[ExcludedMonth] = []
    principal = penalties = 0
    for (account_id, row), rest in zip(entries, left, strict=True):
        if rest <= 0:
            continue
        filed = case.covered.get((account_id, row.period))
        if filed is not None:
            excluded.append(ExcludedMonth(account_id, row.period, row.due_date, rest, "filed", filed))
        elif row.due_date >= on_date:
            excluded.append(ExcludedMonth(account_id, row.period, row.due_date, rest, "not_due"))
        elif barred(row.due_date):
            excluded.append(ExcludedMonth(account_id, row.period, row.due_date, rest, "limitation"))
        else:
            penalty = pricer.price(rest, row.due_date, row.period)
            months.append(
                MonthClaim(account_id, row.period, row.due_date, row.charged, row.paid, rest, penalty)
            )
            principal += rest
            penalties += penalty
    months.sort(key=lambda m: (m.period, str(m.account_id)))

    blockers = identity_blockers(debtor)
    warnings: list[Blocker] = []
    principal_money, penalties_money = kopecks_to_money(principal), kopecks_to_money(penalties)
    claim = principal_money + penalties_money
    duty: Decimal | None = None
    if not months:
        expired = sum(1 for e in excluded if e.reason == "limitation")
        filed_n = sum(1 for e in excluded if e.reason == "filed")
        blockers.append(
            Blocker(
                "no_claimable_debt",
                f"No overdue debt can be claimed ({expired} month(s) past limitation, "
                f"{filed_n} already filed).",
                "Nothing to file: wait for new overdue months, or write off the time-barred months.",
            )
        )
    else:
        limited = claim if rules.claim_limit_includes_penalties else principal_money
        if limited > rules.claim_limit:
            blockers.append(
                Blocker(
                    "claim_limit",
                    f"The claim of {limited:,.2f} ₽ exceeds the court-order limit of "
                    f"{rules.claim_limit:,.0f} ₽ (ГПК ст. 121).",
                    "File a lawsuit (исковое производство) instead, or claim fewer months.",
                )
            )
        else:
            duty_rules = rules.duty
            if claim > duty_rules.court_order_limit:  # penalties on top of a principal within the limit
                duty_rules = replace(duty_rules, court_order_limit=claim)
            duty = court_order_duty(claim, on_date, duty_rules)
        if rules.min_claim is not None and claim <= rules.min_claim:
            blockers.append(
                Blocker(
                    "min_claim",
                    f"The experiment takes debts over {rules.min_claim:,.0f} ₽; "
                    f"this claim is {claim:,.2f} ₽.",
                    "Wait until the debt exceeds the threshold, or switch GISGW_COURT_MIN_CLAIM_ENABLED off.",
                )
            )
    if any(d.dispute for d in case.debtors):
        blockers.append(
            Blocker(
                "dispute",
                "The debt is disputed; a court order is only for undisputed claims (ГПК ст. 125, Пленум ВС "
                "№ 62 п. 3).",
                "Settle the dispute (reconciliation act) and clear the account's dispute flag, "
                "or file a lawsuit.",
            )
        )
    if any(d.bankruptcy for d in case.debtors):
        flag = Blocker(
            "bankruptcy",
            "The debtor is in bankruptcy; claims go to the bankruptcy case, current payments excepted "
            "(Пленум ВС № 62 п. 12).",
            "Claim in the bankruptcy procedure, or clear the flag once it has ended.",
        )
        (blockers if rules.bankruptcy_mode == "block" else warnings).append(flag)
    court = rules.courts.find(
        region=debtor.region, address=debtor.address, fias_house_guid=debtor.fias_house_guid
    )
    if court is None:
        blockers.append(
            Blocker(
                "jurisdiction",
                "No magistrate's court district is configured for the debtor's address (ГПК ст. 23, 28).",
                "Add the address (region, city, street, houses) to the court table (GISGW_COURT_COURTS).",
            )
        )
    if debtor.snils and not is_valid_snils(debtor.snils) and _identifier_present(debtor):
        warnings.append(
            Blocker(
                "snils_checksum", "The SNILS on file fails its checksum; it is left out.", "Fix the SNILS."
            )
        )
    return Assessment(
        debtor=debtor,
        account_ids=account_ids,
        on_date=on_date,
        months=tuple(months),
        excluded=tuple(excluded),
        principal=principal_money,
        penalties=penalties_money,
        duty=duty,
        court=court,
        blockers=tuple(blockers),
        warnings=tuple(warnings),
    )


# ------------------------------------------------------------------------------------------ bulk loading


def debtor_key(d: Debtor) -> str:
    """Return the key grouping one citizen's accounts: SNILS, else name and birth date, else the account."""
    if d.snils and is_valid_snils(d.snils):
        return "s:" + d.snils
    if d.last_name and d.first_name and d.birth_date:
        name = " ".join(
            x.casefold().replace("ё", "е") for x in (d.last_name, d.first_name, d.middle_name or "")
        )
        return f"n:{name.strip()}:{d.birth_date.isoformat()}"
    return "a:" + str(d.account_id)


_ACCOUNT_COLUMNS = (
    Account.id,
    Account.payer_kind,
    Account.last_name,
    Account.first_name,
    Account.middle_name,
    Account.birth_date,
    Account.birth_place,
    Account.snils,
    Account.inn,
    Account.id_doc_type,
    Account.id_doc_series,
    Account.id_doc_number,
    House.address,
    Premises.number_raw,
    House.region,
    House.fias_house_guid,
    House.hm_object_guid,
    Premises.gis_premises_guid,
    Account.account_number,
    Account.dispute,
    Account.bankruptcy,
)


def _debtor(row: Sequence[Any]) -> Debtor:
    return Debtor(*row)


async def load_debtors(
    session: AsyncSession, *, organisation_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Debtor]:
    """Load the payer and residence of each account (the first residential premises when there are many)."""
    stmt = (
        select(*_ACCOUNT_COLUMNS)
        .select_from(Account)
        .outerjoin(AccountPremises, AccountPremises.account_id == Account.id)
        .outerjoin(Premises, Premises.id == AccountPremises.premises_id)
        .outerjoin(House, House.id == Premises.house_id)
        .where(Account.organisation_id == organisation_id, Account.id.in_(list(account_ids)))
        .order_by(Account.id, Premises.residential.desc(), Premises.number_norm)
    )
    out: dict[uuid.UUID, Debtor] = {}
    for row in (await session.execute(stmt)).all():
        if row[0] not in out:
            out[row[0]] = _debtor(row)
    return out


async def load_ledgers(
    session: AsyncSession, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[LedgerRow]]:
    """Load the ledger of each account with one core query (amounts in kopecks)."""
    ids = list(account_ids)
    conn = await session.connection()
    sqlite = conn.dialect.name == "sqlite"
    # Hot path (millions of months per run): skip the ORM, and on SQLite read the account id as its stored
    # hex text instead of parsing a UUID per row; asyncpg decodes UUIDs natively.
    account_col: Any = type_coerce(AccountLedger.account_id, String) if sqlite else AccountLedger.account_id
    stmt = select(account_col, AccountLedger.months).where(AccountLedger.account_id.in_(ids))
    out: dict[uuid.UUID, list[LedgerRow]] = {a: [] for a in ids}
    by_key: dict[Any, list[LedgerRow]] = {(a.hex if sqlite else a): out[a] for a in ids}
    for key, months in (await conn.execute(stmt)).all():
        by_key[key].extend(
            LedgerRow(m.period, kopecks(m.charged), kopecks(m.paid), m.due_date)
            for m in decode_months(months)
        )
    return out


async def load_covered_months(
    session: AsyncSession, *, organisation_id: uuid.UUID
) -> dict[tuple[uuid.UUID, date], uuid.UUID]:
    """Return (account, billing month) → case id for every month claimed by a case filed with a court."""
    stmt = select(CourtCase.id, CourtCase.account_ids, CourtCase.months, CourtCase.claim).where(
        CourtCase.organisation_id == organisation_id, CourtCase.status != DRAFT
    )
    out: dict[tuple[uuid.UUID, date], uuid.UUID] = {}
    for case_id, account_ids, months, claim in (await session.execute(stmt)).all():
        lines = claim.get("months") if isinstance(claim, dict) else None
        if lines:
            for line in lines:
                out[(uuid.UUID(line["account_id"]), date.fromisoformat(line["period"]))] = case_id
        else:
            for account in account_ids:
                for month in months:
                    out[(uuid.UUID(account), date.fromisoformat(month))] = case_id
    return out


async def organisation_account_ids(session: AsyncSession, *, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the ids of the organisation's personal accounts, ordered."""
    stmt = select(Account.id).where(Account.organisation_id == organisation_id).order_by(Account.id)
    return list((await session.scalars(stmt)).all())


async def group_cases(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    group_by: str,
) -> list[list[uuid.UUID]]:
    """Split accounts into cases: one per account, or one per debtor (SNILS, else name and birth date)."""
    if group_by != "debtor":
        return [[a] for a in account_ids]
    groups: dict[str, list[uuid.UUID]] = {}
    ids = list(account_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        stmt = select(
            Account.id,
            Account.snils,
            Account.last_name,
            Account.first_name,
            Account.middle_name,
            Account.birth_date,
        ).where(Account.organisation_id == organisation_id, Account.id.in_(chunk))
        for aid, snils, last, first, middle, born in (await session.execute(stmt)).all():
            key = debtor_key(
                Debtor(
                    aid, snils=snils, last_name=last, first_name=first, middle_name=middle, birth_date=born
                )
            )
            groups.setdefault(key, []).append(aid)
    return list(groups.values())


async def iter_assessments(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    cases: Sequence[Sequence[uuid.UUID]],
    on_date: date,
    rules: CourtRules,
    chunk: int = 2000,
) -> AsyncIterator[list[Assessment]]:
    """Assess cases chunk by chunk (one accounts query and one ledger query per chunk)."""
    pricer = PenaltyPricer(rules, on_date)
    covered = await load_covered_months(session, organisation_id=organisation_id)
    batch: list[Sequence[uuid.UUID]] = []
    size = 0
    for case in cases:
        batch.append(case)
        size += len(case)
        if size >= chunk:
            yield await _assess_batch(session, organisation_id, batch, on_date, rules, pricer, covered)
            batch, size = [], 0
    if batch:
        yield await _assess_batch(session, organisation_id, batch, on_date, rules, pricer, covered)


async def _assess_batch(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    batch: Sequence[Sequence[uuid.UUID]],
    on_date: date,
    rules: CourtRules,
    pricer: PenaltyPricer,
    covered: dict[tuple[uuid.UUID, date], uuid.UUID],
) -> list[Assessment]:
    ids = [a for case in batch for a in case]
    debtors = await load_debtors(session, organisation_id=organisation_id, account_ids=ids)
    ledgers = await load_ledgers(session, list(debtors))
    out: list[Assessment] = []
    for case in batch:
        found = [debtors[a] for a in case if a in debtors]
        if not found:
            continue
        ledger = tuple((d.account_id, row) for d in found for row in ledgers.get(d.account_id, ()))
        # The covered map is keyed by account, so the whole run's map is shared rather than sliced per case.
        out.append(
            assess(CaseInput(tuple(found), ledger, covered), on_date=on_date, rules=rules, pricer=pricer)
        )
    return out


# ------------------------------------------------------------------------------------- persisted runs


ProgressFn = Callable[[int, int], Awaitable[None]]


async def create_run(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    on_date: date,
    group_by: str,
    account_ids: Sequence[uuid.UUID] | None,
) -> CourtReadinessRun:
    """Add a readiness run (status pending); `account_ids` None means every account of the organisation."""
    run = CourtReadinessRun(
        organisation_id=organisation_id,
        on_date=on_date,
        group_by=group_by,
        status="pending",
        params={"account_ids": [str(a) for a in account_ids] if account_ids is not None else None},
        total=0,
        ready=0,
        blocked=0,
    )
    session.add(run)
    await session.flush()
    return run


async def execute_run(
    session: AsyncSession,
    *,
    run: CourtReadinessRun,
    rules: CourtRules,
    chunk: int = 2000,
    on_chunk: ProgressFn | None = None,
) -> CourtReadinessRun:
    """Compute and store every verdict of a run; re-running replaces earlier results (idempotent)."""
    await session.execute(delete(CourtReadinessResult).where(CourtReadinessResult.run_id == run.id))
    raw = (run.params or {}).get("account_ids")
    if raw is None:
        account_ids = await organisation_account_ids(session, organisation_id=run.organisation_id)
    else:
        account_ids = [uuid.UUID(a) for a in raw]
    cases = await group_cases(
        session, organisation_id=run.organisation_id, account_ids=account_ids, group_by=run.group_by
    )
    run.status, run.total, run.ready, run.blocked = "running", len(cases), 0, 0
    counts: dict[str, int] = {}
    seq = done = 0
    async for batch in iter_assessments(
        session,
        organisation_id=run.organisation_id,
        cases=cases,
        on_date=run.on_date,
        rules=rules,
        chunk=chunk,
    ):
        rows = []
        for a in batch:
            seq += 1
            rows.append(
                {
                    "run_id": run.id,
                    "seq": seq,
                    "account_id": a.account_ids[0],
                    "account_ids": [str(x) for x in a.account_ids],
                    "ready": a.ready,
                    "principal": a.principal,
                    "penalties": a.penalties,
                    "duty": a.duty,
                    "total": a.total,
                    "months_claimed": len(a.months),
                    "verdict": a.verdict(),
                }
            )
            if a.ready:
                run.ready += 1
            else:
                run.blocked += 1
            for b in a.blockers:
                counts[b.rule] = counts.get(b.rule, 0) + 1
        if rows:
            await session.execute(insert(CourtReadinessResult), rows)
        done += len(batch)
        run.blockers = dict(counts)
        await session.flush()
        if on_chunk is not None:
            await on_chunk(done, len(cases))
    run.total = seq
    run.status = "done"
    run.blockers = counts
    run.finished_at = utcnow()
    await session.flush()
    return run


async def get_run(session: AsyncSession, *, run_id: uuid.UUID, principal: Principal) -> CourtReadinessRun:
    """Load a readiness run the caller may see."""
    run = await session.get(CourtReadinessRun, run_id)
    if run is None or not principal.may_access(run.organisation_id):
        raise errors.NotFoundError(f"Readiness run {run_id} not found.")
    return run


async def list_results(
    session: AsyncSession,
    *,
    run_id: uuid.UUID,
    ready: bool | None = None,
    rule: str | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> list[CourtReadinessResult]:
    """Return a run's verdicts in order, keyset-paginated by sequence number."""
    stmt = (
        select(CourtReadinessResult)
        .where(CourtReadinessResult.run_id == run_id, CourtReadinessResult.seq > after_seq)
        .order_by(CourtReadinessResult.seq)
    )
    if ready is not None:
        stmt = stmt.where(CourtReadinessResult.ready.is_(ready))
    if rule is None:
        rows = (await session.scalars(stmt.limit(limit))).all()
        return list(rows)
    # Filtering inside the JSON verdict is not portable across SQLite and PostgreSQL; scan in pages instead.
    out: list[CourtReadinessResult] = []
    last = after_seq
    while len(out) < limit:
        page = (await session.scalars(stmt.where(CourtReadinessResult.seq > last).limit(500))).all()
        if not page:
            break
        for row in page:
            if any(b["rule"] == rule for b in row.verdict.get("blockers", [])):
                out.append(row)
                if len(out) == limit:
                    break
        last = page[-1].seq
    return out


READINESS_JOB = "court-readiness"


async def request_readiness(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID] | None,
    on_date: date,
    group_by: str,
    rules: CourtRules,
    inline_limit: int,
    chunk: int,
) -> tuple[CourtReadinessRun, Operation | None]:
    """Check readiness: small sets at once (in the caller's transaction), large ones as an operation."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    if account_ids is not None:
        account_ids = list(dict.fromkeys(account_ids))
        count = len(account_ids)
    else:
        count = int(
            await session.scalar(
                select(func.count()).select_from(Account).where(Account.organisation_id == organisation_id)
            )
            or 0
        )
    run = await create_run(
        session, organisation_id=organisation_id, on_date=on_date, group_by=group_by, account_ids=account_ids
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court_readiness.run",
        resource_type="court_readiness_run",
        resource_id=run.id,
        organisation_id=organisation_id,
        details={"accounts": count, "on_date": on_date.isoformat(), "group_by": group_by},
    )
    if count <= inline_limit:
        await execute_run(session, run=run, rules=rules, chunk=chunk)
        return run, None
    op = await ops.create(
        session=session,
        principal=principal,
        kind=READINESS_JOB,
        organisation_id=organisation_id,
        params={"run_id": str(run.id)},
        total=count,
    )
    run.operation_id = op.id
    return run, op


async def run_readiness_job(op: Operation, progress: ops.Progress, ctx: Any) -> dict[str, Any]:
    """Compute a large readiness run chunk by chunk, committing and reporting progress after each."""
    run_id = uuid.UUID((op.params or {})["run_id"])
    rules = court_rules(ctx.settings)
    async with ctx.sessionmaker() as session:
        run = await session.get(CourtReadinessRun, run_id)
        if run is None:
            raise errors.NotFoundError(f"Readiness run {run_id} not found.")

        async def on_chunk(done: int, total: int) -> None:
            await session.commit()
            await progress(done, total)

        await execute_run(
            session, run=run, rules=rules, chunk=ctx.settings.court_readiness_chunk, on_chunk=on_chunk
        )
        await session.commit()
        return {
            "run_id": str(run.id),
            "total": run.total,
            "ready": run.ready,
            "blocked": run.blocked,
            "blockers": run.blockers,
        }
