"""Write-off of uncollectable receivables (безнадёжная задолженность): candidates, acts, accounting export.

Modules: `rules` (pure: limitation with suspension and restart, shares), `selection` (candidates from the
ledger, court cases, agreements and recorded impossibilities, streamed for whole organisations;
`written_off_months` for court packages, notices and answers), `acts` (acts draft → approved → posted,
impossibilities), `exports` (acts as CSV and XLSX for accounting).
"""

from app.domain.kernel.area import Area
from app.domain.writeoff.acts import (
    ActTotals,
    ForgivenPenalty,
    MonthRef,
    PostedHook,
    act_lines,
    act_totals,
    advance_act,
    create_act,
    draft_act,
    get_act,
    list_acts,
    post_act,
    post_forgiven_penalties,
    record_impossibility,
    request_selection,
)
from app.domain.writeoff.exports import act_csv, act_xlsx
from app.domain.writeoff.selection import (
    SELECTION_JOB,
    Candidate,
    Pricer,
    Selection,
    count_ledgers,
    find_candidates,
    iter_candidates,
    load_selection,
    select_all,
    written_off_months,
)

AREA = Area(name="writeoff")

__all__ = [
    "AREA",
    "ActTotals",
    "SELECTION_JOB",
    "Candidate",
    "ForgivenPenalty",
    "MonthRef",
    "PostedHook",
    "Selection",
    "Pricer",
    "act_csv",
    "act_lines",
    "act_totals",
    "act_xlsx",
    "count_ledgers",
    "advance_act",
    "create_act",
    "draft_act",
    "find_candidates",
    "get_act",
    "iter_candidates",
    "list_acts",
    "load_selection",
    "post_act",
    "post_forgiven_penalties",
    "record_impossibility",
    "request_selection",
    "select_all",
    "written_off_months",
]
