"""`/api/v1/webhooks/`: endpoints (the signing secret is shown on create and on rotation
only), the delivery log with every attempt, and resending. Needs `webhooks:admin`."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from omni.idempotency import idempotent
from omni.webhooks import services
from omni.webhooks.models import (
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

ADMIN = "webhooks:admin"
EVERY_METHOD = {m: ADMIN for m in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")}


class WebhookEndpointInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1
    )
    is_active = serializers.BooleanField(default=True)


class WebhookEndpointOutput(serializers.ModelSerializer):
    secret_hint = serializers.CharField(read_only=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "url",
            "event_types",
            "is_active",
            "secret_hint",
            "created_at",
            "updated_at",
        ]


class WebhookEndpointWithSecret(WebhookEndpointOutput):
    secret = serializers.CharField(
        read_only=True, help_text="Shown now only: keep it to verify signatures."
    )

    class Meta(WebhookEndpointOutput.Meta):
        fields = [*WebhookEndpointOutput.Meta.fields, "secret"]


class WebhookAttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "status_code",
            "response_excerpt",
            "error",
            "succeeded",
        ]


class WebhookDeliveryOutput(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.event_id", read_only=True)
    event_type = serializers.ChoiceField(source="event.type", choices=EventType.choices)
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)
    payload = serializers.JSONField(source="event.payload", read_only=True)
    log = WebhookAttemptOutput(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "occurred_at",
            "payload",
            "state",
            "attempts",
            "next_attempt_at",
            "first_attempted_at",
            "last_attempted_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "log",
        ]


class WebhookDeliveryFilter(django_filters.FilterSet):
    endpoint = django_filters.NumberFilter(field_name="endpoint_id")
    state = django_filters.ChoiceFilter(choices=WebhookDelivery.State.choices)
    event_type = django_filters.ChoiceFilter(field_name="event__type", choices=EventType.choices)
    event_id = django_filters.UUIDFilter(field_name="event__event_id")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "state", "event_type", "event_id"]


@extend_schema(tags=["webhooks"])
class EndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    required_scopes = EVERY_METHOD
    serializer_class = WebhookEndpointOutput
    queryset = WebhookEndpoint.objects.all()
    ordering_fields = ["name", "created_at"]

    @extend_schema(request=WebhookEndpointInput, responses={201: WebhookEndpointWithSecret})
    @idempotent()
    def create(self, request):
        data = WebhookEndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.create_endpoint(**data.validated_data, created_by=request.user)
        return Response(WebhookEndpointWithSecret(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointInput(partial=True), responses=WebhookEndpointOutput)
    def partial_update(self, request, pk=None):
        data = WebhookEndpointInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.update_endpoint(endpoint=self.get_object(), **data.validated_data)
        return Response(WebhookEndpointOutput(endpoint).data)

    @extend_schema(request=None, responses=WebhookEndpointWithSecret)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = services.rotate_secret(endpoint=self.get_object())
        return Response(WebhookEndpointWithSecret(endpoint).data)


@extend_schema(tags=["webhooks"])
class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    required_scopes = EVERY_METHOD
    serializer_class = WebhookDeliveryOutput
    filterset_class = WebhookDeliveryFilter
    queryset = WebhookDelivery.objects.select_related("event").prefetch_related("log")
    ordering_fields = ["created_at", "next_attempt_at"]

    @extend_schema(request=None, responses={202: WebhookDeliveryOutput})
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        delivery = services.resend(delivery=self.get_object())
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)
