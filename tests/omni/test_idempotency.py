"""Every idempotency rule, including concurrent requests with the same key."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from inventory.models import Location
from omni.models import IdempotencyRecord, Scope
from omni.services import purge_idempotency_records
from tests.factories import make_staff, make_token

pytestmark = pytest.mark.urls("tests.omni.urls")


@pytest.fixture
def register(db):
    return make_token([Scope.CATALOG_WRITE])


@pytest.fixture
def client(register, token_client):
    return token_client(register[1])


def post(client, body, key="key-1", url="/api/v1/test/locations/"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, format="json", **headers)


@pytest.mark.django_db
def test_a_replay_returns_the_first_response_and_writes_nothing(client):
    first = post(client, {"code": "lisbon", "name": "Lisbon"})
    replay = post(client, {"code": "lisbon", "name": "Lisbon"})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Location.objects.filter(code="lisbon").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_a_different_body_is_422_and_writes_nothing(client):
    post(client, {"code": "lisbon", "name": "Lisbon"})
    reused = post(client, {"code": "porto", "name": "Porto"})
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert not Location.objects.filter(code="porto").exists()


@pytest.mark.django_db
def test_a_missing_key_where_required_is_400_and_writes_nothing(client):
    response = post(client, {"code": "lisbon", "name": "Lisbon"}, key=None)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert not Location.objects.exists()


@pytest.mark.django_db
def test_a_key_with_spaces_or_too_long_is_400(client):
    for key in ["has space", "x" * 256]:
        response = post(client, {"code": "lisbon", "name": "Lisbon"}, key=key)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert not Location.objects.exists()


@pytest.mark.django_db
def test_an_optional_key_may_be_left_out(client):
    response = post(client, {"code": "a"}, key=None, url="/api/v1/test/optional/")
    assert response.status_code == 201
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_keys_belong_to_their_caller(client, token_client):
    _, other = make_token([Scope.CATALOG_WRITE], name="Other register")
    post(client, {"code": "a", "name": "A"})
    second = post(token_client(other), {"code": "b", "name": "B"})
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert Location.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_write_is_not_stored_and_leaves_nothing(client):
    refused = post(client, {"code": "a1"}, url="/api/v1/test/failing/")
    assert refused.status_code == 409
    assert not Location.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    # Retrying the same request runs it again (it wrote nothing the first time).
    assert post(client, {"code": "a1"}, url="/api/v1/test/failing/").status_code == 409


@pytest.mark.django_db
def test_invalid_input_is_not_stored_so_a_fixed_retry_can_succeed(client):
    assert post(client, {"code": "bad code!", "name": "x"}).status_code == 400
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_stored_responses_are_kept_24_hours_then_purged(client):
    post(client, {"code": "a", "name": "A"})
    record = IdempotencyRecord.objects.get()
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert purge_idempotency_records() == 0
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(hours=49)
    )
    assert purge_idempotency_records() == 1


@pytest.mark.django_db
def test_a_staff_session_is_keyed_by_user(api_client):
    ana = make_staff("ana", "Administrator")
    api_client.force_login(ana)
    post(api_client, {"code": "a", "name": "A"})
    assert IdempotencyRecord.objects.get().owner == f"user:{ana.pk}"


def _http_post(url: str, token: str, body: dict, key: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        url,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_a_second_request_while_the_first_runs_is_409_with_retry_after(live_server, register):
    url = f"{live_server.url}/api/v1/test/locations/"
    body = {"code": "slow", "name": "Slow", "pause": 1.5}
    results = {}
    first = threading.Thread(
        target=lambda: results.setdefault("first", _http_post(url, register[1], body, "k"))
    )
    first.start()
    # Wait until the first request holds the key, then send the second.
    for _ in range(100):
        if _advisory_lock_held():
            break
        threading.Event().wait(0.02)
    second = _http_post(url, register[1], body, "k")
    first.join()
    assert results["first"][0] == 201
    assert second[0] == 409
    assert second[2]["error"]["code"] == "idempotency_request_in_progress"
    assert second[1]["Retry-After"] == "1"
    assert Location.objects.filter(code="slow").count() == 1


def _advisory_lock_held() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_the_same_key_write_exactly_once(live_server, register):
    url = f"{live_server.url}/api/v1/test/locations/"
    body = {"code": "race", "name": "Race", "pause": 0.2}
    barrier = threading.Barrier(8)
    results = []

    def client():
        barrier.wait()
        results.append(_http_post(url, register[1], body, "same-key"))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _, _ in results)
    assert Location.objects.filter(code="race").count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert set(statuses) <= {201, 409}
    created = [r for r in results if r[0] == 201]
    fresh = [r for r in created if r[1].get("Idempotent-Replayed") != "true"]
    assert len(fresh) == 1
    assert all(r[2] == fresh[0][2] for r in created)
