"""A class on two app processes behind HAProxy (scripts/serve-class): spread, a process killed, reloads keep runs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from harness.browser import DROP_SOCKETS_JS, KEEP_SOCKETS_JS, LOSS_JS
from harness.cluster import Cluster, haproxy_binary
from harness.server import free_port
from harness.sessions import (
    Settings,
    compare_histories,
    reference_losses,
    run_sessions,
    served_by,
    session_settings,
)

from .helpers import button, history_rows, status, wait_for_app

RUN_TIMEOUT_MS = 120_000  # two servers, a browser and the test share two cores


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two app processes and HAProxy, as `bash scripts/serve-class 2` starts them."""
    try:
        haproxy_binary()
    except RuntimeError as error:
        pytest.fail(f"{error} (scripts/test installs it itself when run as root)", pytrace=False)
    workdir = tmp_path_factory.mktemp("class")
    with Cluster(2, free_port(), workdir, workdir / "store") as running:
        yield running


def new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    """A browser context of its own (its own cookies: another student) and a page in it."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    return context, context.new_page()


def test_sessions_spread_over_the_processes_and_train_as_the_core_does(cluster, browser):
    """Four students at once through the proxy: each finishes, both processes serve, histories equal the core's."""
    results = run_sessions(browser, cluster.url, session_settings(4, epochs=200), check=4, timeout_s=240)
    assert [r.errors for r in results] == [[]] * 4
    assert all(r.finished for r in results), [r.status for r in results]
    served = sorted(r.served_by or "none" for r in results)
    assert set(served) == {"app1", "app2"}, f"the proxy sent the sessions to {served}"
    for settings, equal, note in compare_histories(results):
        assert equal, f"{settings.query()}: {note}"


def assert_as_left_alone(page: Page, settings: Settings) -> None:
    """The page's loss chart, thinned for drawing, holds the losses of the core's run left alone, to the last."""
    alone = reference_losses(settings)
    # The chart's last frame may land a moment after the status says Done.
    for _ in range(20):
        drawn = page.evaluate(LOSS_JS)
        if drawn[-1] == alone[-1]:
            break
        page.wait_for_timeout(250)
    assert drawn[-1] == alone[-1], f"final loss {drawn[-1]} against the core's {alone[-1]}"
    assert set(drawn) <= set(alone), "every loss drawn is one of the run left alone"


def test_a_killed_process_sends_its_students_to_the_other_where_their_runs_resume_to_the_same_end(cluster, browser):
    """Kill one process mid-run: its student's run resumes on the other from its checkpoint, by itself, and ends
    with the losses of the core's run left alone; the other process's student is untouched."""
    settings = Settings("numpy", hidden=64, seed=7, epochs=20000)
    pages = []
    try:
        # Until the two land on different processes (the proxy balances new browsers by open connections).
        for _ in range(6):
            context, page = new_page(browser)
            page.goto(f"{cluster.url}/?{settings.query()}")
            wait_for_app(page)
            pages.append((served_by(context), context, page))
            if len({name for name, _, _ in pages}) == 2:
                break
        by_server = {name: (context, page) for name, context, page in pages}
        assert set(by_server) == {"app1", "app2"}, f"six browsers all went to {set(by_server)}"
        (victim_context, victim), (_, survivor) = by_server["app1"], by_server["app2"]
        for page in (victim, survivor):
            button(page, "Train").click()
        for page in (victim, survivor):
            expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d{3,}"), timeout=RUN_TIMEOUT_MS)

        cluster.kill(0)  # app1, as a crash would

        # The page reconnects through the proxy to the live process, which resumes the run and says so in a line.
        note = victim.get_by_test_id("stAlert").filter(has_text="Resumed at epoch")
        expect(note).to_have_text(
            re.compile(r"Resumed at epoch \d+ after the server lost it; nothing else changed\."), timeout=30_000
        )
        for page in (victim, survivor):
            expect(status(page)).to_have_text(re.compile(r"^Done · epoch 20000 of 20000"), timeout=RUN_TIMEOUT_MS)
            assert page.get_by_test_id("stException").count() == 0
        assert served_by(victim_context) == "app2"
        assert victim.get_by_test_id("stAlert").filter(has_text="stopped at epoch").count() == 0
        assert_as_left_alone(victim, settings)
        rows = history_rows(victim, 1)
        assert "done" in rows[0] and "H=64" in rows[0], rows
    finally:
        for _, context, _ in pages:
            context.close()
        cluster.restart_stopped()
        cluster.wait_all_healthy()


def test_a_reload_keeps_the_run_history_and_no_other_browser_sees_it(cluster, browser):
    """Train, reload: the finished run is listed again; a second browser has an empty history."""
    context, page = new_page(browser)
    other_context, other = new_page(browser)
    try:
        page.goto(f"{cluster.url}/?epochs=100&hidden=32")
        wait_for_app(page)
        button(page, "Train").click()
        expect(status(page)).to_have_text(re.compile(r"^Done · epoch 100 of 100"), timeout=RUN_TIMEOUT_MS)
        button(page, "Reset").click()
        wait_for_app(page)

        page.reload()
        wait_for_app(page)
        rows = history_rows(page, 1)
        assert "H=32" in rows[0] and "done" in rows[0], rows
        assert (cluster.store / "runs.sqlite3").is_file(), "kept in the store every process was given"

        other.goto(f"{cluster.url}/?epochs=100&hidden=32")
        wait_for_app(other)
        other.get_by_role("tab", name="Run history").click()
        expect(other.get_by_text("Finished and reset runs of this browser session appear here")).to_be_visible()
        assert other.get_by_test_id("stDataFrame").count() == 0
    finally:
        context.close()
        other_context.close()


def test_the_proxy_refuses_an_upload_over_the_cap(cluster):
    """HAProxy answers 413 to a request declaring more than Streamlit's 200 MB upload cap, before an app sees it."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10)
    connection.putrequest("PUT", "/_stcore/upload_file/x/y")
    connection.putheader("Content-Length", str(201 * 1024 * 1024))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()


def test_a_dropped_connection_loses_nothing_of_the_run(cluster, browser):
    """Close the page's WebSocket mid-run: it reconnects, and the run goes on to Done as the core's, without a word."""
    settings = Settings("numpy", hidden=32, seed=3, epochs=8000)
    context, page = new_page(browser)
    context.add_init_script(KEEP_SOCKETS_JS)
    try:
        page.goto(f"{cluster.url}/?{settings.query()}")
        wait_for_app(page)
        button(page, "Train").click()
        expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d{3,}"), timeout=RUN_TIMEOUT_MS)
        assert page.evaluate(DROP_SOCKETS_JS) == 1
        expect(status(page)).to_have_text(re.compile(r"^Done · epoch 8000 of 8000"), timeout=RUN_TIMEOUT_MS)
        assert page.get_by_test_id("stAlert").filter(has_text=re.compile("stopped at epoch|Resumed at")).count() == 0
        assert_as_left_alone(page, settings)
        assert "done" in history_rows(page, 1)[0]
    finally:
        context.close()
