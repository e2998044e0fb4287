import pytest

from omni.models import Scope
from omni.ratelimit import hit
from tests.factories import make_staff, make_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_rate_window")]


def test_a_token_over_its_limit_gets_429_with_retry_after(token_client):
    _, plain = make_token([Scope.STOCK_READ], rate_limit_per_minute=3)
    client = token_client(plain)
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/api/v1/me/")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_one_tokens_limit_does_not_touch_another(token_client):
    _, busy = make_token([Scope.STOCK_READ], rate_limit_per_minute=1, name="busy")
    _, calm = make_token([Scope.STOCK_READ], rate_limit_per_minute=1, name="calm")
    token_client(busy).get("/api/v1/me/")
    assert token_client(busy).get("/api/v1/me/").status_code == 429
    assert token_client(calm).get("/api/v1/me/").status_code == 200


def test_staff_users_are_limited_per_login(api_client, settings):
    settings.OMNI_DEFAULT_RATE_LIMIT = 2
    api_client.force_login(make_staff("ana", "Administrator"))
    statuses = [api_client.get("/api/v1/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_window_resets_after_a_minute():
    assert hit("bucket", limit=1, now=120.0) is None
    assert hit("bucket", limit=1, now=150.0) == pytest.approx(30.0)
    assert hit("bucket", limit=1, now=180.0) is None
