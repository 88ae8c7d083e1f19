"""The debt-request workflow (ЖК РФ ст. 159, 160): fetch, match, answer, send, revoke, archive.

Modules: `fetch` (GIS → local, ≤ 6-month windows, pages), `matching` (accounts, debt), `answers` (validation,
per-request and mass "no debt" answers, documents, pre-fill), `sending` (batches of ≤ 100, results by
TransportGUID, reconcile), `archive`, `queries` (lists, detail, gauges), `jobs` (operations and the loop),
`gateway` (the port over the GIS exchange engine).
"""

from app.domain.debt_requests import nsi
from app.domain.debt_requests.answers import (
    AnswerInput,
    DefendantInput,
    IdentityDocumentInput,
    add_document,
    answer_no_debt,
    delete_document,
    set_answer,
)
from app.domain.debt_requests.archive import archive as archive_request
from app.domain.debt_requests.archive import delete_archived
from app.domain.debt_requests.common import REF_KIND, DsrGateway, calendar_rules
from app.domain.debt_requests.gateway import on_batch_finished
from app.domain.debt_requests.jobs import (
    FETCH,
    MATCH,
    NSI,
    RECONCILE,
    REVOKE,
    SEND,
    MatchOptions,
    fetch_job,
    fetch_loop,
    match_job,
    nsi_job,
    queue_fetch,
    queue_match,
    queue_nsi_refresh,
    reconcile_job,
    revoke_job,
    send_job,
)
from app.domain.debt_requests.queries import (
    DebtRequestFilter,
    answers_for,
    get_detail,
    list_requests,
    matching_requests,
    refresh_gauges,
)
from app.domain.debt_requests.sending import apply_batch_results, queue_revoke, queue_send
from app.domain.kernel.area import Area

AREA = Area(
    name="debt_requests",
    jobs={
        FETCH: fetch_job,
        MATCH: match_job,
        NSI: nsi_job,
        SEND: send_job,
        REVOKE: revoke_job,
        RECONCILE: reconcile_job,
    },
    loops={"debt-fetch": fetch_loop},
    gauges=[refresh_gauges],
    completion_hooks={REF_KIND: on_batch_finished},
)

__all__ = [
    "AREA",
    "AnswerInput",
    "DebtRequestFilter",
    "DefendantInput",
    "DsrGateway",
    "IdentityDocumentInput",
    "MatchOptions",
    "add_document",
    "answer_no_debt",
    "answers_for",
    "apply_batch_results",
    "archive_request",
    "calendar_rules",
    "delete_archived",
    "delete_document",
    "get_detail",
    "list_requests",
    "matching_requests",
    "queue_fetch",
    "queue_match",
    "queue_nsi_refresh",
    "nsi",
    "queue_revoke",
    "queue_send",
    "set_answer",
]
