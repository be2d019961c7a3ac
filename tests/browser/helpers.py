"""What browser tests share: where Chromium is, and how to tell that Streamlit is done."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

# Debian's Chromium and its flags, shared with the load benchmark.
from bench.load import CHROMIUM, CHROMIUM_ARGS  # noqa: E402, F401

# The frontend marks its root with the connection and the script's run state; "notRunning"
# is set only after a run has finished, unlike "initial" before the first one.
APP_IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'
RUNNING_WIDGET = '[data-testid="stStatusWidget"]'


def wait_for_app(page: Page, timeout_ms: float = 60_000) -> None:
    """Wait until the page is connected and Streamlit has finished running the script."""
    page.locator(APP_IDLE).wait_for(state="attached", timeout=timeout_ms)
    # The "Running..." widget fades out after the run; gone means nothing is still drawing.
    page.locator(RUNNING_WIDGET).wait_for(state="detached", timeout=timeout_ms)
