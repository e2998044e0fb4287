"""Transfers: create, pick, ship, receive, close, cancel; list and detail.

Store staff and location-bound tokens see only transfers from or to their locations;
any other transfer is a 404.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from inventory.models import Location, Sku, Transfer, TransferLine
from inventory.services import transfers
from inventory.services.ledger import Actor
from omni.auth import can_use_location, visible_location_ids
from omni.errors import NotFound
from omni.idempotency import idempotent


class TransferLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    outstanding = serializers.SerializerMethodField()

    class Meta:
        model = TransferLine
        fields = [
            "sku",
            "quantity_requested",
            "quantity_shipped",
            "quantity_received",
            "outstanding",
            "discrepancy",
            "discrepancy_note",
        ]

    def get_outstanding(self, line: TransferLine) -> int:
        return line.quantity_shipped - line.quantity_received


class TransferSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.code")
    destination = serializers.CharField(source="destination.code")
    lines = TransferLineSerializer(many=True)

    class Meta:
        model = Transfer
        fields = [
            "id",
            "source",
            "destination",
            "status",
            "expected_arrival",
            "note",
            "reference",
            "lines",
            "created_at",
            "picked_at",
            "shipped_at",
            "received_at",
            "closed_at",
            "cancelled_at",
        ]


class TransferLineIn(serializers.Serializer):
    sku = serializers.SlugRelatedField(slug_field="code", queryset=Sku.objects.all())
    quantity = serializers.IntegerField(min_value=1)


class TransferIn(serializers.Serializer):
    source = serializers.SlugRelatedField(slug_field="code", queryset=Location.objects.all())
    destination = serializers.SlugRelatedField(slug_field="code", queryset=Location.objects.all())
    lines = TransferLineIn(many=True, allow_empty=False)
    note = serializers.CharField(max_length=200, required=False, default="")
    reference = serializers.CharField(max_length=64, required=False, default="")


class ShipLineIn(serializers.Serializer):
    sku = serializers.SlugRelatedField(slug_field="code", queryset=Sku.objects.all())
    quantity = serializers.IntegerField(min_value=0)


class ShipIn(serializers.Serializer):
    expected_arrival = serializers.DateField(required=False)
    lines = ShipLineIn(many=True, required=False, help_text="Default: everything requested.")


class ReceiveLineIn(ShipLineIn):
    note = serializers.CharField(max_length=200, required=False)


class ReceiveIn(serializers.Serializer):
    lines = ReceiveLineIn(
        many=True, required=False, help_text="Default: everything still outstanding."
    )


class TransferFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__code")
    destination = django_filters.CharFilter(field_name="destination__code")
    location = django_filters.CharFilter(method="either_end", label="source or destination")

    class Meta:
        model = Transfer
        fields = ["status"]

    def either_end(self, queryset, name, value):
        return queryset.filter(Q(source__code=value) | Q(destination__code=value))


def _quantities(lines) -> dict[int, int] | None:
    if lines is None:
        return None
    return {line["sku"].pk: line["quantity"] for line in lines}


class TransferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stock moving between locations: requested → picked → in transit → received → closed."""

    scope = "stock"
    serializer_class = TransferSerializer
    filterset_class = TransferFilter

    def get_queryset(self):
        queryset = Transfer.objects.select_related("source", "destination").prefetch_related(
            "lines__sku"
        )
        ids = visible_location_ids(self.request.user)
        if ids is not None:
            queryset = queryset.filter(Q(source__in=ids) | Q(destination__in=ids))
        return queryset

    def _render(self, transfer, status_code=status.HTTP_200_OK):
        transfer = self.get_queryset().get(pk=transfer.pk)
        return Response(TransferSerializer(transfer).data, status=status_code)

    @extend_schema(request=TransferIn, responses={201: TransferSerializer})
    @idempotent()
    def create(self, request):
        data = TransferIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # A store clerk may move stock out of or into their own stores only.
        if not (
            can_use_location(request.user, values["source"].pk)
            or can_use_location(request.user, values["destination"].pk)
        ):
            raise NotFound("No such location.")
        transfer = transfers.create_transfer(
            source=values["source"],
            destination=values["destination"],
            lines=[
                transfers.LineRequest(sku=line["sku"], quantity=line["quantity"])
                for line in values["lines"]
            ],
            note=values["note"],
            reference=values["reference"],
            actor=Actor.of(request.user),
        )
        return self._render(transfer, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    @idempotent()
    def pick(self, request, pk=None):
        transfer = transfers.pick_transfer(transfer=self.get_object(), actor=Actor.of(request.user))
        return self._render(transfer)

    @extend_schema(request=ShipIn, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def ship(self, request, pk=None):
        transfer = self.get_object()
        data = ShipIn(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = transfers.ship_transfer(
            transfer=transfer,
            shipped=_quantities(data.validated_data.get("lines")),
            expected_arrival=data.validated_data.get("expected_arrival"),
            actor=Actor.of(request.user),
        )
        return self._render(transfer)

    @extend_schema(request=ReceiveIn, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def receive(self, request, pk=None):
        transfer = self.get_object()
        data = ReceiveIn(data=request.data)
        data.is_valid(raise_exception=True)
        lines = data.validated_data.get("lines")
        transfer = transfers.receive_transfer(
            transfer=transfer,
            received=_quantities(lines),
            notes={line["sku"].pk: line["note"] for line in lines or [] if line.get("note")},
            actor=Actor.of(request.user),
        )
        return self._render(transfer)

    @extend_schema(request=None, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    @idempotent()
    def close(self, request, pk=None):
        transfer = transfers.close_transfer(
            transfer=self.get_object(), actor=Actor.of(request.user)
        )
        return self._render(transfer)

    @extend_schema(request=None, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request, pk=None):
        transfer = transfers.cancel_transfer(
            transfer=self.get_object(), actor=Actor.of(request.user)
        )
        return self._render(transfer)


_router = SimpleRouter()
_router.register("transfers", TransferViewSet, basename="transfer")
transfer_urlpatterns = _router.urls
