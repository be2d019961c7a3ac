"""Serve the app as scripts/run-app does, on a free loopback port, and drive it in Chromium."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from harness.browser import chromium
from harness.server import free_port, start_server, stop_server, wait_healthy

from .helpers import ARTIFACTS, CHROMIUM, REPO

HERE = Path(__file__).resolve().parent
_SERVER_LOG = pytest.StashKey[Path]()
_REPORTS = pytest.StashKey[dict]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    # A failing browser test usually means a traceback on the server: show its tail.
    log = item.config.stash.get(_SERVER_LOG, None)
    if report.when == "call" and report.failed and log is not None and HERE in item.path.parents:
        report.sections.append(("streamlit server log (tail)", _tail(log)))
    return report


@pytest.fixture(scope="session")
def app_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of app.py served by its launcher (or of $TWOLAYER_APP by `streamlit run`), stopped after the session."""
    app = Path(os.environ.get("TWOLAYER_APP") or REPO / "app.py").resolve()
    if not app.is_file():
        pytest.fail(f"no app to serve: {app} does not exist", pytrace=False)
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    request.config.stash[_SERVER_LOG] = log
    # A run store of the test session's own: the tests' browsers leave nothing in the user's cache.
    store = tmp_path_factory.mktemp("store")
    server = start_server(port, log, env=dict(os.environ, TWOLAYER_STORE=str(store)), app=app)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(server, url)
        except RuntimeError as error:
            pytest.fail(f"{error}:\n{_tail(log)}", pytrace=False)
        yield url
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"browser tests need Chromium at {CHROMIUM}: install it with `sudo apt-get install chromium` "
            "(scripts/test does this itself when run as root)",
            pytrace=False,
        )
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page; `page.errors` collects console errors and uncaught page errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.errors = errors
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    yield page
    # What the page showed when a test failed is often the quickest clue.
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        with contextlib.suppress(Exception):
            page.screenshot(path=ARTIFACTS / "failures" / f"{name}.png", full_page=True)
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """test-artifacts/screenshots/, where tests save what a person would have seen."""
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tail(log: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no server log: {error})"
