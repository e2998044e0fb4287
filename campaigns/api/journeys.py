"""Journeys API (list, switch on and off, replace the steps, enrolments) and a customer's
recommendations. Views validate, call a service, render."""

from __future__ import annotations

import django_filters
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from campaigns.api.views import _uuid, find_customer
from campaigns.journey_models import Enrollment, Journey, JourneyStep
from campaigns.recommendations import MAX_LIMIT, recommend_for
from campaigns.services import journeys as journey_services
from omni.auth import has_scope
from omni.errors import BadRequest
from omni.idempotency import idempotent
from orders.models import Promotion

# --- Serializers ----------------------------------------------------------------------------


class JourneyStepSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=JourneyStep.Kind.choices)
    rule = serializers.ChoiceField(
        choices=journey_services.RULE_CHOICES, required=False, allow_blank=True
    )
    promotion = serializers.PrimaryKeyRelatedField(
        queryset=Promotion.objects.filter(is_active=True), required=False, allow_null=True
    )
    code_valid_days = serializers.IntegerField(min_value=1, max_value=365, required=False)

    class Meta:
        model = JourneyStep
        fields = ["position", "kind", "wait", "rule", "message_key", "promotion", "code_valid_days"]
        read_only_fields = ["position"]


class JourneyOutput(serializers.ModelSerializer):
    steps = JourneyStepSerializer(many=True, read_only=True)
    campaign = serializers.UUIDField(source="campaign.public_id", read_only=True)
    active_enrollments = serializers.SerializerMethodField()

    class Meta:
        model = Journey
        fields = [
            "key",
            "name",
            "trigger",
            "trigger_after",
            "active",
            "campaign",
            "steps",
            "active_enrollments",
            "updated_at",
        ]

    def get_active_enrollments(self, journey) -> int:
        return journey.enrollments.filter(state=Enrollment.State.ACTIVE).count()


class JourneyInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    active = serializers.BooleanField(required=False)
    trigger_after = serializers.DurationField(required=False, allow_null=True)


class StepsInput(serializers.Serializer):
    steps = JourneyStepSerializer(many=True)


class EnrollmentOutput(serializers.ModelSerializer):
    journey = serializers.CharField(source="journey.key")
    customer = serializers.UUIDField(source="customer.public_id")

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "journey",
            "customer",
            "trigger_key",
            "state",
            "step_position",
            "triggered_at",
            "due_at",
            "exit_reason",
            "history",
            "attempts",
            "last_error",
            "created_at",
            "finished_at",
        ]


class RecommendationOutput(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=["bought_together", "category_best_seller", "best_seller"]
    )
    score = serializers.IntegerField()
    available = serializers.IntegerField()
    in_stock = serializers.BooleanField()


class RecommendationsOutput(serializers.Serializer):
    customer = serializers.UUIDField()
    results = RecommendationOutput(many=True)


# --- Filters --------------------------------------------------------------------------------


class EnrollmentFilter(django_filters.FilterSet):
    journey = django_filters.CharFilter(field_name="journey__key")
    customer = django_filters.UUIDFilter(field_name="customer__public_id")
    state = django_filters.ChoiceFilter(choices=Enrollment.State.choices)

    class Meta:
        model = Enrollment
        fields = ["journey", "customer", "state"]


# --- Views ----------------------------------------------------------------------------------


def _journeys():
    return Journey.objects.select_related("campaign").prefetch_related("steps")


@extend_schema(tags=["campaigns"])
class JourneyViewSet(viewsets.ReadOnlyModelViewSet):
    """Triggered journeys and their ordered steps."""

    scope = "campaigns"
    serializer_class = JourneyOutput
    lookup_field = "key"
    pagination_class = None

    def get_queryset(self):
        return _journeys()

    def render(self, journey: Journey) -> Response:
        return Response(JourneyOutput(_journeys().get(pk=journey.pk)).data)

    @extend_schema(request=JourneyInput, responses=JourneyOutput)
    @idempotent()
    def partial_update(self, request, key=None):
        journey = self.get_object()
        data = JourneyInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "trigger_after" in values:
            journey_services.check_trigger_after(
                trigger=journey.trigger, trigger_after=values["trigger_after"]
            )
        with transaction.atomic():
            Journey.objects.filter(pk=journey.pk).update(**values)
        return self.render(journey)

    @extend_schema(request=StepsInput, responses=JourneyOutput, summary="Replace the steps")
    @action(detail=True, methods=["put"])
    @idempotent()
    def steps(self, request, key=None):
        journey = self.get_object()
        data = StepsInput(data=request.data)
        data.is_valid(raise_exception=True)
        journey_services.set_steps(
            journey=journey,
            steps=[
                {name: value for name, value in step.items() if name != "position"}
                for step in data.validated_data["steps"]
            ],
        )
        return self.render(journey)


@extend_schema(tags=["campaigns"])
class EnrollmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Who is on which journey, where they stand, and why they left."""

    scope = "campaigns"
    serializer_class = EnrollmentOutput
    filterset_class = EnrollmentFilter
    ordering_fields = ["created_at", "due_at"]

    def get_queryset(self):
        return Enrollment.objects.select_related("journey", "customer")


class CustomersOrCampaignsRead(BasePermission):
    message = "Your credentials lack customers:read or campaigns:read."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and (
            has_scope(user, "customers:read") or has_scope(user, "campaigns:read")
        )


@extend_schema(tags=["campaigns"])
class CustomerRecommendationsView(GenericAPIView):
    """Products for this customer: bought together with what they bought, then category
    best-sellers; never what they already own; in-stock first."""

    permission_classes = [CustomersOrCampaignsRead]
    serializer_class = RecommendationsOutput

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT} (default 4).")],
        responses=RecommendationsOutput,
    )
    def get(self, request, public_id):
        raw = request.query_params.get("limit", "4")
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"`limit` is a whole number from 1 to {MAX_LIMIT}.", limit=raw)
        customer = find_customer(_uuid(public_id, "public_id"))
        results = [item.as_context() for item in recommend_for(customer, limit=limit)]
        return Response(
            RecommendationsOutput({"customer": customer.public_id, "results": results}).data,
            status=status.HTTP_200_OK,
        )
