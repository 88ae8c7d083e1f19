"""Court table matching, rules built from settings, and the experiment's eligibility criteria."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from app.domain.court.eligibility import evaluate
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
        premises_by_month={1: 19_000, 5: 21_000},
        premises_source="accounts_registry",
        on_date=date(2025, 10, 1),
        rules=rules,
    )
    assert ok.eligible and ok.criteria[1].evidence["maximum"] == 21_000
    centre = evaluate(
        organisation_id=uuid.uuid4(),
        org_type="settlement_centre",
        region="77",
        premises_by_month=None,
        premises_source="none",
        on_date=date(2025, 6, 30),
        rules=rules,
    )
    verdicts = {c.name: c.met for c in centre.criteria}
    assert verdicts == {
        "organisation_type": True,
        "premises": None,
        "software": True,
        "pilot_region": False,
        "period": False,
    }
    assert not centre.eligible
