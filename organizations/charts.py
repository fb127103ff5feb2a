"""Plotly figures handed to pages as data: static/cem-charts.js draws them with the locally
served plotly.js, so pages need no inline script (the Content-Security-Policy allows none).

A figure is plain data in plotly.js's own schema ({"data": [traces], "layout": {...}}), not a
plotly.py figure object: those validate every property as it is set and carry their whole
template along, about 30 ms and 7 KB a chart, a third of a freshly drawn dashboard. The tests
check every chart's data against plotly.py's validators instead (tests/test_charts.py).
"""

from __future__ import annotations

import json

# The look every chart shares: transparent on the page's card, the legend along the top.
BASE_LAYOUT = {
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "legend": {"orientation": "h"},
}


def chart_json(data: list[dict], layout: dict, config: dict | None = None) -> str:
    """The figure of `data` (its traces) and `layout` over BASE_LAYOUT, with its plotly
    config, as one JSON document for a `data-plotly` attribute."""
    return json.dumps(
        {
            "figure": {"data": data, "layout": {**BASE_LAYOUT, **layout}},
            "config": {"displaylogo": False, **(config or {})},
        },
        ensure_ascii=False,
    )
