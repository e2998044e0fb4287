"""OWASP API4 (resource consumption): each token and each staff login has its own
per-minute budget; over it, 429 in the one error shape with Retry-After, and nothing is
written."""

import pytest

from customers.models import Customer
from omni.models import Role, Scope
from tests.customers.factories import CustomerFactory
from tests.factories import make_staff, make_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_rate_window")]


def test_a_token_over_its_own_limit_writes_nothing(token_client):
    _, plain = make_token([Scope.CUSTOMERS_WRITE], rate_limit_per_minute=2, name="Noisy")
    noisy = token_client(plain)
    ana = CustomerFactory(city="Lisboa")
    url = f"/api/v1/customers/{ana.public_id}/"
    assert noisy.patch(url, {"city": "Porto"}, format="json").status_code == 200
    assert noisy.patch(url, {"city": "Braga"}, format="json").status_code == 200
    refused = noisy.patch(url, {"city": "Faro"}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Customer.objects.get(pk=ana.pk).city == "Braga"


def test_each_token_and_each_login_has_its_own_budget(token_client, api_client, settings):
    settings.OMNI_DEFAULT_RATE_LIMIT = 2
    first = token_client(make_token([Scope.CUSTOMERS_READ], name="First")[1])
    second = token_client(make_token([Scope.CUSTOMERS_READ], name="Second")[1])
    api_client.force_login(make_staff("ana", Role.ADMINISTRATOR))
    assert [first.get("/api/v1/me/").status_code for _ in range(2)] == [200, 200]
    # the first token is spent; the other token and the staff login are not
    assert second.get("/api/v1/me/").status_code == 200
    assert api_client.get("/api/v1/me/").status_code == 200
    spent = first.get("/api/v1/me/")
    assert spent.status_code == 429
    assert spent.json()["error"]["code"] == "rate_limited"


def test_guessing_tokens_from_one_address_is_throttled(token_client, settings):
    settings.OMNI_AUTH_FAILURE_RATE_LIMIT = 3
    _, plain = make_token([Scope.CUSTOMERS_READ], name="Real")
    guesser = token_client("omni_000000000000_guess")
    statuses = [guesser.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert guesser.get("/api/v1/me/").json()["error"]["code"] == "rate_limited"
    # a valid token from the same address still works
    assert token_client(plain).get("/api/v1/me/").status_code == 200
    # and another address may still try
    elsewhere = token_client("omni_000000000000_guess")
    assert elsewhere.get("/api/v1/me/", REMOTE_ADDR="203.0.113.50").status_code == 401
