"""Charts as plain SVG geometry computed here and drawn by templates with attributes only.

No JavaScript library and no outside service: offices have poor connections and the CSP forbids
inline styles, so each bar is a <rect> with x/y/width/height and a link to the list behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from srs.referrals import overdue
from srs.reports.services import overdue_key

# The district chart's colour of each overdue measure (the legend uses the same).
OVERDUE_COLOURS = {overdue.AWAITING_DECISION: "#b42318", overdue.NOT_COMPLETED: "#f79009"}


@dataclass
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    url: str | None = None
    series: str = "a"


def _scale(maximum: int, length: float) -> Callable[[int], float]:
    return lambda value: 0.0 if maximum <= 0 else round(value * length / maximum, 1)


def funnel(stages: list[tuple[str, Any, int]], url_for_stage: Callable[[str], str]) -> dict[str, Any]:
    """Horizontal bars, one per stage, longest first: registered -> ... -> covered."""
    width, label_w, row_h, gap = 640, 220, 30, 8
    bar_space = width - label_w - 70
    scale = _scale(max((v for _k, _l, v in stages), default=0), bar_space)
    bars = []
    for i, (key, label, value) in enumerate(stages):
        y = i * (row_h + gap)
        bars.append(
            Bar(
                str(label), value, label_w, y, max(scale(value), 1 if value else 0), row_h, url_for_stage(key)
            )
        )
    return {"width": width, "height": len(stages) * (row_h + gap), "label_w": label_w, "bars": bars}


def monthly(
    months: list[str],
    series: list[tuple[str, Any, dict[str, int]]],
    url_for_month: Callable[[str, str], str | None],
) -> dict[str, Any]:
    """Grouped vertical bars per month (one bar per series)."""
    width, height, bottom, left = 640, 220, 30, 40
    plot_h = height - bottom - 10
    group_w = (width - left) / max(len(months), 1)
    bar_w = max(min(group_w / (len(series) + 1), 24), 2)
    top = max((s[2].get(m, 0) for s in series for m in months), default=0)
    scale = _scale(top, plot_h)
    bars = []
    labels = []
    for i, month in enumerate(months):
        gx = left + i * group_w
        labels.append({"x": round(gx + group_w / 2, 1), "text": month[2:].replace("-", "/")})
        for j, (key, _label, values) in enumerate(series):
            value = values.get(month, 0)
            h = scale(value)
            bars.append(
                Bar(
                    month,
                    value,
                    round(gx + (j + 0.5) * bar_w, 1),
                    round(height - bottom - h, 1),
                    round(bar_w, 1),
                    h,
                    url_for_month(key, month),
                    series=key,
                )
            )
    return {
        "width": width,
        "height": height,
        "bottom": height - bottom,
        "left": left,
        "bars": bars,
        "labels": labels,
        "top": top,
        "legend": [(key, label) for key, label, _v in series],
    }


def districts(
    rows: list[dict[str, Any]], url_for_row: Callable[[dict[str, Any], str], str]
) -> dict[str, Any]:
    """Horizontal bars per district: referrals made, with the overdue ones drawn over them, one
    segment per overdue measure (``referrals.overdue.KINDS``), side by side from the left."""
    width, label_w, row_h, gap = 640, 200, 22, 10
    scale = _scale(max((r["referrals"] for r in rows), default=0), width - label_w - 70)
    items = []
    for i, row in enumerate(rows):
        y = i * (row_h + gap)
        segments = []
        x: float = label_w
        # Overdue referrals may have been made before the period: never wider than the referrals bar.
        room = row["referrals"]
        for kind in overdue.KINDS:
            value = row[overdue_key(kind)]
            drawn = min(value, room)
            room -= drawn
            segments.append(
                Bar(
                    str(overdue.LABELS[kind]),
                    value,
                    x,
                    y + row_h / 4,
                    scale(drawn),
                    row_h / 2,
                    url_for_row(row, f"overdue_referrals_{kind}"),
                    series=kind,
                )
            )
            x = round(x + scale(drawn), 1)
        items.append(
            {
                "label": row["region"].name,
                "y": y,
                "x": label_w,
                "referrals": Bar(
                    row["region"].name,
                    row["referrals"],
                    label_w,
                    y,
                    scale(row["referrals"]),
                    row_h,
                    url_for_row(row, "referrals"),
                ),
                "overdue": Bar(
                    row["region"].name,
                    row["overdue"],
                    label_w,
                    y + row_h / 4,
                    scale(min(row["overdue"], row["referrals"]) if row["referrals"] else 0),
                    row_h / 2,
                    url_for_row(row, "overdue_referrals"),
                    series="b",
                ),
                "overdue_segments": segments,
            }
        )
    return {"width": width, "height": max(len(rows), 1) * (row_h + gap), "label_w": label_w, "rows": items}
