"""The quality page's figures as the page shows them: server-drawn SVG charts, the labelers
table and the CSV of each chart, all from one ``annotator.quality.quality_report`` dict.

Charts are coordinates computed here and drawn by templates/annotator/_quality_chart.html, as
rewardtrain draws its loss curves: no chart library and no script. Every number is formatted
here; usernames reach the template as text, which it escapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .export_formats import csv_lines

NONE = "–"  # a figure with no data
WIDTH = 560  # SVG user units; the chart scales down to the page width (max-width: 100%)
BAR_ROW = 22
BAR_LABEL_WIDTH = 150
BAR_VALUE_WIDTH = 56
BAR_PAD = 18
LABEL_CHARS = 20  # usernames longer than this are cut in the chart (the full one is its tooltip)
DAY_HEIGHT, DAY_PAD = 200, 36


@dataclass(frozen=True)
class LabelerChart:
    """One bar per labeler of one figure of their row."""

    name: str  # in the CSV's URL: /projects/<slug>/quality/<name>.csv
    title: str
    key: str  # the figure drawn
    count: str  # the count it rests on, a column of the CSV
    share: bool  # a share of 0..1, drawn on a 0..100 % axis; else a plain number on 0..max


LABELER_CHARTS = (
    LabelerChart("agreement", "Agreement with the majority", "agreement_with_majority", "agreement_items", True),
    LabelerChart("gold-accuracy", "Gold accuracy", "gold_accuracy", "gold_items", True),
    LabelerChart("self-consistency", "Self-consistency on repeats", "self_consistency", "repeats", True),
    LabelerChart("left-rate", "Left (A) choices: 50 % is unbiased", "left_rate", "judgments", True),
    LabelerChart("longer-wins", "Longer completion wins", "longer_wins_rate", "judgments", True),
    LabelerChart("tie-rate", "Ties", "tie_rate", "judgments", True),
    LabelerChart("median-seconds", "Median seconds per judgment", "median_seconds", "timed", False),
)
PER_DAY = "judgments-per-day"
CHART_NAMES = (*(chart.name for chart in LABELER_CHARTS), PER_DAY)

# The labelers table: (heading, row key, how it is shown). Every column of a report row.
SHARE, COUNT, SECONDS, COEFFICIENT, TEXT = "share", "count", "seconds", "coefficient", "text"
TABLE_COLUMNS = (
    ("Labeler", "username", TEXT),
    ("Judgments", "judgments", COUNT),
    ("Agreement", "agreement_with_majority", SHARE),
    ("Agreement items", "agreement_items", COUNT),
    ("Gold accuracy", "gold_accuracy", SHARE),
    ("Gold items", "gold_items", COUNT),
    ("Self-consistency", "self_consistency", SHARE),
    ("Repeats", "repeats", COUNT),
    ("Left rate", "left_rate", SHARE),
    ("Longer wins", "longer_wins_rate", SHARE),
    ("Ties", "tie_rate", SHARE),
    ("Both bad", "both_bad_rate", SHARE),
    ("Median s", "median_seconds", SECONDS),
    ("Timed", "timed", COUNT),
    ("Too fast", "fast", COUNT),
    ("Flags", "flag_reasons", TEXT),
)


def formatted(value, kind=SHARE) -> str:
    if value is None:
        return NONE
    if kind == SHARE:
        return f"{value:.1%}"
    if kind == SECONDS:
        return f"{value:.1f}"
    if kind == COUNT:
        return str(value)
    if kind == COEFFICIENT:  # Krippendorff's alpha
        return f"{value:.3f}"
    raise ValueError(f"unknown kind {kind!r}")


def agreement_rows(report) -> list[tuple[str, str, int]]:
    """(figure, value as shown, items it rests on): agreement with the majority over every item
    two or more labelers answered, and Krippendorff's alpha per kind of item."""
    agreement = report["agreement"]
    # A classify project has only labels; the others only choices and rankings.
    kinds = (("labels", "nominal"),) if agreement["labels"]["items"] else (("pairwise", "nominal"), ("ranking", "ordinal"))
    return [
        ("Agreement with the majority", formatted(agreement["with_majority"]), agreement["items"]),
        *(
            (f"Krippendorff's alpha, {kind} ({level})", formatted(agreement[kind]["krippendorff_alpha"], COEFFICIENT),
             agreement[kind]["items"])
            for kind, level in kinds
        ),
    ]  # fmt: skip


