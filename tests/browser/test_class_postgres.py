"""`scripts/serve-class 2 --store postgresql://...`: four students train digits, one process is killed mid-run, and
every run ends Done with the numbers of the same run trained alone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from harness.browser import LOSS_JS
from harness.cluster import Cluster
from harness.server import free_port
from harness.sessions import Settings, reference_run, served_by
from page.training_view import results_text
from twolayer.teach.report import loss_unit
from twolayer.train.trainer import Trainer

from .helpers import button, status, wait_for_app

# Four stages (Adam's moments among what a checkpoint carries) on digits in mini-batches of 512: three steps an
# epoch keep 1,500 epochs to seconds alone, yet long enough on a shared process to be cut short.
STUDENTS = [
    Settings("tensor", hidden=16, seed=11, epochs=1500, data="digits", batch=512),
    Settings("autograd", hidden=32, seed=12, epochs=1500, data="digits", batch=512),
    Settings("nn", hidden=16, seed=13, epochs=1500, data="digits", batch=512),
    Settings("optim", hidden=32, seed=14, epochs=1500, data="digits", batch=512),
]
RUN_TIMEOUT_MS = 180_000  # two servers, four pages and the test share a busy machine's cores
RESUMED = re.compile(r"Resumed at epoch (\d+) after the server lost it; nothing else changed\.")


@pytest.fixture(scope="module")
def class_on_postgres(postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two app processes of one machine behind HAProxy, their run store a database of the test PostgreSQL server."""
    store = postgres.create_database("class_of_four")
    with Cluster(2, free_port(), tmp_path_factory.mktemp("class-postgres"), store) as running:
        yield running


def final_chart_loss(page: Page, expected: float) -> float | None:
    """The loss chart's last value, once its last frame has landed (it may come a moment after Done)."""
    drawn = None
    for _ in range(20):
        drawn = page.evaluate(LOSS_JS)
        if drawn and drawn[-1] == expected:
            break
        page.wait_for_timeout(250)
    return drawn[-1] if drawn else None


def assert_as_left_alone(page: Page, settings: Settings, alone: Trainer) -> None:
    """The page's status line gives the final loss and test accuracy of the run left alone, and its chart ends there."""
    shown = status(page).text_content() or ""
    expected = f"Done · epoch 1500 of 1500 · {results_text(alone).replace('**', '')} · "
    assert shown.startswith(expected), f"{settings.query()}: the page shows {shown!r}, the run alone {expected!r}"
    last = alone.loss_curve()[1][-1] * loss_unit(alone)[0]
    drawn = final_chart_loss(page, last)
    assert drawn == last, f"{settings.query()}: the chart ends at {drawn}, the run alone at {last}"


def test_a_killed_process_costs_four_students_nothing(class_on_postgres, browser):
    """Kill one of two processes while four students train: every page ends Done, its final loss and test
    accuracy those of the run left alone; the students of the killed process are told their run resumed."""
    cluster = class_on_postgres
    contexts, pages = [], []
    try:
        for settings in STUDENTS:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            contexts.append(context)
            page = context.new_page()
            page.goto(f"{cluster.url}/?{settings.query()}")
            wait_for_app(page)  # its WebSocket open before the next browser comes: the proxy balances by them
            pages.append(page)
        served = [served_by(context) for context in contexts]
        assert set(served) == {"app1", "app2"}, f"the proxy sent the four students to {served}"
        victims = [page for page, name in zip(pages, served, strict=True) if name == "app1"]
        # The killed process's students start last, so theirs are the runs furthest from their end at the kill.
        for page in sorted(pages, key=lambda page: page in victims):
            button(page, "Train").click()
        for page in victims:
            # A page shows an epoch only once its run has a checkpoint: the first slice saves one (of epoch 0 where
            # that slice ended within the first epoch), the next come at most every 5 s.
            expect(status(page)).to_have_text(re.compile(r"^Running · epoch [1-9]"), timeout=RUN_TIMEOUT_MS)

        cluster.kill(0)  # app1, as a crash would

        # Trained while the pages reconnect and finish: the core alone, in this thread.
        alone = [reference_run(settings) for settings in STUDENTS]
        for page in victims:
            note = page.get_by_test_id("stAlert").filter(has_text=RESUMED)
            expect(note).to_be_visible(timeout=RUN_TIMEOUT_MS)
            epoch = int(RESUMED.search(note.text_content() or "")[1])
            assert 0 <= epoch < 1500, f"resumed at epoch {epoch}: the process was killed mid-run"
        for page in pages:
            expect(status(page)).to_have_text(re.compile(r"^Done · epoch 1500 of 1500"), timeout=RUN_TIMEOUT_MS)
        for page, context in zip(pages, contexts, strict=True):
            assert served_by(context) == "app2"
            assert page.get_by_test_id("stException").count() == 0
            assert page.get_by_test_id("stAlert").filter(has_text="stopped at epoch").count() == 0
        for settings, page, run in zip(STUDENTS, pages, alone, strict=True):
            assert_as_left_alone(page, settings, run)
    finally:
        for context in contexts:
            context.close()
        cluster.restart_stopped()
        cluster.wait_all_healthy()
