from rest_framework import serializers

from campaigns.models import Campaign, Delivery, DeliveryChannel, Message, ReceiptStatus
from campaigns.services.messages import variant_of

# --- Output ---------------------------------------------------------------------------------


class EmailVariantSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    preheader = serializers.CharField(max_length=200, required=False, allow_blank=True)
    html = serializers.CharField()
    text = serializers.CharField(required=False, allow_blank=True)


class SmsVariantSerializer(serializers.Serializer):
    text = serializers.CharField()


class PushVariantSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    body = serializers.CharField(max_length=400)
    deep_link = serializers.CharField(max_length=500, required=False, allow_blank=True)


class MessageSerializer(serializers.Serializer):
    """A step's variants; on input, a channel set to null removes its variant and a channel
    left out keeps it."""

    step_key = serializers.CharField(read_only=True)
    email = EmailVariantSerializer(required=False, allow_null=True)
    sms = SmsVariantSerializer(required=False, allow_null=True)
    push = PushVariantSerializer(required=False, allow_null=True)

    def to_representation(self, message: Message):
        data = {"step_key": message.step_key}
        for channel, serializer in (
            ("email", EmailVariantSerializer),
            ("sms", SmsVariantSerializer),
            ("push", PushVariantSerializer),
        ):
            variant = variant_of(message, channel)
            data[channel] = serializer(variant).data if variant is not None else None
        return data


class CampaignOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    segment = serializers.UUIDField(
        source="segment.public_id", read_only=True, allow_null=True, default=None
    )
    messages = MessageSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "kind",
            "status",
            "channel_strategy",
            "channels",
            "goal",
            "transactional",
            "holdout_percent",
            "segment",
            "messages",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        ]


class DeliveryOutput(serializers.ModelSerializer):
    campaign = serializers.UUIDField(source="campaign.public_id", read_only=True)
    customer = serializers.UUIDField(source="customer.public_id", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "campaign",
            "step_key",
            "customer",
            "channel",
            "transactional",
            "context",
            "address",
            "state",
            "skip_reason",
            "deferred_until",
            "provider_message_id",
            "error",
            "queued_at",
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
            "bounced_at",
            "failed_at",
            "skipped_at",
        ]


class SegmentCountSerializer(serializers.Serializer):
    segments = serializers.IntegerField()
    encoding = serializers.ChoiceField(choices=["gsm7", "ucs2"])
    units = serializers.IntegerField()
    remaining = serializers.IntegerField()


class RenderedEmailSerializer(serializers.Serializer):
    subject = serializers.CharField()
    preheader = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


class RenderedSmsSerializer(serializers.Serializer):
    text = serializers.CharField()
    segments = SegmentCountSerializer()


class PreviewOutput(serializers.Serializer):
    email = RenderedEmailSerializer(required=False)
    sms = RenderedSmsSerializer(required=False)
    push = PushVariantSerializer(required=False)


class SendOutput(serializers.Serializer):
    queued = serializers.IntegerField()
    skipped = serializers.DictField(child=serializers.IntegerField())
    batches = serializers.IntegerField()
    campaign = CampaignOutput()


class TestSendOutput(serializers.Serializer):
    provider_message_id = serializers.CharField()


# --- Input ----------------------------------------------------------------------------------


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Campaign.Kind.choices, default=Campaign.Kind.ONE_OFF)
    channel_strategy = serializers.ChoiceField(
        choices=Campaign.Strategy.choices, default=Campaign.Strategy.PRIORITY
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=DeliveryChannel.choices),
        min_length=1,
        help_text="Priority order for the priority strategy.",
    )
    goal = serializers.ChoiceField(choices=Campaign.Goal.choices, default=Campaign.Goal.CONVERSION)
    transactional = serializers.BooleanField(default=False)
    holdout_percent = serializers.IntegerField(min_value=0, max_value=100, default=0)
    segment = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Who `all_with_consent` sends to: this segment's customers with consent.",
    )


class SendInput(serializers.Serializer):
    customers = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=10_000, min_length=1
    )
    all_with_consent = serializers.BooleanField(default=False)
    step_key = serializers.CharField(max_length=64, default="main")
    context = serializers.DictField(
        required=False, default=dict, help_text="Shown to templates as `context`."
    )

    def validate(self, data):
        if bool(data.get("customers")) == bool(data["all_with_consent"]):
            raise serializers.ValidationError(
                "Give either `customers` (public IDs) or `all_with_consent: true`."
            )
        return data


class TestSendInput(serializers.Serializer):
    channel = serializers.CharField(max_length=16)
    to = serializers.CharField(max_length=255)
    customer = serializers.UUIDField(required=False, help_text="Render as this customer.")
    context = serializers.DictField(required=False, default=dict)
    step_key = serializers.CharField(max_length=64, default="main")


class ReceiptInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=DeliveryChannel.choices)
    provider_message_id = serializers.CharField(max_length=200)
    status = serializers.ChoiceField(choices=ReceiptStatus.choices)
    occurred_at = serializers.DateTimeField(required=False)
    error = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ReceiptOutput(serializers.Serializer):
    changed = serializers.BooleanField()
    delivery = DeliveryOutput()
