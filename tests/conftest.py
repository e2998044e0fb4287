import os
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from omni import auth
from tests.factories import LocationFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database's tables are never analysed while the suite runs.

    Autovacuum would analyse a table at some moment between tests, often just after a
    transactional test has emptied it. A test that then fills it in its own transaction
    (thousands of customers, say) is planned as if every table held one row, and a join
    of three such tables became a cubic nested loop that never finished in CI.
    Without statistics the planner sizes each table by its pages, the same in every run.
    """
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute(
            """
            DO $$
            DECLARE t regclass;
            BEGIN
                FOR t IN SELECT c.oid::regclass FROM pg_class c
                         WHERE c.relnamespace = current_schema()::regnamespace
                           AND c.relkind = 'r'
                LOOP
                    EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', t);
                END LOOP;
            END $$
            """
        )


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters and heartbeats live in Redis, tokens also in each process's
    memo; each test starts from none."""
    cache.clear()
    auth._memo.clear()
    return


@pytest.fixture
def one_rate_window(monkeypatch):
    """Rate limits count per clock minute; pinning their clock to the middle of the
    current minute keeps a test's requests in one window, so a test that happens to run
    across a minute boundary does not start a fresh count halfway."""
    from omni import ratelimit

    now = time.time()
    middle = now - now % ratelimit.WINDOW_SECONDS + ratelimit.WINDOW_SECONDS / 2
    monkeypatch.setattr(ratelimit, "clock", lambda: middle)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def lisbon(db):
    return LocationFactory(code="lisbon-chiado", name="Lisbon Chiado")


@pytest.fixture
def porto(db):
    return LocationFactory(code="porto-baixa", name="Porto Baixa")


def bearer(client: APIClient, token: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def token_client(api_client):
    """`token_client(plain_token)` → a client that sends it as a bearer token."""

    def make(plain: str) -> APIClient:
        return bearer(APIClient(), plain)

    return make


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker, in a thread, consuming from the embedded broker."""
    from celery.contrib.testing.worker import start_worker

    from omni.celery import app

    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30
    ) as worker:
        yield worker


ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


@pytest.fixture
def browser_page(live_server):
    """A page in Debian's headless chromium (no browser download), driven by Playwright.

    Screenshots go to artifacts/screenshots/ through `page.omni_screenshot(name)`.
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860}, base_url=live_server.url)

        def omni_screenshot(name: str) -> Path:
            path = ARTIFACTS / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            return path

        page.omni_screenshot = omni_screenshot
        yield page
        browser.close()
        # Playwright's event loop gives this block a context of its own, and Django keeps
        # connections per context: close this one's, or a later browser test inherits it
        # (broken, if the database restarted in between).
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def log_in(page, username: str, password: str = "correct horse battery") -> None:
    """Log in through the admin's own login form."""
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.figures import FIGURES

    for line in config.stash.get(FIGURES, []):
        terminalreporter.write_line(line)
