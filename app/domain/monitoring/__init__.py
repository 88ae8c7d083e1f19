"""Debt monitoring and pre-court work (domain-rules §11–§12).

Modules: `figures` (one account's month: charged, paid, overdue debt, ageing; pure), `snapshots` (monthly
snapshots per organisation, house and consumer category: computed, stored, recomputed on request), `exports`
(CSV and XLSX of a snapshot), `report` (the monthly report to the municipality), `notices` (pre-court notices:
selection rules, the delivery journal), `documents` (notice PDFs, the mail register), `mail` (SMTP),
`exclusions` (debtors under a kept agreement: the agreements area's plug), `restriction` (ПП 354 timelines).
"""

from app.domain.kernel.area import Area
from app.domain.monitoring.snapshots import SNAPSHOT_JOB, run_snapshot_job

AREA = Area(name="monitoring", jobs={SNAPSHOT_JOB: run_snapshot_job})

__all__ = ["AREA", "SNAPSHOT_JOB"]
