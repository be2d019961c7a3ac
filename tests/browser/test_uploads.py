"""Uploads through the page's file input: every good kind trains to its last epoch, every broken one is named."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.datafiles import broken_uploads, digit_uploads

from .helpers import button, no_errors, status, wait_for_app

RUN_TIMEOUT_MS = 120_000
# Adam on 300 small digit images: a few epochs reach well above chance.
SETTINGS = "?stage=optim&hidden=64&lr=0.001&epochs=5&batch=32"
DONE = re.compile(r"^Done · epoch 5 of 5 · loss [^ ]+ \([^)]+\) · (test|train) accuracy (\d+\.\d)%")


def choose_upload(page: Page, url: str) -> None:
    page.goto(url + SETTINGS)
    wait_for_app(page)
    data = page.get_by_role("combobox", name="Data", exact=True)
    data.click()
    page.keyboard.type("Upload")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(1)
    wait_for_app(page)


def upload(page: Page, files: dict[str, bytes]) -> None:
    """Replace whatever is uploaded by `files`, through the page's own file input."""
    delete = page.get_by_test_id("stFileChipDeleteBtn").locator("button")
    while delete.count():
        delete.first.click()
        wait_for_app(page)
    payload = [{"name": name, "mimeType": "application/octet-stream", "buffer": data} for name, data in files.items()]
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(payload)
    expect(page.get_by_test_id("stFileChip")).to_have_count(len(files), timeout=30_000)
    wait_for_app(page)


def train_to_the_end(page: Page) -> float:
    """Press Train, wait for the last epoch, and return the accuracy the status line shows."""
    button(page, "Train").click()
    expect(status(page)).to_have_text(DONE, timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    return float(DONE.search(status(page).inner_text()).group(2))


@pytest.mark.parametrize("case", list(digit_uploads()))
def test_each_good_upload_trains_to_its_last_epoch_with_accuracy(app_server, page, case):
    choose_upload(page, app_server)
    upload(page, digit_uploads()[case])
    accuracy = train_to_the_end(page)
    assert accuracy > 30, f"{case}: {accuracy}% after 5 epochs of Adam on digits"
    no_errors(page)


def test_each_broken_upload_names_the_file_and_keeps_the_run_before(app_server, page):
    choose_upload(page, app_server)
    upload(page, digit_uploads()["npz"])
    train_to_the_end(page)
    finished = status(page).inner_text()
    train = button(page, "Train")
    for case, (files, message) in broken_uploads().items():
        upload(page, files)
        expect(page.get_by_test_id("stAlertContentError").filter(has_text=message)).to_have_count(1)
        no_errors(page)
        assert status(page).inner_text() == finished, f"{case}: the finished run is no longer shown"
        expect(train).to_be_disabled()
