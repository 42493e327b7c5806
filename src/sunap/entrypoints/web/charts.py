"""Charts drawn on the server as inline SVG: no script, no other origin, nothing for the CSP to
allow. Colours come from the stylesheet (classes, not style attributes). Each chart is a figure
with a caption, an SVG with a text description, and its numbers as a table for screen readers and
for anyone who wants the exact values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup

from .i18n import Translator

WIDTH, HEIGHT = 420, 200
LEFT, RIGHT, TOP, BOTTOM = 50, 8, 12, 28
MAX_X_LABELS = 6


@dataclass(frozen=True)
class Series:
    title: str
    labels: Sequence[str]  # one per bucket, oldest first
    values: Sequence[float | None]  # None: nothing to measure in that bucket
    texts: Sequence[str]  # each value as a person reads it
    kind: Literal["bars", "line"]
    tick: Callable[[float], str]  # an axis value as text
    scale_to: float | None = None  # a fixed top of the scale (rates: 1.0)


def chart(series: Series, chart_id: str, t: Translator) -> Markup:
    known = [v for v in series.values if v is not None]
    top = series.scale_to or max(known, default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(series.values), 1)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts: list[Markup] = []
    for fraction in (0.0, 0.5, 1.0):
        level = f"{y(top * fraction):.1f}"
        parts.append(
            Markup(
                '<line class="grid" x1="{x1}" x2="{x2}" y1="{y}" y2="{y}"/>'
                '<text class="axis" x="{tx}" y="{y}" dy="4" text-anchor="end">{text}</text>'
            ).format(
                x1=LEFT, x2=WIDTH - RIGHT, y=level, tx=LEFT - 6, text=series.tick(top * fraction)
            )
        )
    every = max(1, -(-len(series.labels) // MAX_X_LABELS))
    for i, label in enumerate(series.labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            parts.append(
                Markup('<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>').format(
                    f"{x:.1f}", HEIGHT - 10, label
                )
            )
    if not known or (series.kind == "bars" and not any(known)):
        parts.append(
            Markup('<text class="none" x="{}" y="{}" text-anchor="middle">{}</text>').format(
                f"{LEFT + plot_w / 2:.1f}", f"{TOP + plot_h / 2:.1f}", t("chart_empty")
            )
        )
    elif series.kind == "bars":
        parts += _bars(series, step, y)
    else:
        parts += _line(series, step, y)
    highest = max(range(len(series.values)), key=lambda i: series.values[i] or 0, default=None)
    summary = t(
        "chart_summary",
        count=len(series.values),
        max=series.texts[highest] if highest is not None and known else "—",
    )
    return Markup(
        '<figure class="chart" id="{id}"><figcaption id="{id}-title">{title}</figcaption>'
        '<svg role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" '
        'xmlns="http://www.w3.org/2000/svg"><desc id="{id}-desc">{summary}</desc>{body}</svg>'
        "{table}</figure>"
    ).format(
        id=chart_id,
        title=series.title,
        w=WIDTH,
        h=HEIGHT,
        summary=summary,
        body=Markup("").join(parts),
        table=_table(series, t),
    )


def _bars(series: Series, step: float, y: Callable[[float], float]) -> list[Markup]:
    width = step * 0.7
    drawn = []
    for i, (value, text, label) in enumerate(
        zip(series.values, series.texts, series.labels, strict=True)
    ):
        if not value:
            continue
        x = LEFT + step * i + (step - width) / 2
        drawn.append(
            Markup(
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}: {}</title></rect>"
            ).format(
                f"{x:.1f}", f"{y(value):.1f}", f"{width:.1f}", f"{y(0) - y(value):.1f}", label, text
            )
        )
    return drawn


def _line(series: Series, step: float, y: Callable[[float], float]) -> list[Markup]:
    drawn: list[Markup] = []
    run: list[str] = []
    points = zip(series.values, series.texts, series.labels, strict=True)
    for i, (value, text, label) in enumerate(points):
        if value is None:  # no decision in that bucket: a gap, not a zero
            drawn += _polyline(run)
            run = []
            continue
        x = LEFT + step * (i + 0.5)
        run.append(f"{x:.1f},{y(value):.1f}")
        drawn.append(
            Markup(
                '<circle class="dot" cx="{}" cy="{}" r="3.5"><title>{}: {}</title></circle>'
            ).format(f"{x:.1f}", f"{y(value):.1f}", label, text)
        )
    return _polyline(run) + drawn


def _polyline(points: list[str]) -> list[Markup]:
    if len(points) < 2:
        return []
    return [Markup('<polyline class="line" points="{}"/>').format(" ".join(points))]


def _table(series: Series, t: Translator) -> Markup:
    rows = Markup("").join(
        Markup("<tr><th scope='row'>{}</th><td class='num'>{}</td></tr>").format(label, text)
        for label, text in zip(series.labels, series.texts, strict=True)
    )
    return Markup(
        "<details><summary>{summary}</summary><table class='list'><thead><tr>"
        "<th scope='col'>{period}</th><th scope='col'>{value}</th></tr></thead>"
        "<tbody>{rows}</tbody></table></details>"
    ).format(summary=t("chart_data"), period=t("period"), value=t("value"), rows=rows)


def compact_money(amount: float, t: Translator) -> str:
    """An axis label: 1,500,000 → 150만 / ₩1.5M."""
    if t.lang == "ko":
        for size, unit in ((100_000_000, "억"), (10_000, "만")):
            if amount >= size:
                return f"{amount / size:,.3g}{unit}"
        return f"{amount:,.0f}"
    for size, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if amount >= size:
            return f"₩{amount / size:,.3g}{unit}"
    return f"₩{amount:,.0f}"
