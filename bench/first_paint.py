"""Sections 5 and 6's set-up: pages opened in fresh browser contexts, and the bare page twolayer's is timed against."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from harness.paint import BUTTON_LABELS
from harness.server import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

QUIET_TIMEOUT_S = 10.0  # the longest wait for a server to go quiet (under 5% of a core)
OPEN_TIMEOUT_MS = 90_000
VIEWPORT = {"width": 1400, "height": 1000}
LOGS = ROOT / "test-artifacts"


# --- a page with a probe in it, and the probe's milliseconds in a table ---


@contextlib.contextmanager
def probed_page(browser: Browser, probe_js: str) -> Iterator[Page]:
    """A page in a fresh browser context (no cache), `probe_js` set to run in it before the page's own scripts."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(probe_js)
        yield context.new_page()
    finally:
        with contextlib.suppress(Exception):
            context.close()


def ms(value: float | None) -> str:
    """Milliseconds for a table, '-' when there are none."""
    return "-" if value is None else f"{value:,.0f}"


# --- the bare page: the same sidebar controls and buttons, nothing else ---


def bare_app_source() -> str:
    """A Streamlit script with twolayer's default sidebar controls (same widget kinds, options, defaults and help)
    and its four buttons: no charts, no tabs, no imports beyond Streamlit. Built from `twolayer.train.config.SETTINGS`,
    so it follows the page's controls when they change."""
    from twolayer.serve.links import resolve_link
    from twolayer.train.config import SETTINGS
    from twolayer.train.devices import available_devices

    devices = available_devices()
    values = resolve_link({}, devices).values
    lines = [
        "import streamlit as st",
        "",
        'st.set_page_config(page_title="bare", layout="wide")',
        'st.markdown("## A bare page with the same controls")',
        "with st.sidebar:",
        '    st.header("Settings")',
    ]
    for spec in SETTINGS:
        control = spec.control
        if control is None or not control.shown_for(values["stage"]):
            continue
        common = f"key={spec.key!r}, help={spec.help[0].upper() + spec.help[1:] + '.'!r}"
        value = values[spec.key]
        if control.widget in ("select", "radio"):
            options = list(devices if spec.key == "device" else control.choices or spec.choices)
            widget = "st.selectbox" if control.widget == "select" else "st.radio"
            extra = ", horizontal=True" if spec.key == "dtype" else ""
            labels = dict(control.labels)
            lines.append(
                f"    {widget}({control.label!r}, {options!r}, index={options.index(value)}, "
                f"format_func=lambda v: {labels!r}.get(v, v), {common}{extra})"
            )
        elif control.widget == "stops":
            fmt = 'lambda v: f"{v:.0e}"' if spec.key == "lr" else "str"
            lines.append(
                f"    st.select_slider({control.label!r}, {list(control.stops)!r}, value={value!r}, "
                f"format_func={fmt}, {common})"
            )
        elif control.widget == "number":
            high = control.high if control.high is not None else spec.high
            low = spec.low if spec.low is None else int(spec.low)
            high = high if high is None else int(high)
            lines.append(
                f"    st.number_input({control.label!r}, min_value={low!r}, max_value={high!r}, "
                f"step={control.step!r}, value={value!r}, {common})"
            )
        else:
            lines.append(f"    st.checkbox({control.label!r}, value={bool(value)!r}, {common})")
    lines.append("cols = st.columns([1, 1, 1, 1, 4])")
    for i, label in enumerate(BUTTON_LABELS):
        primary = ', type="primary"' if label == "Train" else ""
        disabled = ", disabled=True" if label == "Pause" else ""  # nothing runs yet, as on twolayer's page
        lines.append(f"cols[{i}].button({label!r}, key={label.lower()!r}{primary}{disabled}, use_container_width=True)")
    return "\n".join(lines) + "\n"
