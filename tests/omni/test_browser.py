"""The admin and the API docs in a real browser."""

import pytest

from omni.models import Role
from tests.conftest import log_in
from tests.factories import make_staff

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_administrator_logs_in_to_the_branded_admin(browser_page):
    boss = make_staff("boss", Role.ADMINISTRATOR)
    boss.is_superuser = True
    boss.save()
    browser_page.goto("/admin/login/")
    assert "Omni" in browser_page.inner_text("#site-name")
    browser_page.omni_screenshot("admin-login")
    log_in(browser_page, "boss")
    assert browser_page.locator("#user-tools").inner_text().upper().startswith("WELCOME")
    assert "System health" in browser_page.inner_text("#content")
    browser_page.get_by_role("link", name="All pages").first.click()
    assert browser_page.get_by_role("link", name="API tokens").count() >= 1
    browser_page.omni_screenshot("admin-index")


def test_a_wrong_password_is_refused_in_plain_words(browser_page):
    make_staff("ana", Role.STORE_ASSOCIATE)
    browser_page.goto("/admin/login/")
    browser_page.fill("#id_username", "ana")
    browser_page.fill("#id_password", "wrong")
    browser_page.click("input[type=submit]")
    assert "correct username and password" in browser_page.inner_text(".errornote")


def test_the_api_docs_render_without_any_cdn(browser_page):
    requested = []
    browser_page.on("request", lambda request: requested.append(request.url))
    browser_page.goto("/api/docs/")
    # Swagger UI stops drawing operations part-way once the schema passes ~122 of them
    # (in headless Chromium), so ask it whether it loaded the whole schema instead of
    # waiting for the last tag's text to be drawn.
    browser_page.wait_for_selector(".opblock")
    assert browser_page.evaluate("ui.specSelectors.paths().has('/api/v1/me/')")
    assert all(url.startswith(browser_page.url.split("/api/")[0]) for url in requested)
    browser_page.omni_screenshot("api-docs")
