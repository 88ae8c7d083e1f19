"""Repayment agreements (соглашения о погашении задолженности): schedules, payment matching, breach.

Modules: `schedule` (pure rules: instalment dates and amounts, matching, breach), `service` (create, match,
lists, `kept_agreement_accounts` for court readiness, debt answers and restriction), `document` (the PDF),
`jobs` (the loops: on schedule and after every accounts import).
"""

from app.domain.agreements.jobs import after_import_loop, refresh_loop
from app.domain.agreements.service import (
    AgreementCounts,
    AgreementInput,
    ScheduleInput,
    agreement_document,
    count_agreements,
    create_agreement,
    get_agreement,
    instalments_of,
    kept_agreement_accounts,
    list_agreements,
    match_agreement,
    refresh_agreements,
)
from app.domain.kernel.area import Area

AREA = Area(
    name="agreements",
    loops={"agreements-refresh": refresh_loop, "agreements-after-import": after_import_loop},
)

__all__ = [
    "AREA",
    "AgreementCounts",
    "AgreementInput",
    "ScheduleInput",
    "agreement_document",
    "count_agreements",
    "create_agreement",
    "get_agreement",
    "instalments_of",
    "kept_agreement_accounts",
    "list_agreements",
    "match_agreement",
    "refresh_agreements",
]
