"""Court table matching, rules built from settings, and the experiment's eligibility criteria."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from app.domain.court.eligibility import Eligibility, PremisesCount, evaluate
from app.domain.court.rules import CourtRules, court_rules, house_number, parse_court_table
from tests.conftest import make_settings

COURT = {"name": "Участок", "district": "1", "address": "г. Казань"}


def test_house_number_reads_marked_numbers() -> None:
    assert house_number("г. Казань, ул. Баумана, д. 12к1") == 12
    assert house_number("г. Казань, ул. Баумана, дом 7") == 7
    assert house_number("г. Казань, ул. Баумана") is None


def test_court_table_most_specific_row_wins() -> None:
    fias = uuid.uuid4()
    table = parse_court_table(
        [
            {"region": "16", "court": {**COURT, "district": "region"}},
            {"region": "16", "city": "г. Казань", "court": {**COURT, "district": "city"}},
            {"region": "16", "street": "ул. Баумана", "house_from": 1, "house_to": 9, "parity": "odd",
             "court": {**COURT, "district": "range"}},
            {"fias_house_guids": [str(fias)], "court": {**COURT, "district": "house"}},
        ]
    )  # fmt: skip

    def district(address: str, region: str = "16", guid: uuid.UUID | None = None) -> str | None:
        found = table.find(region=region, address=address, fias_house_guid=guid)
        return found.district if found else None

    assert district("г. Казань, ул. Баумана, д. 7") == "range"
    assert district("г. Казань, ул. Баумана, д. 8") == "city"
    assert district("г. Набережные Челны, пр. Мира, д. 1") == "region"
    assert district("г. Казань, ул. Баумана, д. 7", guid=fias) == "house"
    assert district("г. Москва, ул. Тверская, д. 1", region="77") is None


def test_court_rules_read_every_setting(database_url: str) -> None:
    settings = make_settings(
        database_url,
        court_objection_mode="calendar",
        court_feb_2026_due_day=15,
        court_min_claim_enabled=True,
        court_duty_rounding="kopeck",
        court_moratoria=[{"start": "2020-04-06", "end": "2020-12-31", "debts_before": None}],
    )
    rules = court_rules(settings)
    assert rules.objection.mode == "calendar"
    assert rules.penalty.feb_2026_due_day == 15
    assert rules.min_claim == Decimal("20000")
    assert rules.duty.rounding == "kopeck"
    assert rules.penalty.moratoria[0].period.end == date(2020, 12, 31)


def test_eligibility_criterion_by_criterion() -> None:
    rules = CourtRules(
        thresholds={"management_company": 20_000, "settlement_centre": 200_000},
        pilot_regions=frozenset({"16"}),
    )
    ok = evaluate(
        organisation_id=uuid.uuid4(),
        org_type="management_company",
        region="16",
        premises=PremisesCount({1: 19_000, 5: 21_000}, "accounts_registry"),
        on_date=date(2025, 10, 1),
        rules=rules,
    )
    assert ok.eligible and ok.verdict == "eligible"
    premises = ok.criteria[1]
    assert (premises.value, premises.source, premises.threshold) == (21_000, "accounts_registry", 20_000)
    assert premises.evidence["maximum_month"] == 5
    centre = evaluate(
        organisation_id=uuid.uuid4(),
        org_type="settlement_centre",
        region="77",
        premises=PremisesCount(None, "none"),
        on_date=date(2025, 6, 30),
        rules=rules,
    )
    verdicts = {c.name: c.met for c in centre.criteria}
    assert verdicts == {
        "organisation_type": True,
        "premises": None,
        "software": True,
        "mass_upload": True,
        "period": False,
    }
    assert centre.region.status == "not pilot"
    assert not centre.eligible and centre.verdict == "not_eligible"


def test_eligibility_every_criterion_shows_value_source_threshold() -> None:
    result = evaluate(
        organisation_id=uuid.uuid4(),
        org_type="management_company",
        region="16",
        premises=PremisesCount({3: 25_000}, "caller"),
        on_date=date(2025, 10, 1),
        rules=CourtRules(thresholds={"management_company": 20_000}),
    )
    for criterion in result.criteria:
        assert criterion.value is not None and criterion.source and criterion.threshold, criterion
    assert result.lines()[-1] == "region: not configured (16)"
    assert result.lines()[1].startswith("premises: met — 25000 (threshold 20000; source caller)")


def _centre(premises: int, *, pilots: frozenset[str] = frozenset(), region: str = "16") -> Eligibility:
    return evaluate(
        organisation_id=uuid.uuid4(),
        org_type="settlement_centre",
        region=region,
        premises=PremisesCount({4: premises}, "gis", billing_by_month={4: premises + 10}),
        on_date=date(2025, 12, 1),
        rules=CourtRules(thresholds={"settlement_centre": 200_000}, pilot_regions=pilots),
    )


def test_eligibility_without_region_list_is_eligible_on_published_criteria() -> None:
    at = _centre(200_000)
    assert at.eligible is True and at.verdict == "eligible_on_published_criteria"
    assert at.region.status == "not configured" and "region: not configured" in at.lines()[-1]
    assert at.criteria[1].evidence["difference_by_month"] == {"4": 10}
    below = _centre(199_999)
    assert below.eligible is False and below.verdict == "not_eligible"
    assert [c.name for c in below.criteria if c.met is False] == ["premises"]


def test_eligibility_with_region_list_checks_the_region() -> None:
    assert _centre(200_000, pilots=frozenset({"16"})).verdict == "eligible"
    outside = _centre(200_000, pilots=frozenset({"52"}))
    assert outside.verdict == "not_eligible" and outside.region.status == "not pilot"
    assert all(c.met for c in outside.criteria)
