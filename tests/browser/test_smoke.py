"""The page a visitor first sees: it loads, shows its title and no error."""

import re

from playwright.sync_api import expect

from .helpers import wait_for_app


def test_page_loads_with_title_and_no_exception(app_server, page, screenshot_dir):
    page.goto(app_server)
    wait_for_app(page)

    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("twolayer", re.IGNORECASE)).first).to_be_visible()
    page.screenshot(path=screenshot_dir / "smoke.png", full_page=True)
    assert page.errors == [], f"the browser reported errors: {page.errors}"
