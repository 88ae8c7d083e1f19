"""Eligibility of an organisation for the 2025-2026 court-order experiment (domain-rules §7).

Criteria [P] (the decree text is not published; thresholds, regions and dates are settings): the organisation
type is in the participant table; its monthly maximum of residential premises in GIS during the year reaches
the type's threshold; it has software automating court collection (this gateway, with the capabilities
switched on); it is in a pilot region; the date is within the experiment period.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.domain.accounts.registry import premises_stats
from app.domain.court.rules import CourtRules
from app.domain.kernel import errors as d

try:
    GATEWAY_VERSION = metadata.version("gisgw")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    GATEWAY_VERSION = "dev"

#: Capabilities that make the gateway "software automating court collection" (the registry is extra).
REQUIRED_CAPABILITIES = ("readiness", "packages", "cases")


@dataclass(frozen=True)
class Criterion:
    """One criterion: met (True), not met (False) or unknown (None), with its evidence."""

    name: str
    met: bool | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Eligibility:
    """The answer: eligible only when every criterion is met."""

    organisation_id: uuid.UUID
    on_date: date
    criteria: tuple[Criterion, ...]

    @property
    def eligible(self) -> bool:
        """Whether every criterion is met."""
        return all(c.met is True for c in self.criteria)


def evaluate(
    *,
    organisation_id: uuid.UUID,
    org_type: str,
    region: str | None,
    premises_by_month: dict[int, int] | None,
    premises_source: str,
    on_date: date,
    rules: CourtRules,
) -> Eligibility:
    """Evaluate the experiment's criteria from plain facts (pure)."""
    criteria: list[Criterion] = []
    threshold = rules.thresholds.get(org_type)
    criteria.append(
        Criterion(
            "organisation_type",
            threshold is not None,
            f"Type '{org_type}' takes part in the experiment."
            if threshold is not None
            else f"Type '{org_type}' is not among the experiment's participant types.",
            {"org_type": org_type, "participant_types": sorted(rules.thresholds)},
        )
    )
    maximum = max(premises_by_month.values(), default=0) if premises_by_month is not None else None
    if maximum is None or threshold is None:
        premises_met: bool | None = None if maximum is None else False
        message = (
            "No premises figure: import the accounts registry or pass max_premises."
            if maximum is None
            else "No threshold for this organisation type."
        )
    else:
        premises_met = maximum >= threshold
        message = (
            f"Monthly maximum of {maximum:,} residential premises in {rules.premises_year} "
            f"{'reaches' if premises_met else 'is below'} the threshold of {threshold:,}."
        )
    criteria.append(
        Criterion(
            "premises",
            premises_met,
            message,
            {
                "year": rules.premises_year,
                "source": premises_source,
                "by_month": {str(k): v for k, v in sorted((premises_by_month or {}).items())},
                "maximum": maximum,
                "threshold": threshold,
            },
        )
    )
    on = sorted(rules.capabilities)
    missing = [c for c in REQUIRED_CAPABILITIES if c not in rules.capabilities]
    criteria.append(
        Criterion(
            "software",
            not missing,
            "The gateway automates court collection: " + ", ".join(on) + "."
            if not missing
            else "Switch on the capabilities " + ", ".join(missing) + " (GISGW_COURT_CAPABILITIES).",
            {
                "software": f"gisgw {GATEWAY_VERSION}",
                "capabilities": on,
                "required": list(REQUIRED_CAPABILITIES),
            },
        )
    )
    if not rules.pilot_regions:
        region_met: bool | None = None
        region_message = "The pilot regions are not published; configure GISGW_COURT_PILOT_REGIONS."
    else:
        region_met = region is not None and region in rules.pilot_regions
        region_message = (
            f"Region {region} is a pilot region."
            if region_met
            else f"Region {region or 'unknown'} is not among the pilot regions."
        )
    criteria.append(
        Criterion(
            "pilot_region",
            region_met,
            region_message,
            {"region": region, "pilot_regions": sorted(rules.pilot_regions)},
        )
    )
    within = rules.experiment.contains(on_date)
    criteria.append(
        Criterion(
            "period",
            within,
            f"{on_date.isoformat()} is {'within' if within else 'outside'} the experiment "
            f"({rules.experiment.start.isoformat()} – {rules.experiment.end.isoformat()}).",
            {"start": rules.experiment.start.isoformat(), "end": rules.experiment.end.isoformat()},
        )
    )
    return Eligibility(organisation_id=organisation_id, on_date=on_date, criteria=tuple(criteria))


async def check_eligibility(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    rules: CourtRules,
    on_date: date,
    max_premises: int | None = None,
) -> Eligibility:
    """Evaluate an organisation; premises come from the accounts registry unless the caller gives them."""
    org = await session.get(Organisation, organisation_id)
    if org is None:
        raise d.NotFoundError(f"Organisation {organisation_id} not found.")
    if max_premises is not None:
        by_month: dict[int, int] | None = {0: max_premises}
        source = "caller"
    else:
        by_month = await premises_stats(organisation_id, rules.premises_year, session=session)
        source = "accounts_registry"
        if not any(by_month.values()):
            by_month, source = None, "none"
    return evaluate(
        organisation_id=org.id,
        org_type=org.org_type,
        region=org.region_code,
        premises_by_month=by_month,
        premises_source=source,
        on_date=on_date,
        rules=rules,
    )
