"""Debt monitoring and pre-court work (domain-rules §11–§12).

Modules: `figures` (one account's month: charged, paid, overdue debt, ageing; pure), `snapshots` (monthly
snapshots per organisation, house and consumer category: computed, stored, recomputed on request), `exports`
(CSV and XLSX of a snapshot), `report` (the monthly report to the municipality), `notices` (pre-court notices:
selection rules, the delivery journal), `documents` (notice PDFs, the mail register), `mail` (SMTP),
`exclusions` (debtors under a kept agreement: the agreements area's plug), `restriction` (ПП 354 timelines),
`gis_notices` (notices through GIS ZhKKh: news with the DeptsInforming addressee, exactly once, recall).
"""

from app.domain.kernel.area import Area
from app.domain.monitoring import gis_notices
from app.domain.monitoring.snapshots import SNAPSHOT_JOB, run_snapshot_job

AREA = Area(
    name="monitoring",
    jobs={
        SNAPSHOT_JOB: run_snapshot_job,
        gis_notices.SEND_JOB: gis_notices.send_job,
        gis_notices.RECALL_JOB: gis_notices.recall_job,
    },
    loops={"notice-gis": gis_notices.gis_loop},
    completion_hooks={gis_notices.REF_KIND: gis_notices.on_exchange_finished},
)

__all__ = ["AREA", "SNAPSHOT_JOB"]
