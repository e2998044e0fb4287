"""Project-level endpoints: health and the caller's own identity."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from omni.auth import TokenUser, roles_of, scopes_of, visible_location_ids
from omni.services import HEARTBEAT_CACHE_KEY


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        return {"ok": False, "error": type(exc).__name__}


def _check_broker() -> dict:
    from omni.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        return {"ok": False, "error": type(exc).__name__}


def _check_cache() -> dict:
    try:
        cache.set("omni:healthz", "ok", timeout=10)
        return {
            "ok": cache.get("omni:healthz") == "ok",
            "worker_heartbeat": cache.get(HEARTBEAT_CACHE_KEY),
        }
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        return {"ok": False, "error": type(exc).__name__}


def healthz(request):
    """Liveness and readiness: 200 when the database and the broker answer, else 503."""
    checks = {"database": _check_database(), "broker": _check_broker(), "cache": _check_cache()}
    healthy = checks["database"]["ok"] and checks["broker"]["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


class MeView(APIView):
    """Who the API thinks you are: your roles or token, scopes and locations."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "principal": serializers.CharField(),
                "kind": serializers.ChoiceField(choices=["token", "staff"]),
                "roles": serializers.ListField(child=serializers.CharField()),
                "scopes": serializers.ListField(child=serializers.CharField()),
                "location_ids": serializers.ListField(
                    child=serializers.IntegerField(), allow_null=True
                ),
            },
        )
    )
    def get(self, request):
        user = request.user
        ids = visible_location_ids(user)
        return Response(
            {
                "principal": str(user),
                "kind": "token" if isinstance(user, TokenUser) else "staff",
                "roles": sorted(roles_of(user)),
                "scopes": sorted(scopes_of(user)),
                "location_ids": None if ids is None else sorted(ids),
            }
        )
