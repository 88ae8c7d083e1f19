"""Pre-court notice runs as operations: priced as readiness prices penalties (the court rules' settings).

The run itself is the monitoring area's (`app.domain.monitoring.notices`); it lives there, this only hands it
the penalty rules, as `written_off` does for write-off's selection: the court area reads the court settings.
"""

from __future__ import annotations

from typing import Any

from app.context import AppContext
from app.db.models.core import Operation
from app.domain.court.rules import court_rules
from app.domain.kernel import operations as ops
from app.domain.monitoring import notices


async def run_notice_run(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Process a queued notice run in committed steps; a restarted operation resumes after the last step."""
    return await notices.run_job(
        op,
        progress,
        ctx.sessionmaker,
        penalty_rules=court_rules(ctx.settings).penalty,
        chunk=ctx.settings.monitoring.notice_chunk,
    )
