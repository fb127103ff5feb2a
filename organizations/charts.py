"""Plotly figures handed to pages as data: static/cem-charts.js draws them with the locally
served plotly.js, so pages need no inline script (the Content-Security-Policy allows none)."""

from __future__ import annotations

import json

import plotly.graph_objects as go


def chart_json(figure: go.Figure, config: dict | None = None) -> str:
    """The figure and its plotly config as one JSON document for a `data-plotly` attribute."""
    return json.dumps(
        {
            "figure": json.loads(figure.to_json()),
            "config": {"displaylogo": False, **(config or {})},
        },
        ensure_ascii=False,
    )
