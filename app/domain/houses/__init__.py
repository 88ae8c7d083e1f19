"""GIS house and premises data (issue #17): sync, the monthly change feed, webhooks, data quality, reports.

Modules: `snapshot` (pure: snapshot rows, payer hashes, month-to-month changes), `sync` (the `houses-sync`
operation: per house exportHouseData + exportAccountData through the GIS port → snapshot → changes, and its
schedule), `queries` (houses, premises, the feed, the delivery log), `webhooks` (signed deliveries, the loop),
`subscriptions` (subscribers from settings and the API),
`quality` (data-quality figures and their rows), `reports` (XLSX).
"""

from app.domain.houses.queries import ChangeFilter, get_house, list_changes, list_deliveries, list_houses
from app.domain.houses.subscriptions import create_subscription, delete_subscription, list_subscriptions
from app.domain.houses.sync import SYNC_JOB, queue_sync, run_sync_job, sync_loop
from app.domain.houses.webhooks import webhook_loop
from app.domain.kernel.area import Area

AREA = Area(
    name="houses",
    jobs={SYNC_JOB: run_sync_job},
    loops={"houses-webhooks": webhook_loop, "houses-sync": sync_loop},
)

__all__ = [
    "AREA",
    "SYNC_JOB",
    "ChangeFilter",
    "get_house",
    "list_changes",
    "list_deliveries",
    "list_houses",
    "create_subscription",
    "delete_subscription",
    "list_subscriptions",
    "queue_sync",
]
