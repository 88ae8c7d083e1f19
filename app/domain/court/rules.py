"""Court-order rule configuration built from settings in one place, and the address → court table.

Every item marked [U] in domain-rules §3-§7 is a `GISGW_COURT_*` setting; `court_rules(settings)` turns them
into the frozen dataclasses of `app.domain.kernel.rules` that the pure calculations take.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.domain.kernel.rules import (
    CalendarRules,
    DateRange,
    DutyRules,
    LimitationRules,
    Moratorium,
    ObjectionRules,
    PenaltyRules,
)
from app.settings import REPO_ROOT, Settings

# ---------------------------------------------------------------------------------------- court table


class Payee(BaseModel):
    """Bank details of the state-duty payee (the court's treasury account)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    inn: str | None = None
    kpp: str | None = None
    bik: str | None = None
    account: str | None = None
    treasury_account: str | None = None
    bank: str | None = None
    kbk: str | None = None
    oktmo: str | None = None


class Court(BaseModel):
    """A magistrate's court district (судебный участок мирового судьи), ГПК ст. 23, 28."""

    model_config = ConfigDict(extra="forbid")

    name: str
    district: str = Field(description="district (участок) number")
    address: str
    payee: Payee | None = None


class CourtRule(BaseModel):
    """One row of the address → court table; the most specific matching row wins."""

    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(None, description="region code (two digits)")
    fias_house_guids: list[uuid.UUID] = Field(default_factory=list, description="exact houses")
    city: str | None = Field(None, description="text the house address must contain, e.g. 'г. Казань'")
    street: str | None = Field(None, description="text the house address must contain, e.g. 'ул. Баумана'")
    house_from: int | None = Field(None, description="first house number of the range (inclusive)")
    house_to: int | None = Field(None, description="last house number of the range (inclusive)")
    parity: Literal["all", "odd", "even"] = "all"
    court: Court

    def specificity(self) -> int:
        """Rank rows: exact houses first, then street with a range, street, city, region."""
        if self.fias_house_guids:
            return 100
        score = 0
        score += 1 if self.region else 0
        score += 2 if self.city else 0
        score += 4 if self.street else 0
        score += 8 if self.house_from is not None or self.house_to is not None else 0
        score += 1 if self.parity != "all" else 0
        return score


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


# "д. 12", "дом 12к1", "д.12/2": the first number after the house marker is the house number.
_HOUSE_NUMBER = re.compile(r"(?:\bд(?:ом)?\.?\s*)(\d+)", re.IGNORECASE)


def house_number(address: str) -> int | None:
    """Return the house number in a Russian address line, if one is marked (д. / дом)."""
    match = _HOUSE_NUMBER.search(address)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class CourtTable:
    """The configured address → court table."""

    rules: tuple[CourtRule, ...] = ()

    def find(
        self, *, region: str | None, address: str | None, fias_house_guid: uuid.UUID | None
    ) -> Court | None:
        """Return the court whose most specific row matches the debtor's residence, or None."""
        folded = _fold(address) if address else ""
        number = house_number(address) if address else None
        best: tuple[int, int, Court] | None = None
        for index, rule in enumerate(self.rules):
            if not _matches(rule, region, folded, number, fias_house_guid):
                continue
            rank = (rule.specificity(), -index, rule.court)
            if best is None or rank[:2] > best[:2]:
                best = rank
        return best[2] if best else None


def _matches(
    rule: CourtRule, region: str | None, folded: str, number: int | None, fias: uuid.UUID | None
) -> bool:
    if rule.fias_house_guids:
        return fias is not None and fias in rule.fias_house_guids
    if rule.region and rule.region != region:
        return False
    if rule.city and _fold(rule.city) not in folded:
        return False
    if rule.street and _fold(rule.street) not in folded:
        return False
    if rule.house_from is not None or rule.house_to is not None or rule.parity != "all":
        if number is None:
            return False
        if rule.house_from is not None and number < rule.house_from:
            return False
        if rule.house_to is not None and number > rule.house_to:
            return False
        if rule.parity == "odd" and number % 2 == 0:
            return False
        if rule.parity == "even" and number % 2 == 1:
            return False
    return True


def parse_court_table(rows: Sequence[Mapping[str, Any]]) -> CourtTable:
    """Validate table rows (from a file or settings); raise ValueError naming the bad row."""
    parsed: list[CourtRule] = []
    for i, row in enumerate(rows):
        try:
            parsed.append(CourtRule.model_validate(row))
        except ValidationError as exc:
            raise ValueError(f"court table row {i}: {exc}") from exc
    return CourtTable(tuple(parsed))


@lru_cache(maxsize=8)
def _load_court_file(path: Path, mtime: float) -> CourtTable:  # noqa: ARG001 - mtime busts the cache
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["courts"] if isinstance(data, dict) else data
    return parse_court_table(rows)


def court_table(settings: Settings) -> CourtTable:
    """Return the court table: the file's rows (GISGW_COURT_COURTS_FILE) followed by inline rows."""
    rules: list[CourtRule] = []
    if settings.court.courts_file is not None:
        path = settings.court.courts_file
        path = path if path.is_absolute() else REPO_ROOT / path
        rules.extend(_load_court_file(path, path.stat().st_mtime).rules)
    rules.extend(parse_court_table(settings.court.courts).rules)
    return CourtTable(tuple(rules))


# ------------------------------------------------------------------------------------------- the bundle

CAPABILITIES = ("readiness", "packages", "cases", "registry")


@dataclass(frozen=True)
class CourtRules:
    """Everything the court-order rules depend on, built once from settings."""

    penalty: PenaltyRules = PenaltyRules()
    duty: DutyRules = DutyRules()
    limitation: LimitationRules = LimitationRules()
    objection: ObjectionRules = ObjectionRules()
    calendar: CalendarRules = CalendarRules()
    key_rate: Decimal | None = None
    claim_limit: Decimal = Decimal("500000")
    claim_limit_includes_penalties: bool = True
    min_claim: Decimal | None = None
    bankruptcy_mode: Literal["block", "warn"] = "block"
    experiment: DateRange = DateRange(date(2025, 7, 1), date(2026, 6, 30))
    pilot_regions: frozenset[str] = frozenset()
    thresholds: Mapping[str, int] = field(default_factory=dict)
    premises_year: int = 2025
    capabilities: frozenset[str] = frozenset(CAPABILITIES)
    courts: CourtTable = CourtTable()
    #: Close the registry loop automatically (place, repayment, annulment) and the NSI 365 annulment reason.
    registry_auto: bool = False
    annulment_reason: tuple[str, str] | None = None
    #: The NSI 365 reason of annulling a court-confirmed debt written off whole by a posted act.
    writeoff_reason: tuple[str, str] | None = None
    #: Readiness requires a delivered pre-court notice, and applications cite it (a product rule, §12).
    require_notice_delivered: bool = False


def court_rules(settings: Settings) -> CourtRules:
    """Build the court-order rule configuration from settings (the one place they are read)."""
    moratoria = tuple(
        Moratorium(
            DateRange(_need_date(m, "start"), _need_date(m, "end")),
            debts_before=m.get("debts_before"),
        )
        for m in settings.court.moratoria
    )
    penalty = PenaltyRules(
        cap_rate=settings.court.penalty_cap_rate,
        cap_periods=tuple(DateRange(a, b) for a, b in settings.court.penalty_cap_periods),
        moratoria=moratoria,
        moratorium_end_inclusive=settings.court.moratorium_end_inclusive,
        feb_2026_due_day=settings.court.feb_2026_due_day,
    )
    duty = DutyRules(
        effective_date=settings.court.duty_effective_date,
        rounding=settings.court.duty_rounding,
        court_order_limit=settings.court.claim_limit,
    )
    return CourtRules(
        penalty=penalty,
        duty=duty,
        limitation=LimitationRules(),
        objection=ObjectionRules(mode=settings.court.objection_mode, days=settings.court.objection_days),
        calendar=CalendarRules(overrides=settings.calendar.overrides),
        key_rate=settings.court.key_rate,
        claim_limit=settings.court.claim_limit,
        claim_limit_includes_penalties=settings.court.claim_limit_includes_penalties,
        min_claim=settings.court.min_claim if settings.court.min_claim_enabled else None,
        bankruptcy_mode=settings.court.bankruptcy_mode,
        experiment=DateRange(settings.court.experiment_start, settings.court.experiment_end),
        pilot_regions=frozenset(settings.court.pilot_regions),
        thresholds=dict(settings.court.participant_thresholds),
        premises_year=settings.court.premises_year,
        capabilities=frozenset(settings.court.capabilities),
        courts=court_table(settings),
        registry_auto=settings.court.registry_auto,
        require_notice_delivered=settings.court.readiness_require_notice_delivered,
        annulment_reason=(settings.court.annulment_reason_code, settings.court.annulment_reason_guid)
        if settings.court.annulment_reason_code and settings.court.annulment_reason_guid
        else None,
        writeoff_reason=(settings.court.writeoff_reason_code, settings.court.writeoff_reason_guid)
        if settings.court.writeoff_reason_code and settings.court.writeoff_reason_guid
        else None,
    )


def _need_date(row: Mapping[str, date | None], key: str) -> date:
    value = row.get(key)
    if value is None:
        raise ValueError(f"GISGW_COURT_MORATORIA: every row needs '{key}'")
    return value
