"""The lecturer leads, the class follows: on two app processes behind HAProxy sharing one PostgreSQL, the lecturer's
page leads after the key, and following pages on both processes show its run live: Running within 2 s of Train,
their epoch advancing, Paused within 5 s of Pause. A page given a wrong key moves none of them; a follower whose
process dies follows again from the other; a student takes the paused run over at its epoch."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from harness.cluster import Cluster
from harness.server import free_port
from harness.sessions import served_by

from .helpers import button, status, wait_for_app

KEY = "lecture-key-0123456789"
FOLLOWERS = 3


@pytest.fixture(scope="module")
def class_with_key(postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """`scripts/serve-class 2 --store postgresql://...` with a lecturer key."""
    store = postgres.create_database("lead_class")
    env = dict(os.environ, TWOLAYER_LECTURER_KEY=KEY)
    with Cluster(2, free_port(), tmp_path_factory.mktemp("lead"), store, env=env) as running:
        yield running


def open_page(browser: Browser, url: str, contexts: list[BrowserContext]) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    contexts.append(context)
    page = context.new_page()
    page.goto(url)
    return page


def give_key(page: Page, key: str) -> None:
    page.get_by_label("Lecturer key").fill(key)
    button(page, "Lead the class").click()


def epoch(page: Page) -> int:
    return int(re.search(r"epoch (\d+) of", status(page).text_content() or "").group(1))


def advances(page: Page, before: int, seconds: float = 10.0) -> bool:
    """Whether the page's epoch passes `before` within `seconds`."""
    for _ in range(int(seconds / 0.25)):
        if epoch(page) > before:
            return True
        page.wait_for_timeout(250)
    return False


def test_the_class_follows_the_lecturer_on_both_processes(class_with_key, browser):
    contexts: list[BrowserContext] = []
    try:
        lecturer = open_page(
            browser, f"{class_with_key.url}/?lead=1&hidden=32&epochs=100000&batch=512&seed=4", contexts
        )
        wait_for_app(lecturer)
        give_key(lecturer, KEY)
        expect(lecturer.locator(".st-key-lead-status")).to_contain_text("leading", timeout=30_000)
        assert lecturer.get_by_text("Unknown link setting").count() == 0, "?lead=1 is a link setting of its own"
        qr = lecturer.get_by_role(
            "img", name=re.compile(r"QR code of the link that follows the lecturer: http.*\?follow=1$")
        )
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.naturalWidth") >= 100, "the QR code's SVG draws, large enough to scan"

        followers: list[tuple[str, Page]] = []
        for _ in range(8):  # until three follow, on both processes (new browsers go to the process with fewer)
            page = open_page(browser, f"{class_with_key.url}/?follow=1&lr=1", contexts)
            expect(page.locator(".st-key-follow-note")).to_have_text("following the lecturer", timeout=30_000)
            followers.append((served_by(page.context), page))
            if len(followers) >= FOLLOWERS and {name for name, _ in followers} == {"app1", "app2"}:
                break
        assert {name for name, _ in followers} == {"app1", "app2"}, [name for name, _ in followers]
        pages = [page for _, page in followers]
        for page in pages:  # the lecturer's settings already, before its run starts
            expect(status(page)).to_have_text(re.compile(r"^Ready: press Train"))
            expect(page.get_by_text("A following page takes its settings from the lecturer")).to_be_visible()

        guesser = open_page(browser, f"{class_with_key.url}/?lead=1", contexts)
        wait_for_app(guesser)
        give_key(guesser, "not-the-key")
        expect(guesser.get_by_text("That is not the lecturer key.")).to_be_visible()
        assert guesser.locator(".st-key-lead-status").count() == 0

        button(lecturer, "Train").click()
        for page in pages:  # each within 2 s of Train, the same words as the lecturer's
            expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d+ of 100000"), timeout=2_000)
        first = [epoch(page) for page in pages]
        give_key(guesser, "still-not-the-key")  # mid-run: it moves no one
        expect(guesser.get_by_text("That is not the lecturer key.")).to_be_visible()
        for page, before in zip(pages, first, strict=True):
            assert advances(page, before), (before, epoch(lecturer), [(n, epoch(p)) for n, p in followers])
            expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d+ of 100000"))
        expect(lecturer.locator(".st-key-lead-status")).to_contain_text(f"{len(pages)} follow", timeout=10_000)

        button(lecturer, "Pause").click()
        # The 5 s count from the lecturer's own page saying Paused: its Pause has then taken effect.
        expect(status(lecturer)).to_have_text(re.compile(r"^Paused · epoch"), timeout=30_000)
        shown = status(lecturer).text_content()
        paused_epoch = epoch(lecturer)
        for page in pages:
            expect(status(page)).to_have_text(re.compile(r"^Paused · epoch"), timeout=5_000)
        for page in pages:
            assert epoch(page) == paused_epoch, f"{status(page).text_content()} against the lecturer's {shown}"
            assert page.get_by_test_id("stException").count() == 0

        # A follower's process dies: its page reconnects through the proxy to the other process and follows again.
        leading_on = served_by(lecturer.context)
        victim = next(page for name, page in followers if name != leading_on)
        class_with_key.kill(0 if served_by(victim.context) == "app1" else 1)
        for _ in range(120):  # the page shows what it had until it reconnects; the proxy's cookie then changes
            if served_by(victim.context) == leading_on:
                break
            victim.wait_for_timeout(500)
        assert served_by(victim.context) == leading_on, "the follower reconnected through the proxy"
        expect(victim.locator(".st-key-follow-note")).to_have_text("following the lecturer", timeout=30_000)
        expect(status(victim)).to_have_text(re.compile(rf"^Paused · epoch {paused_epoch} of 100000"), timeout=30_000)
        button(lecturer, "Train").click()  # and what the lecturer does next reaches it there
        assert advances(victim, paused_epoch), "the follower, reconnected, sees the lecturer's run go on"
        button(lecturer, "Pause").click()
        expect(status(lecturer)).to_have_text(re.compile(r"^Paused · epoch"), timeout=30_000)
        paused_epoch = epoch(lecturer)
        for page in pages:
            expect(status(page)).to_have_text(re.compile(rf"^Paused · epoch {paused_epoch} of"), timeout=5_000)

        student = pages[0]  # takes the run over where the lecturer paused: its own run, at that epoch
        button(student, "Take it over").click()
        expect(button(student, "Follow again")).to_be_visible(timeout=30_000)
        expect(status(student)).to_have_text(re.compile(rf"^Paused · epoch {paused_epoch} of 100000"))
        assert student.get_by_test_id("stException").count() == 0
    finally:
        for context in contexts:
            context.close()
        class_with_key.restart_stopped()
        class_with_key.wait_all_healthy()
