"""Court orders (судебный приказ, the 2025–2026 experiment): eligibility to the registry of confirmed debts.

Modules: `rules` (the court table, jurisdiction, the experiment's settings), `eligibility` (may an
organisation take part), `assessment` (the per-debtor rules: limitation, penalties, the 500,000 ₽ limit,
identifiers, duty), `readiness` (runs of assessments over an organisation's accounts), `packages` (application
packages), `adapters` (package formats), `documents` (the e-filing PDFs), `exports` (signed ZIPs per court),
`cases` (court cases and their events), `registry` (GIS's registry of court-confirmed debts),
`outcomes` (court outcomes imported in bulk), `premises_gis` (residential premises placed in GIS per
month, counted from GIS's accounts and payment documents), `duty` (state duty, НК РФ ст. 333.19), `cli`
(`gisgw court`).

`duty` lives here because only a court application pays a state duty. Penalties (ЖК РФ ст. 155 ч. 14, with the
statutory due date of ч. 1) and the limitation period (ГК РФ ст. 196, 200) live in the kernel: the accounts
import computes due dates with them too, and accounts must not import the court area that imports accounts.
"""

from app.domain.court.cases import apply_event, attach_act_file, delete_draft, get_case, list_cases
from app.domain.court.eligibility import check_eligibility
from app.domain.court.exports import EXPORT_JOB, run_export_job
from app.domain.court.notice_runs import run_notice_run
from app.domain.court.outcomes import OUTCOMES_JOB, request_outcomes_import, run_outcomes_job
from app.domain.court.packages import (
    PACKAGES_JOB,
    create_case_for_accounts,
    request_packages,
    run_packages_job,
)
from app.domain.court.premises_gis import COUNT_JOB, queue_count, run_count_job, stored_counts
from app.domain.court.readiness import (
    READINESS_JOB,
    get_run,
    list_results,
    request_readiness,
    run_readiness_job,
)
from app.domain.court.registry import (
    RECONCILE_JOB,
    REGISTRY_JOB,
    confirmed_debts_for_accounts,
    list_debts,
    request_reconcile,
    request_registry_action,
    run_reconcile,
    run_registry_action,
)
from app.domain.court.rules import CourtRules, court_rules
from app.domain.court.written_off import (
    WRITE_OFF_REGISTRY_JOB,
    run_write_off_registry,
    run_write_off_selection,
)
from app.domain.kernel.area import Area
from app.domain.monitoring.notices import RUN_JOB as NOTICE_RUN_JOB
from app.domain.writeoff import SELECTION_JOB

AREA = Area(
    name="court",
    jobs={
        READINESS_JOB: run_readiness_job,
        PACKAGES_JOB: run_packages_job,
        REGISTRY_JOB: run_registry_action,
        RECONCILE_JOB: run_reconcile,
        OUTCOMES_JOB: run_outcomes_job,
        COUNT_JOB: run_count_job,
        # Write-off's candidate selection: priced as readiness prices penalties (see court.written_off).
        SELECTION_JOB: run_write_off_selection,
        WRITE_OFF_REGISTRY_JOB: run_write_off_registry,
        EXPORT_JOB: run_export_job,
        # Pre-court notice runs (monitoring's): priced with the court rules' penalty settings.
        NOTICE_RUN_JOB: run_notice_run,
    },
)

__all__ = [
    "AREA",
    "PACKAGES_JOB",
    "CourtRules",
    "apply_event",
    "attach_act_file",
    "check_eligibility",
    "confirmed_debts_for_accounts",
    "court_rules",
    "create_case_for_accounts",
    "delete_draft",
    "get_case",
    "get_run",
    "list_cases",
    "list_debts",
    "list_results",
    "request_outcomes_import",
    "request_packages",
    "queue_count",
    "request_readiness",
    "request_reconcile",
    "request_registry_action",
    "stored_counts",
]
