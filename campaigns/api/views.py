"""Campaigns API: campaigns and their messages, previews, test sends, send-now, the
delivery log and providers' delivery receipts. Views validate, call a service, render."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from campaigns.api import serializers as s
from campaigns.api.filters import CampaignFilter, DeliveryFilter
from campaigns.models import Campaign, Delivery, Message
from campaigns.services import editing, events, messages, sending
from customers.models import Customer
from omni.concurrency import ConditionalUpdateMixin
from omni.errors import NotFound
from omni.idempotency import idempotent


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    message = "No customer has this ID."


def find_customer(public_id) -> Customer:
    customer = (
        Customer.objects.select_related("preferred_store").filter(public_id=public_id).first()
    )
    if customer is None:
        raise CustomerNotFound(customer=str(public_id))
    if customer.merged_into_id:
        customer = Customer.objects.select_related("preferred_store").get(
            pk=customer.merged_into_id
        )
    return customer


def with_segment(values: dict) -> dict:
    """The input's segment ID as the segment it names."""
    from campaigns.segmentation.services import find_segment

    values = dict(values)
    if values.get("segment") is not None:
        values["segment"] = find_segment(values["segment"])
    return values


STEP = OpenApiParameter("step", str, description='Campaign step (default "main").')


def campaign_queryset():
    return Campaign.objects.select_related("segment").prefetch_related(
        Prefetch("messages", queryset=Message.objects.select_related("email", "sms", "push"))
    )


@extend_schema(tags=["campaigns"])
class CampaignViewSet(
    ConditionalUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    etag_actions = ("retrieve", "message")
    scope = "campaigns"
    serializer_class = s.CampaignOutput
    filterset_class = CampaignFilter
    lookup_field = "public_id"
    ordering_fields = ["created_at", "name", "status"]

    def get_queryset(self):
        return campaign_queryset()

    def render(self, campaign: Campaign, code=status.HTTP_200_OK) -> Response:
        return Response(s.CampaignOutput(campaign_queryset().get(pk=campaign.pk)).data, status=code)

    @extend_schema(request=s.CampaignInput, responses={201: s.CampaignOutput})
    @idempotent()
    def create(self, request):
        data = s.CampaignInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = editing.create_campaign(
            **with_segment(data.validated_data),
            created_by=request.user if request.user.is_authenticated else None,
        )
        return self.render(campaign, status.HTTP_201_CREATED)

    @extend_schema(request=s.CampaignInput(partial=True), responses=s.CampaignOutput)
    def partial_update(self, request, public_id=None):
        data = s.CampaignInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        campaign = editing.update_campaign(
            campaign=self.get_object(), **with_segment(data.validated_data)
        )
        return self.render(campaign)

    @extend_schema(responses={204: None})
    def destroy(self, request, public_id=None):
        editing.delete_campaign(campaign=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"], parameters=[STEP], responses=s.MessageSerializer, summary="A message"
    )
    @extend_schema(
        methods=["PUT"],
        parameters=[STEP],
        request=s.MessageSerializer,
        responses=s.MessageSerializer,
        summary="Set a message's variants",
    )
    @action(detail=True, methods=["get", "put"])
    def message(self, request, public_id=None):
        campaign = self.get_object()
        step_key = request.query_params.get("step", "main")
        if request.method == "PUT":
            data = s.MessageSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            editing.set_message(
                campaign=campaign, variants=dict(data.validated_data), step_key=step_key
            )
        message = messages.message_for(campaign, step_key)
        if message is None:
            raise NotFound("This campaign has no such step.", step=step_key)
        return Response(s.MessageSerializer(message).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.UUID, description="Render as them."),
            STEP,
        ],
        responses=s.PreviewOutput,
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, public_id=None):
        campaign = self.get_object()
        customer = None
        if request.query_params.get("customer"):
            customer = find_customer(_uuid(request.query_params["customer"], "customer"))
        rendered = messages.preview(
            campaign=campaign,
            customer=customer,
            step_key=request.query_params.get("step", "main"),
        )
        return Response(rendered)

    @extend_schema(request=s.TestSendInput, responses=s.TestSendOutput)
    @action(detail=True, methods=["post"], url_path="test-send")
    def test_send(self, request, public_id=None):
        campaign = self.get_object()
        data = s.TestSendInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = find_customer(values["customer"]) if values.get("customer") else None
        provider_id = messages.send_test_message(
            campaign=campaign,
            channel=values["channel"],
            to=values["to"],
            customer=customer,
            context=values["context"],
            step_key=values["step_key"],
        )
        return Response({"provider_message_id": provider_id})

    @extend_schema(request=s.SendInput, responses={202: s.SendOutput})
    @action(detail=True, methods=["post"])
    @idempotent()
    def send(self, request, public_id=None):
        campaign = self.get_object()
        data = s.SendInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = sending.send_campaign(
            campaign=campaign,
            customer_ids=values.get("customers"),
            all_with_consent=values["all_with_consent"],
            step_key=values["step_key"],
            context=values["context"],
        )
        body = {
            "queued": result.queued,
            "skipped": result.skipped,
            "batches": result.batches,
            "campaign": s.CampaignOutput(campaign_queryset().get(pk=campaign.pk)).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=s.CampaignOutput)
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id=None):
        return self.render(editing.cancel_campaign(campaign=self.get_object()))


def _uuid(value: str, name: str):
    import uuid

    from omni.errors import BadRequest

    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest(f"`{name}` is not a UUID.", **{name: value}) from None


@extend_schema(tags=["campaigns"])
class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log: every message to every customer, with its state and skip reason."""

    scope = "campaigns"
    serializer_class = s.DeliveryOutput
    filterset_class = DeliveryFilter
    ordering_fields = ["queued_at", "sent_at", "state"]

    def get_queryset(self):
        return Delivery.objects.select_related("campaign", "customer")


@extend_schema(tags=["campaigns"])
class DeliveryReceiptView(GenericAPIView):
    """Providers report what became of an SMS, push or email: delivered, bounced or
    failed. Repeated or late receipts change nothing and answer 200."""

    required_scopes = {"POST": "campaigns:write"}
    serializer_class = s.ReceiptInput

    @extend_schema(
        request=s.ReceiptInput,
        responses={200: s.ReceiptOutput, 404: OpenApiResponse(description="Unknown message.")},
    )
    def post(self, request):
        data = s.ReceiptInput(data=request.data)
        data.is_valid(raise_exception=True)
        delivery, changed = events.record_receipt(**data.validated_data)
        return Response({"changed": changed, "delivery": s.DeliveryOutput(delivery).data})
