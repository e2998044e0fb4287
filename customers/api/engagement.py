"""Engagement API: loyalty, support cases, feedback, activity events, timeline, metrics.

Customers are addressed by `public_id`; a merged-away ID is followed to the survivor.
Views validate with an input serializer, call a service, render with an output serializer.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView, get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api import engagement_serializers as s
from customers.models import (
    CaseMessage,
    CasePriority,
    CaseStatus,
    Channel,
    Customer,
    Feedback,
    LoyaltyEntry,
    SupportCase,
    TimelineEntry,
)
from customers.services import cases, events, feedback, loyalty, metrics, timeline
from inventory.models import Location
from omni.api.filtering import StrictFilterBackend
from omni.idempotency import idempotent

# The body is the shared error shape (omni.schema fills it in).
ERROR = OpenApiResponse(description="Refused; `error.code` says why.")


def customer_from_url(public_id) -> Customer:
    """The customer a URL names, followed to the survivor if they were merged."""
    return timeline.survivor_of(get_object_or_404(Customer, public_id=public_id))


# --- loyalty ---


def _summary(customer: Customer) -> dict:
    account = loyalty.account_of(customer)
    policy = loyalty.current_policy()
    customer_metrics = getattr(customer, "metrics", None)
    return {
        "customer": customer.public_id,
        "balance": account.balance,
        "tier": account.tier,
        "spend_12_months": customer_metrics.monetary if customer_metrics else 0,
        "currency": policy.currency,
        "policy": policy,
    }


class LoyaltySummaryView(APIView):
    """A customer's points balance, tier and the policy that applies."""

    scope = "customers"

    @extend_schema(responses={200: s.LoyaltySummaryOut, 404: ERROR})
    def get(self, request, public_id):
        customer = customer_from_url(public_id)
        return Response(s.LoyaltySummaryOut(_summary(customer)).data)


class LoyaltyEntryFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = LoyaltyEntry
        fields = ["kind", "reference_type", "reference_id"]


class LoyaltyEntryListView(ListAPIView):
    """The points ledger, newest first."""

    scope = "customers"
    serializer_class = s.LoyaltyEntryOut
    filterset_class = LoyaltyEntryFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LoyaltyEntry.objects.none()
        customer = customer_from_url(self.kwargs["public_id"])
        return LoyaltyEntry.objects.filter(customer=customer).order_by("-created_at", "-id")


def _change_response(customer, entry, created: bool) -> Response:
    body = {
        "entry": entry,
        "created": created,
        "balance": loyalty.account_of(customer).balance,
    }
    return Response(
        s.LoyaltyChangeOut(body).data, status=status.HTTP_201_CREATED if created else 200
    )


class LoyaltyEarnView(APIView):
    """Credit points for an order or sale, once per reference whatever the retries."""

    scope = "customers"

    @extend_schema(
        request=s.EarnIn,
        responses={
            201: s.LoyaltyChangeOut,
            200: OpenApiResponse(s.LoyaltyChangeOut, description="Already earned."),
            400: ERROR,
            404: ERROR,
        },
    )
    @idempotent(required=True)
    def post(self, request, public_id):
        customer = customer_from_url(public_id)
        data = s.EarnIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry, created = loyalty.earn_points(
            customer=customer,
            reference_type=data.validated_data["reference_type"],
            reference_id=data.validated_data["reference_id"],
            amount=data.validated_data.get("amount"),
            points=data.validated_data.get("points"),
            reason=data.validated_data["reason"],
            actor=loyalty.LoyaltyActor.of(request.user),
        )
        return _change_response(customer, entry, created)


class LoyaltyRedeemView(APIView):
    """Spend points; more than the balance is 422 `insufficient_points`."""

    scope = "customers"

    @extend_schema(
        request=s.RedeemIn,
        responses={201: s.LoyaltyChangeOut, 400: ERROR, 404: ERROR, 422: ERROR},
    )
    @idempotent(required=True)
    def post(self, request, public_id):
        customer = customer_from_url(public_id)
        data = s.RedeemIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = loyalty.redeem_points(
            customer=customer, actor=loyalty.LoyaltyActor.of(request.user), **data.validated_data
        )
        return _change_response(customer, entry, True)


