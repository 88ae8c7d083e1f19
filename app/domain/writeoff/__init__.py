"""Write-off of uncollectable receivables (безнадёжная задолженность): candidates, acts, accounting export.

Modules: `rules` (pure: limitation with suspension and restart, shares), `acts` (candidates from the ledger,
court cases, agreements and recorded impossibilities; acts draft → approved → posted; `written_off_months`
for court packages, notices and answers), `exports` (acts as CSV and XLSX for accounting).
"""

from app.domain.kernel.area import Area
from app.domain.writeoff.acts import (
    Candidate,
    ForgivenPenalty,
    MonthRef,
    PostedHook,
    Pricer,
    act_lines,
    advance_act,
    create_act,
    find_candidates,
    get_act,
    list_acts,
    post_act,
    post_forgiven_penalties,
    record_impossibility,
    written_off_months,
)
from app.domain.writeoff.exports import act_csv, act_xlsx

AREA = Area(name="writeoff")

__all__ = [
    "AREA",
    "Candidate",
    "ForgivenPenalty",
    "MonthRef",
    "PostedHook",
    "Pricer",
    "act_csv",
    "act_lines",
    "act_xlsx",
    "advance_act",
    "create_act",
    "find_candidates",
    "get_act",
    "list_acts",
    "post_act",
    "post_forgiven_penalties",
    "record_impossibility",
    "written_off_months",
]
