"""Health, API docs, settings from the environment, and tasks on a real worker."""

import os
import subprocess
import sys
import time

import pytest
from django.core.cache import cache

from omni.services import HEARTBEAT_CACHE_KEY, ensure_schedules
from omni.tasks import record_heartbeat


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client, settings):
    from omni.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/me/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI is served by Omni itself, never from a CDN.
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_every_idempotent_write_documents_its_key_header(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    post = schema["paths"]["/api/v1/stock/receipts/"]["post"]
    [header] = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header"
    assert header["required"] is True
    assert "Error" in schema["components"]["schemas"]


@pytest.mark.django_db
def test_schedules_are_created_by_code_and_rerunning_changes_nothing():
    from django_celery_beat.models import PeriodicTask

    ensure_schedules()
    first = set(PeriodicTask.objects.values_list("name", "task"))
    ensure_schedules()
    assert set(PeriodicTask.objects.values_list("name", "task")) == first
    assert ("Purge old idempotency records", "omni.purge_idempotency_records") in first


@pytest.mark.celery_worker
def test_a_task_runs_on_a_real_worker(celery_worker_thread):
    record_heartbeat.delay()
    deadline = time.monotonic() + 20
    while cache.get(HEARTBEAT_CACHE_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get(HEARTBEAT_CACHE_KEY) is not None


def _start_with(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "manage.py", "check"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_secret_key_refuses_to_start():
    result = _start_with({"DEBUG": "false", "ALLOWED_HOSTS": "shop.example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "DEBUG is off" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    result = _start_with({"DEBUG": "false", "SECRET_KEY": "x" * 60})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
            "ALLOWED_HOSTS": "shop.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