class LoyaltyAdjustView(APIView):
    """A manual correction with a reason; never below zero."""

    scope = "customers"

    @extend_schema(
        request=s.AdjustIn,
        responses={201: s.LoyaltyChangeOut, 400: ERROR, 404: ERROR, 422: ERROR},
    )
    @idempotent(required=True)
    def post(self, request, public_id):
        customer = customer_from_url(public_id)
        data = s.AdjustIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = loyalty.adjust_points(
            customer=customer, actor=loyalty.LoyaltyActor.of(request.user), **data.validated_data
        )
        return _change_response(customer, entry, True)


# --- cases ---


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=CasePriority.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    customer = django_filters.UUIDFilter(field_name="customer__public_id")
    location = django_filters.CharFilter(field_name="location__code")
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")

    class Meta:
        model = SupportCase
        fields = ["assignee", "order_reference"]


def _case_context(case: SupportCase) -> dict:
    customer = case.customer
    account = loyalty.account_of(customer)
    customer_metrics = getattr(customer, "metrics", None)
    return {
        "identities": [str(identity) for identity in customer.identities.all()],
        "loyalty_balance": account.balance,
        "loyalty_tier": account.tier,
        "lifecycle_stage": customer_metrics.lifecycle_stage if customer_metrics else "prospect",
        "order_count": customer_metrics.order_count if customer_metrics else 0,
        "other_cases": SupportCase.objects.filter(customer=customer)
        .exclude(pk=case.pk)
        .select_related("customer", "assignee", "location")
        .order_by("-created_at")[:10],
    }


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Support cases from every channel; the detail carries the whole thread (notes too)
    and the customer's context."""

    scope = "customers"
    filterset_class = CaseFilter
    ordering_fields = ["created_at", "updated_at", "priority"]
    queryset = SupportCase.objects.select_related("customer", "assignee", "location")

    def get_serializer_class(self):
        return s.CaseDetailOut if self.action != "list" else s.CaseOut

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            queryset = queryset.prefetch_related(
                Prefetch("messages", queryset=CaseMessage.objects.order_by("created_at", "id")),
                "customer__identities",
            )
        return queryset

    def _detail(self, case: SupportCase, code: int = 200) -> Response:
        case = self.get_queryset().get(pk=case.pk)
        case.context = _case_context(case)
        return Response(s.CaseDetailOut(case).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(request=s.CaseIn, responses={201: s.CaseDetailOut, 400: ERROR})
    @idempotent()
    def create(self, request):
        data = s.CaseIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = cases.open_case(opened_by=request.user, **data.validated_data)
        return self._detail(case, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.CaseStatusIn,
        responses={200: s.CaseDetailOut, 404: ERROR, 409: ERROR, 422: ERROR},
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def status(self, request, pk=None):
        case = self.get_object()
        data = s.CaseStatusIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = cases.change_case_status(case=case, actor=request.user, **data.validated_data)
        return self._detail(case)

    @extend_schema(
        request=s.CaseAssignIn,
        responses={200: s.CaseDetailOut, 404: ERROR, 422: ERROR},
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def assign(self, request, pk=None):
        case = self.get_object()
        data = s.CaseAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = cases.assign_case(
            case=case, assignee=data.validated_data["assignee"], actor=request.user
        )
        return self._detail(case)

    @extend_schema(
        request=s.CaseMessageIn,
        responses={201: s.CaseDetailOut, 404: ERROR, 422: ERROR},
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def messages(self, request, pk=None):
        case = self.get_object()
        data = s.CaseMessageIn(data=request.data)
        data.is_valid(raise_exception=True)
        cases.add_case_message(case=case, author=request.user, **data.validated_data)
        return self._detail(case, status.HTTP_201_CREATED)


# --- feedback ---


class FeedbackFilter(django_filters.FilterSet):
    customer = django_filters.UUIDFilter(field_name="customer__public_id")
    location = django_filters.CharFilter(field_name="location__code")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Feedback
        fields = ["kind", "score", "order_reference", "case", "channel"]


class FeedbackViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """CSAT (1–5) and NPS (0–10) answers about orders, cases and store visits."""

    scope = "customers"
    serializer_class = s.FeedbackOut
    filterset_class = FeedbackFilter
    ordering_fields = ["created_at", "score"]
    queryset = Feedback.objects.select_related("customer", "location").order_by("-created_at")

    @extend_schema(request=s.FeedbackIn, responses={201: s.FeedbackOut, 400: ERROR})
    @idempotent()
    def create(self, request):
        data = s.FeedbackIn(data=request.data)
        data.is_valid(raise_exception=True)
        answer = feedback.record_feedback(**data.validated_data)
        return Response(s.FeedbackOut(answer).data, status=status.HTTP_201_CREATED)


# --- events ---


class EventBatchView(APIView):
    """Up to 500 web/app events. Each is accepted, a duplicate (its event ID was seen
    before: nothing written) or rejected (with its errors); the others are unaffected."""

    required_scopes = {"POST": "events:write"}

    @extend_schema(request=s.EventBatchIn, responses={200: s.EventBatchOut, 400: ERROR})
    def post(self, request):
        batch = s.EventBatchIn(data=request.data)
        batch.is_valid(raise_exception=True)
        results: list[dict] = []
        valid: list[tuple[int, dict]] = []
        for position, raw in enumerate(batch.validated_data["events"]):
            event = s.EventIn(data=raw)
            if event.is_valid():
                valid.append((position, event.validated_data))
                results.append({"event_id": event.validated_data["event_id"], "status": ""})
            else:
                results.append(
                    {
                        "event_id": str(raw.get("event_id")) if raw.get("event_id") else None,
                        "status": "rejected",
                        "errors": event.errors,
                    }
                )
        codes = {data["location"] for _, data in valid if data["location"]}
        locations = dict(Location.objects.filter(code__in=codes).values_list("code", "pk"))
        incoming = []
        for position, data in valid:
            if data["location"] and data["location"] not in locations:
                results[position].update(
                    status="rejected", errors={"location": ["Unknown location code."]}
                )
                continue
            incoming.append(
                events.IncomingEvent(
                    event_id=data["event_id"],
                    type=data["type"],
                    occurred_at=data["occurred_at"],
                    channel=data["channel"],
                    device_id=data["device_id"],
                    email=data["email"],
                    phone=data["phone"],
                    customer_public_id=data["customer"],
                    location_id=locations.get(data["location"]),
                    properties=data["properties"],
                )
            )
        outcome = events.ingest_events(events=incoming)
        first_seen: set[str] = set()
        for result in results:
            if result["status"]:
                continue
            event_id = result["event_id"]
            accepted = outcome.get(event_id) == events.ACCEPTED and event_id not in first_seen
            result["status"] = "accepted" if accepted else "duplicate"
            first_seen.add(event_id)
        body = {
            "accepted": sum(result["status"] == "accepted" for result in results),
            "duplicates": sum(result["status"] == "duplicate" for result in results),
            "rejected": sum(result["status"] == "rejected" for result in results),
            "results": results,
        }
        return Response(s.EventBatchOut(body).data)


# --- timeline and metrics ---


class TimelineFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=TimelineEntry.Kind.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = TimelineEntry
        fields = ["kind", "channel"]


class TimelineView(ListAPIView):
    """One chronological feed per customer across channels, newest first."""

    scope = "customers"
    serializer_class = s.TimelineEntryOut
    filterset_class = TimelineFilter
    ordering_fields = None
    filter_backends = [StrictFilterBackend]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TimelineEntry.objects.none()
        return timeline.timeline_for(customer_from_url(self.kwargs["public_id"]))


class MetricsView(APIView):
    """The customer's metrics (definitions in the README, "Customer metrics")."""

    scope = "customers"

    @extend_schema(responses={200: s.CustomerMetricsOut, 404: ERROR})
    def get(self, request, public_id):
        customer = customer_from_url(public_id)
        return Response(s.CustomerMetricsOut(metrics.metrics_of(customer)).data)