def table_rows(report) -> list[dict]:
    """The labelers table: per row its username, flagged, and the other cells [(text, sort key
    or None to sort by the text)]. A figure without data sorts below every real one (-1), so a
    sorted column keeps the "–" together."""
    rows = []
    for row in report["labelers"]:
        cells = []
        for _heading, key, kind in TABLE_COLUMNS[1:]:  # the username is the row's link
            value = row[key]
            if kind == TEXT:  # the flag reasons
                cells.append(("; ".join(value), None))
            else:
                cells.append((formatted(value, kind), -1 if value is None else value))
        rows.append({"username": row["username"], "flagged": row["flagged"], "cells": cells})
    return rows


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(report, chart: LabelerChart) -> dict | None:
    """Horizontal bars, one per labeler (in the report's order); None without labelers. A
    labeler without data for the figure gets no bar and "–"."""
    rows = report["labelers"]
    if not rows:
        return None
    values = [row[chart.key] for row in rows]
    scale = 1.0 if chart.share else max([v for v in values if v is not None] or [0]) or 1.0
    left, right = BAR_LABEL_WIDTH, WIDTH - BAR_VALUE_WIDTH
    bars = []
    for index, (row, value) in enumerate(zip(rows, values)):
        y = BAR_PAD + index * BAR_ROW
        bars.append(
            {
                "label": _cut(row["username"]),
                "username": row["username"],
                "y": y + 3,
                "text_y": y + BAR_ROW / 2 + 4,
                "width": 0 if value is None else round((right - left) * value / scale, 1),
                "value": formatted(value, SHARE if chart.share else SECONDS),
                "flagged": row["flagged"],
            }
        )
    return {
        "width": WIDTH,
        "height": BAR_PAD + len(rows) * BAR_ROW + 6,
        "left": left,
        "right": right,
        "bar_height": BAR_ROW - 6,
        "value_x": right + 4,
        "axis_bottom": BAR_PAD + len(rows) * BAR_ROW,
        "max_label": "100%" if chart.share else f"{scale:.1f} s",
        "bars": bars,
    }


def day_chart(report) -> dict | None:
    """Judgments per day as columns, one per day that has judgments; None when none has."""
    days = report["throughput"]["per_day"]
    if not days:
        return None
    top = max(d["judgments"] for d in days)
    plot_w, plot_h = WIDTH - 2 * DAY_PAD, DAY_HEIGHT - 2 * DAY_PAD
    slot = plot_w / len(days)
    columns = []
    for index, d in enumerate(days):
        height = plot_h * d["judgments"] / top
        columns.append(
            {
                "x": round(DAY_PAD + index * slot + slot * 0.1, 1),
                "y": round(DAY_HEIGHT - DAY_PAD - height, 1),
                "width": round(slot * 0.8, 1),
                "height": round(height, 1),
                "day": d["day"],
                "judgments": d["judgments"],
            }
        )
    return {
        "width": WIDTH,
        "height": DAY_HEIGHT,
        "left": DAY_PAD,
        "right": WIDTH - DAY_PAD,
        "top": DAY_PAD,
        "bottom": DAY_HEIGHT - DAY_PAD,
        "y_max": top,
        "first_day": days[0]["day"],
        "last_day": days[-1]["day"],
        "columns": columns,
    }


def charts(report) -> list[dict]:
    """Every chart of the page, in order: name (for its CSV), title and coordinates (None when
    there is nothing to draw)."""
    drawn = [
        {"name": chart.name, "title": chart.title, "bars": bar_chart(report, chart)} for chart in LABELER_CHARTS
    ]
    drawn.append({"name": PER_DAY, "title": "Judgments per day (UTC)", "days": day_chart(report)})
    return drawn


def chart_csv(report, name: str) -> str:
    """The numbers behind one chart as CSV: per labeler the figure and the count it rests on, or
    per day the judgments. Cells go through the exports' formula guard (usernames are user
    input); a figure without data is an empty cell. KeyError for an unknown chart."""
    if name == PER_DAY:
        return "".join(csv_lines(report["throughput"]["per_day"], ["day", "judgments"]))
    chart = {c.name: c for c in LABELER_CHARTS}[name]
    return "".join(csv_lines(report["labelers"], ["username", chart.key, chart.count]))
