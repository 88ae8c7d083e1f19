"""Penalty amnesty campaigns: simulate, launch, forgive the penalties of debtors who paid, report.

One module, `campaigns`; forgiven penalties are written off by a posted act of the write-off area.
"""

from app.domain.amnesty.campaigns import (
    CampaignInput,
    Qualifier,
    Report,
    Simulation,
    create_campaign,
    get_campaign,
    launch,
    report,
    run_campaign,
    select_debtors,
    simulate,
)
from app.domain.kernel.area import Area

AREA = Area(name="amnesty")

__all__ = [
    "AREA",
    "CampaignInput",
    "Qualifier",
    "Report",
    "Simulation",
    "create_campaign",
    "get_campaign",
    "launch",
    "report",
    "run_campaign",
    "select_debtors",
    "simulate",
]
