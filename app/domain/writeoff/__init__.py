"""Write-off of uncollectable receivables (безнадёжная задолженность): candidates, acts, accounting export.

Modules: `rules` (pure: limitation with suspension and restart, shares), `acts` (candidates from the ledger,
court cases, agreements and recorded impossibilities; acts draft → approved → posted; CSV export;
`written_off_months` for court packages, notices and answers).
"""

from app.domain.kernel.area import Area
from app.domain.writeoff.acts import (
    Candidate,
    ForgivenPenalty,
    MonthRef,
    Pricer,
    act_csv,
    act_lines,
    advance_act,
    create_act,
    find_candidates,
    get_act,
    list_acts,
    post_forgiven_penalties,
    record_impossibility,
    written_off_months,
)

AREA = Area(name="writeoff")

__all__ = [
    "AREA",
    "Candidate",
    "ForgivenPenalty",
    "MonthRef",
    "Pricer",
    "act_csv",
    "act_lines",
    "advance_act",
    "create_act",
    "find_candidates",
    "get_act",
    "list_acts",
    "post_forgiven_penalties",
    "record_impossibility",
    "written_off_months",
]
