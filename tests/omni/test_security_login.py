"""Brute force on the staff login: django-axes locks a username at an address after a few
failures, and a per-address rate limit caps attempts whatever the usernames."""

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.test import override_settings

from omni.models import Role
from tests.factories import make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_rate_window")]

LOGIN = "/admin/login/"
GOOD = "correct horse battery"


def attempt(client, username, password, ip="198.51.100.5"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def ana(db):
    return make_staff("ana", Role.STORE_ASSOCIATE)


def test_five_bad_passwords_lock_the_login_even_for_the_right_password(client, ana, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        refused = attempt(client, "ana", "guess")
        assert refused.status_code == 200
        assert "correct username and password" in refused.content.decode()
    locked = attempt(client, "ana", "guess")
    assert locked.status_code == 429

    right = attempt(client, "ana", GOOD)
    assert right.status_code == 429
    page = right.content.decode()
    assert "Login locked" in page
    assert "Too many failed logins for <strong>ana</strong> from this address" in page
    assert not logged_in(client)


def test_the_lock_is_per_username_and_address(client, ana, settings):
    make_staff("rui", Role.STORE_MANAGER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "ana", "guess")
    assert attempt(client, "ana", GOOD).status_code == 429
    # Rui at the same counter, and Ana from her own phone, still get in.
    assert attempt(client, "rui", GOOD).status_code == 302
    client.logout()
    assert attempt(client, "ana", GOOD, ip="203.0.113.9").status_code == 302


def test_an_administrator_unlocking_lets_the_right_password_in_again(client, ana, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "ana", "guess")
    assert AccessAttempt.objects.filter(username="ana").exists()
    reset(username="ana")
    assert attempt(client, "ana", GOOD).status_code == 302
    assert logged_in(client)


def test_a_good_login_clears_earlier_failures(client, ana, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "ana", "guess")
    assert attempt(client, "ana", GOOD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "ana", "guess")
    assert attempt(client, "ana", GOOD).status_code == 302


@override_settings(OMNI_LOGIN_RATE_LIMIT=3)
def test_one_address_spraying_usernames_is_rate_limited(client, ana):
    for name in ("a1", "a2", "a3"):
        assert attempt(client, name, "guess").status_code == 200
    limited = attempt(client, "ana", GOOD)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert "Too many login attempts came from this address" in limited.content.decode()
    assert not logged_in(client)
    # another address is not affected
    assert attempt(client, "ana", GOOD, ip="203.0.113.9").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_lockout_page_in_a_browser(browser_page, settings):
    make_staff("ana", Role.STORE_ASSOCIATE)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser_page.goto(LOGIN)
        browser_page.fill("#id_username", "ana")
        browser_page.fill("#id_password", "guess")
        browser_page.click("input[type=submit]")
    browser_page.goto(LOGIN)
    browser_page.fill("#id_username", "ana")
    browser_page.fill("#id_password", GOOD)
    browser_page.click("input[type=submit]")
    assert "Login locked" in browser_page.inner_text("h1")
    assert "even with the right password" in browser_page.inner_text(".errornote")
    browser_page.omni_screenshot("login-locked")
