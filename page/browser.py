"""The page's last element: a component of our own with nothing to show, for what the browser does beside drawing.

It sets the browser's id cookie when the browser came without one (and a leading page's lead cookie), and once the
page has settled it loads the frontend's chart code, so that neither the opening page nor the first Train waits for
it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st


def _chart_code() -> str | None:
    """The frontend's Plotly module, by the path the page's own scripts load it from; None if there is not one."""
    # Streamlit's frontend fetches and compiles this module (4.6 MB) when it draws its first chart: loaded ahead
    # it costs the first Train nothing, and loaded after the page settles it costs the opening page nothing.
    found = list((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return f"./static/js/{found[0].name}" if len(found) == 1 else None


CHART_CODE = _chart_code()
# st.html with scripts allowed would cost the first paint most of a second; a component of our own costs little.
# Importing the module by the same URL as the frontend's own lazy import makes it the same module, loaded once.
_hook = st.components.v2.component(
    "twolayer.browser_hook",
    js="""
export default function ({ data }) {
  for (const cookie of data.cookies) document.cookie = cookie;
  if (!data.chartCode || window.twolayerChartCode) return;
  window.twolayerChartCode = true;  // once per page, however often it redraws
  const load = () => import(new URL(data.chartCode, document.baseURI).href).catch(() => {});
  setTimeout(() => (window.requestIdleCallback || setTimeout)(load, { timeout: 2000 }), 300);
}
""",
)


def browser_hook(*cookies: str | None) -> None:
    """Set the `cookies` given (None: none) in the browser, and load the chart code once the page has settled."""
    # Drawn on every script run, at the end of the page, so that it keeps its place and comes after the controls.
    _hook(key="browser_hook", data={"cookies": [c for c in cookies if c], "chartCode": CHART_CODE})
