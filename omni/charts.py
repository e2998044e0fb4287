"""Charts drawn on the server as inline SVG: no script, no library, no network.

Two shapes cover what staff look at: columns over categories (days, campaigns), stacked
or side by side, and horizontal bars (one value per place). Each returns safe markup
with a title and a text alternative for screen readers, scaled with its box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from math import ceil, floor, log10

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#1f4e5f", "#f2b134", "#4f9d69", "#c0392b", "#7d5ba6", "#2d9cdb", "#8e9aa6"]
FONT = "font-family='system-ui, sans-serif'"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | int | Decimal]
    colour: str | None = None


def nice_ceiling(value: float) -> float:
    """The round number an axis should stop at (1, 2, 2.5, 5 or 10 times a power of 10)."""
    if value <= 0:
        return 1
    magnitude = 10 ** floor(log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:g}"


def _svg(width: int, height: int, title: str, body: list[str], summary: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every text inside was escaped above
        f"<svg class='chart' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{escape(title)}'><title>{escape(title)}</title>"
        f"<desc>{escape(summary)}</desc>{''.join(body)}</svg>"
    )


def column_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    stacked: bool = True,
    width: int = 640,
    height: int = 240,
    unit: str = "",
) -> SafeString:
    """Columns per label, one colour per series; stacked adds them up."""
    left, right, top, bottom = 48, 12, 12, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [[float(v or 0) for v in s.values] for s in series]
    if stacked:
        peak = max((sum(col) for col in zip(*values, strict=False)), default=0)
    else:
        peak = max((v for row in values for v in row), default=0)
    top_value = nice_ceiling(peak)
    body: list[str] = []
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' "
            f"stroke='#d9dee2' stroke-width='1'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='11' {FONT} "
            f"fill='#58656f'>{escape(_number(value))}</text>"
        )
    count = max(len(labels), 1)
    slot = plot_w / count
    gap = slot * 0.2
    every = max(1, ceil(count / 14))
    for index, label in enumerate(labels):
        x0 = left + index * slot + gap / 2
        col_w = slot - gap
        base = top + plot_h
        for s_index, row in enumerate(values):
            value = row[index] if index < len(row) else 0
            if value <= 0:
                continue
            colour = series[s_index].colour or PALETTE[s_index % len(PALETTE)]
            bar_h = plot_h * value / top_value
            if stacked:
                x, w, y = x0, col_w, base - bar_h
                base = y
            else:
                w = col_w / len(values)
                x, y = x0 + s_index * w, top + plot_h - bar_h
            body.append(
                f"<rect x='{x:.1f}' y='{y:.1f}' width='{max(w - 1, 1):.1f}' height='{bar_h:.1f}' "
                f"fill='{colour}'><title>{escape(label)} · {escape(series[s_index].name)}: "
                f"{escape(_number(value))}{escape(unit)}</title></rect>"
            )
        if index % every == 0:
            body.append(
                f"<text x='{x0 + col_w / 2:.1f}' y='{top + plot_h + 16}' text-anchor='middle' "
                f"font-size='11' {FONT} fill='#58656f'>{escape(label)}</text>"
            )
    body.append(_legend(series, x=left, y=height - 12))
    summary = "; ".join(
        f"{s.name}: "
        + ", ".join(f"{lab} {_number(v)}" for lab, v in zip(labels, row, strict=False))
        for s, row in zip(series, values, strict=False)
    )
    return _svg(width, height, title, body, summary)


def bar_chart(
    bars: Sequence[tuple[str, float | int | Decimal]],
    *,
    title: str,
    width: int = 560,
    bar_height: int = 26,
    colour: str = PALETTE[0],
    highlight: str | None = None,
    unit: str = "",
) -> SafeString:
    """One horizontal bar per label (a place, a campaign); `highlight` picks one out."""
    label_w, right, top = 170, 56, 6
    height = top * 2 + bar_height * max(len(bars), 1)
    peak = nice_ceiling(max((float(v or 0) for _, v in bars), default=0))
    plot_w = width - label_w - right
    body: list[str] = []
    for index, (label, raw) in enumerate(bars):
        value = float(raw or 0)
        y = top + index * bar_height
        fill = PALETTE[1] if highlight is not None and label == highlight else colour
        bar_w = plot_w * value / peak
        weight = "700" if fill != colour else "400"
        body.append(
            f"<text x='{label_w - 8}' y='{y + bar_height * 0.65:.1f}' text-anchor='end' "
            f"font-size='13' font-weight='{weight}' {FONT} fill='#1b2329'>"
            f"{escape(_clip(label, 24))}</text>"
            f"<rect x='{label_w}' y='{y + 4}' width='{max(bar_w, 1):.1f}' "
            f"height='{bar_height - 8}' rx='3' fill='{fill}'/>"
            f"<text x='{label_w + bar_w + 6:.1f}' y='{y + bar_height * 0.65:.1f}' "
            f"font-size='13' {FONT} fill='#1b2329'>{escape(_number(value))}{escape(unit)}</text>"
        )
    summary = ", ".join(f"{label} {_number(float(v or 0))}" for label, v in bars)
    return _svg(width, height, title, body, summary)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _legend(series: Sequence[Series], *, x: int, y: int) -> str:
    parts = []
    for index, s in enumerate(series):
        colour = s.colour or PALETTE[index % len(PALETTE)]
        parts.append(
            f"<rect x='{x}' y='{y - 9}' width='10' height='10' fill='{colour}'/>"
            f"<text x='{x + 14}' y='{y}' font-size='11' {FONT} fill='#1b2329'>"
            f"{escape(s.name)}</text>"
        )
        x += 24 + 7 * len(s.name)
    return "".join(parts)
