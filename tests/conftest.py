import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import LocationFactory


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters and heartbeats live in Redis; each test starts from none."""
    cache.clear()
    return


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
