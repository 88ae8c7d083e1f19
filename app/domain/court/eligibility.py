"""Eligibility of an organisation for the 2025-2026 court-order experiment (domain-rules §7).

Published criteria [P] (the decree text is not published; thresholds and dates are settings): the organisation
type is in the participant table; its monthly maximum of residential premises placed in GIS during the year
reaches the type's threshold; it has software automating court collection (this gateway, with the capabilities
switched on) ready for mass upload; the date is within the experiment period. The pilot-region list is not
published: it is a separate line, and without a configured list the verdict is "eligible on the published
criteria", never a silent no.

The premises figure is the one counted from GIS (`premises_gis`, source `gis_payment_documents`: premises with
a payment document placed in GIS that month), with billing's count of the same months and the difference
beside it. Until GIS has been counted, billing's figure stands in (source `accounts_registry`, marked so).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.domain.accounts.registry import premises_stats
from app.domain.court import premises_gis
from app.domain.court.rules import CourtRules
from app.domain.kernel import errors as d

try:
    GATEWAY_VERSION = metadata.version("gisgw")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    GATEWAY_VERSION = "dev"

#: Capabilities that make the gateway "software automating court collection" (the registry is extra).
REQUIRED_CAPABILITIES = ("readiness", "packages", "cases")
#: Package formats the packages capability produces (docs/court-orders.md §3).
PACKAGE_FORMATS = ("jsonl", "html")


#: Verdicts: every published criterion met and the region a pilot one; met with no region list configured;
#: a criterion (or the configured region list) failed; a criterion unknown (data missing).
Verdict = Literal["eligible", "eligible_on_published_criteria", "not_eligible", "undetermined"]
RegionStatus = Literal["pilot", "not pilot", "not configured"]


@dataclass(frozen=True)
class Criterion:
    """One published criterion: met, not met or unknown (None), with its value, source and threshold."""

    name: str
    met: bool | None
    value: Any
    source: str
    threshold: Any
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """Return the criterion as one human line: name, verdict, value, threshold and source."""
        verdict = {True: "met", False: "not met", None: "unknown"}[self.met]
        return f"{self.name}: {verdict} — {self.value} (threshold {self.threshold}; source {self.source})"


@dataclass(frozen=True)
class RegionLine:
    """The pilot-region check, kept apart from the published criteria: the region list is not published."""

    status: RegionStatus
    region: str | None
    pilot_regions: tuple[str, ...]
    message: str

    def line(self) -> str:
        """Return the region as one human line ("region: not configured" when no list is set)."""
        return f"region: {self.status}" + (f" ({self.region})" if self.region else "")


@dataclass(frozen=True)
class Eligibility:
    """The answer: the published criteria one by one, the region line and the verdict they give."""

    organisation_id: uuid.UUID
    on_date: date
    criteria: tuple[Criterion, ...]
    region: RegionLine

    @property
    def verdict(self) -> Verdict:
        """Combine the criteria and the region; an unconfigured region list never turns into a silent no."""
        if any(c.met is False for c in self.criteria) or self.region.status == "not pilot":
            return "not_eligible"
        if any(c.met is None for c in self.criteria):
            return "undetermined"
        return "eligible" if self.region.status == "pilot" else "eligible_on_published_criteria"

    @property
    def eligible(self) -> bool:
        """Whether the organisation qualifies, on the published criteria when no region list is configured."""
        return self.verdict in ("eligible", "eligible_on_published_criteria")

    def lines(self) -> list[str]:
        """Return one human line per criterion, then the region line."""
        return [c.line() for c in self.criteria] + [self.region.line()]


@dataclass(frozen=True)
class PremisesCount:
    """Residential premises per month of the year from one source, and the billing count beside it."""

    by_month: dict[int, int] | None
    source: str
    billing_by_month: dict[int, int] | None = None
    counted_at: str | None = None


def _premises(count: PremisesCount, threshold: int | None, rules: CourtRules) -> Criterion:
    by_month = count.by_month
    maximum = max(by_month.values(), default=0) if by_month is not None else None
    best_month = max(by_month, key=lambda m: by_month[m]) if by_month else None
    billing = count.billing_by_month
    evidence: dict[str, Any] = {
        "year": rules.premises_year,
        "source": count.source,
        "by_month": {str(k): v for k, v in sorted((by_month or {}).items())},
        "maximum": maximum,
        "maximum_month": best_month,
        "threshold": threshold,
        "counted_at": count.counted_at,
        "months_counted": len(by_month or {}),
    }
    if billing is not None:
        evidence["billing_by_month"] = {str(k): v for k, v in sorted(billing.items())}
        evidence["billing_maximum"] = max(billing.values(), default=0)
        if by_month is not None:
            # The difference shows premises billed but not placed in GIS (positive) or the reverse.
            evidence["difference_by_month"] = {
                str(m): billing.get(m, 0) - by_month.get(m, 0) for m in sorted(set(billing) | set(by_month))
            }
    if count.source != premises_gis.SOURCE and count.source != "caller":
        # The criterion counts premises placed in GIS; billing is shown only until GIS has been counted.
        evidence["gis_count"] = (
            "not counted yet: POST /api/v1/court-orders/premises-count counts the premises placed in GIS"
        )
    if maximum is None:
        met: bool | None = None
        message = (
            "No premises figure: count the premises placed in GIS (POST /api/v1/court-orders/premises-count),"
            " import the accounts registry or pass max_premises."
        )
    elif threshold is None:
        met, message = False, "No threshold for this organisation type."
    else:
        met = maximum >= threshold
        message = (
            f"Monthly maximum of {maximum:,} residential premises in {rules.premises_year} "
            f"({count.source}) {'reaches' if met else 'is below'} the threshold of {threshold:,}."
        )
    return Criterion("premises", met, maximum, count.source, threshold, message, evidence)


def evaluate(
    *,
    organisation_id: uuid.UUID,
    org_type: str,
    region: str | None,
    premises: PremisesCount,
    on_date: date,
    rules: CourtRules,
) -> Eligibility:
    """Evaluate the experiment's published criteria and the region from plain facts (pure)."""
    threshold = rules.thresholds.get(org_type)
    types = sorted(rules.thresholds)
    criteria: list[Criterion] = [
        Criterion(
            "organisation_type",
            threshold is not None,
            org_type,
            "organisation registry of the gateway",
            "one of " + ", ".join(types),
            f"Type '{org_type}' takes part in the experiment."
            if threshold is not None
            else f"Type '{org_type}' is not among the experiment's participant types.",
            {"org_type": org_type, "participant_types": types},
        ),
        _premises(premises, threshold, rules),
    ]
    on = sorted(rules.capabilities)
    missing = [c for c in REQUIRED_CAPABILITIES if c not in rules.capabilities]
    criteria.append(
        Criterion(
            "software",
            not missing,
            f"gisgw {GATEWAY_VERSION}: " + (", ".join(on) or "no capabilities"),
            "GISGW_COURT_CAPABILITIES",
            "capabilities " + ", ".join(REQUIRED_CAPABILITIES),
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
    bulk = "packages" in rules.capabilities
    criteria.append(
        Criterion(
            "mass_upload",
            bulk,
            "bulk packages as resumable operations, formats " + ", ".join(PACKAGE_FORMATS)
            if bulk
            else "packages switched off",
            "GISGW_COURT_CAPABILITIES",
            "capability packages",
            "Applications are built in bulk, one operation per run; the GIS operator's own upload format "
            "is not published and becomes one more package format when it is."
            if bulk
            else "Switch on the capability packages (GISGW_COURT_CAPABILITIES) to build applications "
            "in bulk.",
            {"formats": list(PACKAGE_FORMATS)},
        )
    )
    within = rules.experiment.contains(on_date)
    period = f"{rules.experiment.start.isoformat()} – {rules.experiment.end.isoformat()}"
    criteria.append(
        Criterion(
            "period",
            within,
            on_date.isoformat(),
            "GISGW_COURT_EXPERIMENT_START / GISGW_COURT_EXPERIMENT_END",
            period,
            f"{on_date.isoformat()} is {'within' if within else 'outside'} the experiment ({period}).",
            {"start": rules.experiment.start.isoformat(), "end": rules.experiment.end.isoformat()},
        )
    )
    pilots = tuple(sorted(rules.pilot_regions))
    if not pilots:
        line = RegionLine(
            "not configured",
            region,
            pilots,
            "The pilot regions are not published: the verdict rests on the published criteria; "
            "configure GISGW_COURT_PILOT_REGIONS once the list is known.",
        )
    elif region is not None and region in rules.pilot_regions:
        line = RegionLine("pilot", region, pilots, f"Region {region} is a pilot region.")
    else:
        line = RegionLine(
            "not pilot", region, pilots, f"Region {region or 'unknown'} is not among the pilot regions."
        )
    return Eligibility(
        organisation_id=organisation_id, on_date=on_date, criteria=tuple(criteria), region=line
    )


async def check_eligibility(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    rules: CourtRules,
    on_date: date,
    max_premises: int | None = None,
) -> Eligibility:
    """Evaluate an organisation on the premises counted in GIS (billing's until counted, or the caller's)."""
    org = await session.get(Organisation, organisation_id)
    if org is None:
        raise d.NotFoundError(f"Organisation {organisation_id} not found.")
    if max_premises is not None:
        count = PremisesCount({0: max_premises}, "caller")
    else:
        billing = await premises_stats(organisation_id, rules.premises_year, session=session)
        counted = await premises_gis.stored_counts(session, organisation_id, rules.premises_year)
        if counted:
            # The published criterion: premises placed in GIS, counted from GIS's own accounts and documents.
            count = PremisesCount(
                {c.month: c.gis_premises for c in counted},
                premises_gis.SOURCE,
                billing_by_month=billing,
                counted_at=max(c.counted_at for c in counted).isoformat(),
            )
        elif any(billing.values()):
            count = PremisesCount(billing, "accounts_registry")
        else:
            count = PremisesCount(None, "none")
    return evaluate(
        organisation_id=org.id,
        org_type=org.org_type,
        region=org.region_code,
        premises=count,
        on_date=on_date,
        rules=rules,
    )
