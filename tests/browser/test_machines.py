"""A class on two machines, simulated on one: two groups of app processes behind one HAProxy, one PostgreSQL.

One whole machine goes down mid-lecture: its students' pages reconnect to the other with their run history, their
run cut short comes back once it is stale, and the class board still shows every finished run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from harness.cluster import Cluster
from harness.server import free_port
from harness.sessions import served_by
from page.persist import STALE_S

from .helpers import history_rows, status, wait_for_app
from .test_board import count, open_board

RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def machines(postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two app processes, each a machine of its own (its own host name in the store), sharing one PostgreSQL."""
    store = postgres.create_database("two_machines")
    with Cluster(2, free_port(), tmp_path_factory.mktemp("machines"), store, groups=2) as running:
        yield running


def test_a_machine_going_down_leaves_every_history_and_the_board(machines, browser):
    assert machines.group(0) == 0 and machines.group(1) == 1
    students: dict[str, tuple[BrowserContext, Page]] = {}
    contexts = []
    try:
        # Until one student is on each machine (the proxy sends a new browser to the process with fewer connections).
        for _ in range(6):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            contexts.append(context)
            page = context.new_page()
            page.goto(f"{machines.url}/?stage=nn&hidden=32&epochs=60&seed={len(contexts)}")
            wait_for_app(page)
            students.setdefault(served_by(context), (context, page))
            if len(students) == 2:
                break
        assert set(students) == {"app1", "app2"}, f"six browsers all went to {set(students)}"
        for _, page in students.values():
            page.get_by_role("button", name="Train", exact=True).click()
        for _, page in students.values():
            expect(status(page)).to_have_text(re.compile(r"^Done · epoch 60 of 60"), timeout=RUN_TIMEOUT_MS)
        board = open_board(browser, machines.url)
        contexts.append(board.context)
        expect(count(board)).to_have_text("2 runs")

        _, victim = students["app1"]
        victim.goto(f"{machines.url}/?stage=nn&hidden=64&epochs=50000&seed=9")
        wait_for_app(victim)
        victim.get_by_role("button", name="Train", exact=True).click()
        expect(status(victim)).to_have_text(re.compile(r"^Running · epoch \d{3,}"), timeout=RUN_TIMEOUT_MS)

        assert machines.stop_group(0) == [0], "machine 1 down, with every process on it"
        down_at = time.monotonic()

        # The page reconnects through the proxy to machine 2 with its history from the shared store.
        expect(status(victim)).to_have_text(re.compile(r"^Ready"), timeout=60_000)
        assert served_by(victim.context) == "app2"
        rows = history_rows(victim, 1)
        assert "H=32" in rows[0] and "done" in rows[0], rows
        expect(count(board)).to_have_text("2 runs")

        # Machine 2 cannot see machine 1's processes: the run cut short is claimed once it stops reporting, and
        # resumes there from its last checkpoint in the shared store.
        time.sleep(max(0.0, STALE_S + 2 - (time.monotonic() - down_at)))
        victim.reload()  # no wait for the page to go idle: the resumed run trains in its script run
        note = victim.get_by_test_id("stAlert").filter(has_text=re.compile(r"Resumed at epoch \d+ after the server"))
        expect(note).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(status(victim)).to_have_text(re.compile(r"^Running · epoch \d+ of 50000"), timeout=RUN_TIMEOUT_MS)
        assert served_by(victim.context) == "app2"
        # The page draws the resumed run's frames meanwhile: on a loaded machine its table can take a while.
        rows = history_rows(victim, 1, timeout_ms=RUN_TIMEOUT_MS)
        assert "H=32" in rows[0] and "done" in rows[0], rows
        _, survivor = students["app2"]
        assert survivor.get_by_test_id("stException").count() == 0
        expect(count(board)).to_have_text("2 runs")
    finally:
        for context in contexts:
            context.close()
        machines.restart_stopped()
        machines.wait_all_healthy()
