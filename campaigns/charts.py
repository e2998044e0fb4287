"""Server-rendered SVG charts for the report pages (no JavaScript, nothing fetched).

Every label is escaped; numbers are formatted by the caller."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#2f6fde", "#1f9d74", "#e2812b", "#9b59b6", "#d6455d", "#607d8b"]


def bar_chart(
    items: list[tuple[str, float, str]], *, title: str, width: int = 520, colors=None
) -> SafeString:
    """Horizontal bars: (label, value, shown text)."""
    colors = colors or PALETTE
    bar, gap, label_width, top = 22, 10, 130, 30
    height = top + len(items) * (bar + gap) + 10
    peak = max((value for _, value, _ in items), default=0) or 1
    room = width - label_width - 170
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f'<text x="0" y="18" class="chart-title" font-weight="600" font-size="14">'
        f"{escape(title)}</text>",
    ]
    if not items:
        parts.append(f'<text x="0" y="{top + 16}" font-size="12" fill="#666">No data yet</text>')
    for index, (label, value, shown) in enumerate(items):
        y = top + index * (bar + gap)
        length = max(0.0, value) / peak * room
        color = colors[index % len(colors)]
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" rx="3" '
            f'fill="{color}"><title>{escape(label)}: {escape(shown)}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{escape(shown)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


def column_chart(
    items: list[tuple[str, float, str]], *, title: str, width: int = 760, height: int = 220
) -> SafeString:
    """Vertical columns over time: (x label, value, shown text)."""
    top, bottom, left = 30, 36, 10
    plot = height - top - bottom
    peak = max((value for _, value, _ in items), default=0) or 1
    step = (width - left * 2) / max(1, len(items))
    column = min(36.0, max(2.0, step * 0.7))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f'<text x="0" y="18" font-weight="600" font-size="14">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot}" x2="{width - left}" y2="{top + plot}" '
        'stroke="#bbb"/>',
    ]
    if not items:
        parts.append(
            f'<text x="{left}" y="{top + 20}" font-size="12" fill="#666">No data yet</text>'
        )
    every = max(1, len(items) // 10)
    for index, (label, value, shown) in enumerate(items):
        size = max(0.0, value) / peak * plot
        x = left + index * step + (step - column) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot - size:.1f}" width="{column:.1f}" '
            f'height="{size:.1f}" fill="{PALETTE[0]}"><title>{escape(label)}: '
            f"{escape(shown)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text x="{x + column / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped
