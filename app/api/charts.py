"""Server-side SVG charts of the dashboard: geometry computed here, drawn by `templates/blocks/charts.html`.

No JavaScript and no CDN: the page is plain HTML + inline SVG, so it works offline and in any browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.api.i18n import Translator, format_month_short
from app.domain.monitoring.figures import BUCKET_NAMES
from app.domain.monitoring.trend import DebtPoint

WIDTH, HEIGHT = 640, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 8, 8, 22, 36


@dataclass(frozen=True)
class Bar:
    """One bar: geometry, its key (bucket name or month), its label and formatted value."""

    key: str
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    raw: str


@dataclass(frozen=True)
class Point:
    """One point of a line: geometry, month key, axis label and formatted value."""

    key: str
    month: date
    x: float
    y: float
    label: str
    value: str
    raw: str
    show_label: bool


@dataclass(frozen=True)
class Chart:
    """What the template draws: a viewBox, bars or a polyline with points."""

    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...] = ()
    points: tuple[Point, ...] = ()
    peak: str = ""

    @property
    def polyline(self) -> str:
        """Return the SVG `points` attribute of the line."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _scale(values: list[Decimal]) -> Decimal:
    peak = max(values, default=Decimal(0))
    return peak if peak > 0 else Decimal(1)


def ageing_chart(point: DebtPoint, tr: Translator) -> Chart:
    """Bars of the month's overdue debt per ageing bucket (≤ 1, 2–3, 4–6, 7–12, 13–36, > 36 months)."""
    values = [point.ages.get(name, Decimal(0)) for name in BUCKET_NAMES]
    peak = _scale(values)
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / len(values)
    bars = []
    for i, (name, value) in enumerate(zip(BUCKET_NAMES, values, strict=True)):
        h = float(Decimal(plot_h) * value / peak) if value > 0 else 0.0
        bars.append(
            Bar(
                key=name,
                x=round(_LEFT + i * slot + slot * 0.15, 1),
                y=round(_TOP + plot_h - h, 1),
                width=round(slot * 0.7, 1),
                height=round(h, 1),
                label=tr.t(name),
                value=tr.money(value),
                raw=str(value),
            )
        )
    return Chart(width=WIDTH, height=HEIGHT, baseline=_TOP + plot_h, bars=tuple(bars), peak=tr.money(peak))


def trend_chart(points: list[DebtPoint], tr: Translator) -> Chart:
    """A line of overdue debt at month end over the stored months (up to 36), oldest on the left."""
    values = [p.debt for p in points]
    peak = _scale(values)
    plot_h = HEIGHT - _TOP - _BOTTOM
    plot_w = WIDTH - _LEFT - _RIGHT - 24
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0
    every = max(1, (len(points) + 11) // 12)  # at most ~12 axis labels
    out = []
    for i, p in enumerate(points):
        x = _LEFT + 12 + (i * step if len(points) > 1 else plot_w / 2)
        y = _TOP + plot_h - float(Decimal(plot_h) * p.debt / peak)
        out.append(
            Point(
                key=p.month.isoformat()[:7],
                month=p.month,
                x=round(x, 1),
                y=round(y, 1),
                label=format_month_short(p.month, tr.lang),
                value=tr.money(p.debt),
                raw=str(p.debt),
                show_label=(len(points) - 1 - i) % every == 0,
            )
        )
    return Chart(width=WIDTH, height=HEIGHT, baseline=_TOP + plot_h, points=tuple(out), peak=tr.money(peak))
