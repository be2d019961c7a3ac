"""What browser tests share: where the repository and its artifacts are; Chromium and Streamlit's idle state."""

from __future__ import annotations

# Debian's Chromium and its flags, and how to tell Streamlit is done: shared with the benchmarks.
from harness.browser import APP_IDLE, CHROMIUM, CHROMIUM_ARGS, RUNNING_WIDGET, wait_for_app  # noqa: F401
from harness.server import ROOT as REPO

ARTIFACTS = REPO / "test-artifacts"
