"""Security headers: CSP everywhere (so the browser tests run under it), HSTS, secure
cookies and an HTTPS redirect in production, and `check --deploy` clean."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omni.models import Role
from tests.conftest import log_in
from tests.factories import LocationFactory, make_staff

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "production-like-secret-key-for-tests-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "omni.example.com",
}

# Runs inside a process started with the production environment above.
PROBE = """
import json
from django.test import Client
plain = Client(HTTP_HOST="omni.example.com")
redirect = plain.get("/admin/login/")
secure = Client(HTTP_HOST="omni.example.com", HTTP_X_FORWARDED_PROTO="https")
page = secure.get("/admin/login/")
docs = secure.get("/api/docs/")
print(json.dumps({
    "redirect": [redirect.status_code, redirect.get("Location", "")],
    "headers": dict(page.headers),
    "csrf_cookie": {k: str(v) for k, v in page.cookies["csrftoken"].items()},
    "docs": [docs.status_code, docs.headers.get("Content-Security-Policy", "")],
}))
"""


def run_production(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION}
    env.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {part[0]: part[1:] for part in parts}


@pytest.fixture(scope="module")
def production():
    result = run_production("shell", "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_to_https(production):
    status, location = production["redirect"]
    assert status == 301
    assert location == "https://omni.example.com/admin/login/"


def test_production_sends_hsts_csp_and_the_other_security_headers(production):
    headers = production["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    csp = directives(headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert "upgrade-insecure-requests" in csp


def test_production_cookies_are_secure(production):
    cookie = production["csrf_cookie"]
    assert cookie["secure"] is True or cookie["secure"] == "True"
    assert cookie["samesite"] == "Lax"


def test_production_api_docs_render_under_the_csp(production):
    status, csp = production["docs"]
    assert status == 200
    assert "'unsafe-inline'" not in directives(csp)["script-src"]


def test_check_deploy_is_clean_at_warning_level():
    result = run_production("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_development_sends_the_same_csp_without_https_rules(client):
    response = client.get("/admin/login/")
    csp = directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert "upgrade-insecure-requests" not in csp
    assert "Strict-Transport-Security" not in response


@pytest.mark.django_db(transaction=True)
def test_admin_desks_and_api_docs_break_no_csp_rule_in_a_browser(browser_page):
    violations = []
    browser_page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    lisbon = LocationFactory(
        code="lisbon-chiado", name="Lisbon Chiado", offers_click_and_collect=True
    )
    porto = LocationFactory(code="porto-baixa", name="Porto Baixa", offers_click_and_collect=True)
    make_staff("rui", Role.STORE_MANAGER, [lisbon, porto])
    log_in(browser_page, "rui")
    browser_page.goto("/admin/orders/pickupdesk/")
    # The header's store switcher (a script from a static file) moves the desk to Porto.
    with browser_page.expect_navigation():
        browser_page.locator("#omni-store").select_option(label="Porto Baixa")
    assert "Porto Baixa" in browser_page.inner_text(".breadcrumbs")
    browser_page.goto("/api/docs/")
    browser_page.wait_for_selector(".opblock")
    assert browser_page.evaluate("ui.specSelectors.paths().has('/api/v1/me/')")
    assert violations == []
