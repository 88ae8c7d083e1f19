"""Debtor readiness for a court order (судебный приказ), the pure rules: the claim and every blocking rule.

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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.court.duty import court_order_duty
from app.domain.court.rules import Court, CourtRules
from app.domain.kernel.limitation import is_time_barred
from app.domain.kernel.penalties import penalty_for_amount
from app.domain.kernel.snils import is_valid_snils
from app.domain.monitoring.delivered import DeliveredNotice

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
    #: accounts under an active, kept repayment agreement (shared by the whole run, like `covered`).
    agreements: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset()
    #: (account, billing month) written off by a posted write-off act: never claimed again.
    written_off: frozenset[tuple[uuid.UUID, date]] | set[tuple[uuid.UUID, date]] = frozenset()
    #: account → its latest delivered pre-court notice (loaded only when readiness requires one).
    notices: Mapping[uuid.UUID, DeliveredNotice] = field(default_factory=dict)


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
    reason: str  # "limitation" | "filed" | "not_due" | "written_off"
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
    #: The delivered pre-court notice the application cites (when readiness requires one).
    notice: DeliveredNotice | None = None

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
            **({"notice": self.notice.as_dict()} if self.notice is not None else {}),
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
        if case.written_off and (account_id, row.period) in case.written_off:
            excluded.append(ExcludedMonth(account_id, row.period, row.due_date, rest, "written_off"))
        elif filed is not None:
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
    if case.agreements and any(a in case.agreements for a in account_ids):
        blockers.append(
            Blocker(
                "agreement",
                "The debtor keeps a repayment agreement; the debt it covers is being repaid on schedule.",
                "Wait: a breached agreement returns the debtor to court work.",
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
    notice = latest_notice(case.notices, account_ids)
    if rules.require_notice_delivered and notice is None:
        blockers.append(
            Blocker(
                "notice_not_delivered",
                "No pre-court notice delivered to the debtor is recorded in the delivery journal "
                "(required by GISGW_COURT_READINESS_REQUIRE_NOTICE_DELIVERED).",
                "Send a notice (post, e-mail or GIS ZhKKh) and record its delivery with its date.",
            )
        )
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
        notice=notice,
    )


def latest_notice(
    notices: Mapping[uuid.UUID, DeliveredNotice], account_ids: tuple[uuid.UUID, ...]
) -> DeliveredNotice | None:
    """Return the latest notice delivered for any of a case's accounts."""
    found = [notices[a] for a in account_ids if a in notices]
    return max(found, key=lambda n: (n.delivered_on, n.issued_on, n.seq)) if found else None
