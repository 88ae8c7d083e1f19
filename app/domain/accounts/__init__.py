"""Personal accounts (лицевые счета): the registry, premises keys, ledgers, the billing import, the GIS sync.

Modules: `registry` (search, one account, premises statistics, ledgers), `premises` (the premises matching
key), `ledger` (an account's months as one stored row), `rows` (the billing import's row schema), `readers`
(JSON Lines and CSV), `importing` (the import job), `import_fast` (its COPY encoder), `sync` (accounts from
GIS's house management).
"""

from app.domain.accounts.importing import (
    IMPORT_JOB,
    import_file,
    queue_import,
    run_import_job,
    store_upload,
    upsert_accounts,
)
from app.domain.accounts.readers import sniff_format
from app.domain.accounts.registry import (
    AccountHit,
    AccountQuery,
    find_accounts_for_premises,
    get_account,
    ledger_for_accounts,
    premises_stats,
    search_accounts,
)
from app.domain.accounts.rows import ImportReport, account_id_for
from app.domain.accounts.sync import SYNC_JOB, Selector, queue_sync, run_sync_job
from app.domain.kernel.area import Area

AREA = Area(name="accounts", jobs={IMPORT_JOB: run_import_job, SYNC_JOB: run_sync_job})

__all__ = [
    "AREA",
    "IMPORT_JOB",
    "AccountHit",
    "AccountQuery",
    "ImportReport",
    "Selector",
    "account_id_for",
    "find_accounts_for_premises",
    "get_account",
    "import_file",
    "ledger_for_accounts",
    "premises_stats",
    "queue_import",
    "queue_sync",
    "run_import_job",
    "search_accounts",
    "sniff_format",
    "store_upload",
    "upsert_accounts",
]
