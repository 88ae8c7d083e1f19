"""GIS house and premises data (issue #17): sync, the monthly change feed, webhooks, data quality, reports.

Modules: `snapshot` (pure: snapshot rows, payer hashes, month-to-month changes), `gateway` (the port over the
GIS exchange engine), `sync` (the `houses-sync` operation: per house exportHouseData + exportAccountData →
snapshot → changes), `queries` (houses, premises, the feed, the delivery log), `webhooks` (signed deliveries,
the loop), `quality` (data-quality figures and their rows), `reports` (XLSX).
"""

from app import workers
from app.domain.houses.queries import ChangeFilter, get_house, list_changes, list_deliveries, list_houses
from app.domain.houses.sync import SYNC_JOB, queue_sync, sync_loop
from app.domain.houses.webhooks import webhook_loop


def register() -> None:
    """Register the webhook and schedule loops with the workers (idempotent); the job registers on import."""
    workers.LOOPS["houses-webhooks"] = webhook_loop
    workers.LOOPS["houses-sync"] = sync_loop


register()

__all__ = [
    "SYNC_JOB",
    "ChangeFilter",
    "get_house",
    "list_changes",
    "list_deliveries",
    "list_houses",
    "queue_sync",
    "register",
]
