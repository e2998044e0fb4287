"""Input serializers validate shape; output serializers render. Rules live in services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from customers.models import (
    Address,
    ConsentChannel,
    ConsentEvent,
    ConsentStatus,
    Customer,
    CustomerMerge,
    Identity,
    LoyaltyAccount,
    LoyaltyTier,
    Preferences,
)
from customers.services.consent import current_consent
from inventory.models import Location

# --- Input ------------------------------------------------------------------------------------


class IdentityInput(serializers.Serializer):
    # Kind and value are validated by the identity service, so that an invalid phone is the
    # same `invalid_phone` error everywhere.
    kind = serializers.CharField(max_length=32, help_text=", ".join(Identity.Kind.values))
    value = serializers.CharField(max_length=255, trim_whitespace=False)
    namespace = serializers.CharField(
        max_length=64,
        required=False,
        default="",
        allow_blank=True,
        help_text="Only for `external` ids: the integration that issued it (e.g. shopify).",
    )


class IdentityAttachInput(IdentityInput):
    region = serializers.CharField(max_length=2, required=False, allow_blank=True)
    verified = serializers.BooleanField(required=False, default=False)
    source_channel = serializers.ChoiceField(
        choices=Customer._meta.get_field("acquisition_channel").choices,
        required=False,
        default="",
    )


class ProfileInput(serializers.Serializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    gender = serializers.ChoiceField(choices=Customer.Gender.choices, required=False)
    language = serializers.CharField(max_length=8, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, min_length=2, required=False)
    preferred_store = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.all(), required=False, allow_null=True
    )

    def validate_country(self, value: str) -> str:
        return value.upper()

    def validate_time_zone(self, value: str) -> str:
        import zoneinfo

        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Unknown time zone (use an IANA name).")
        return value


class ResolveInput(serializers.Serializer):
    identities = IdentityInput(many=True, allow_empty=False)
    profile = ProfileInput(required=False)
    channel = serializers.ChoiceField(
        choices=Customer._meta.get_field("acquisition_channel").choices,
        required=False,
        default="",
    )
    location = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
        help_text="Where the customer is (its country is the default phone region).",
    )
    region = serializers.CharField(
        max_length=2,
        required=False,
        allow_blank=True,
        help_text="Country for phone numbers typed without a country code, e.g. PT.",
    )


class LookupInput(serializers.Serializer):
    kind = serializers.CharField(required=False)
    value = serializers.CharField(required=False, trim_whitespace=False)
    namespace = serializers.CharField(required=False, default="", allow_blank=True)
    email = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    loyalty_card = serializers.CharField(required=False)
    region = serializers.CharField(max_length=2, required=False, allow_blank=True)

    q = serializers.CharField(
        required=False,
        help_text="Whatever the clerk typed: an email, a phone in any format, a card number.",
    )

    def validate(self, attrs):
        shortcuts = [name for name in ("email", "phone", "loyalty_card") if attrs.get(name)]
        if attrs.get("kind") and attrs.get("value") or attrs.get("q"):
            return attrs
        if len(shortcuts) == 1:
            attrs["kind"], attrs["value"] = shortcuts[0], attrs[shortcuts[0]]
            return attrs
        raise serializers.ValidationError(
            "Give q, or kind and value, or exactly one of email, phone, loyalty_card."
        )


class ConsentInput(serializers.Serializer):
    # Channel is checked by the service (`unknown_consent_channel`).
    channel = serializers.CharField(max_length=16, help_text=", ".join(ConsentChannel.values))
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    occurred_at = serializers.DateTimeField(required=False)
    source_channel = serializers.ChoiceField(
        choices=Customer._meta.get_field("acquisition_channel").choices,
        required=False,
        default="",
    )
    location = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.all(), required=False, allow_null=True
    )
    form = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    campaign = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    evidence = serializers.CharField(required=False, default="", allow_blank=True)
    ip_address = serializers.IPAddressField(required=False, allow_null=True)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        "example": "21:00",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the customer's own time zone (no offset), e.g. `21:00`."""


class PreferencesInput(serializers.ModelSerializer):
    quiet_hours_start = LocalTimeField(required=False)
    quiet_hours_end = LocalTimeField(required=False)

    class Meta:
        model = Preferences
        fields = [
            "email_frequency",
            "preferred_channel",
            "quiet_hours_start",
            "quiet_hours_end",
            "interests",
            "categories",
            "language",
        ]
        extra_kwargs = {name: {"required": False} for name in fields}

    def validate_interests(self, value):
        return _string_list(value)

    def validate_categories(self, value):
        return _string_list(value)


def _string_list(value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise serializers.ValidationError("A list of strings.")
    return value


class AddressInput(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "kind",
            "is_default",
            "recipient",
            "line1",
            "line2",
            "city",
            "region",
            "postcode",
            "country",
            "phone",
        ]


class MergeInput(serializers.Serializer):
    merged = serializers.UUIDField(help_text="Public ID of the customer merged away.")
    reason = serializers.CharField(max_length=2000)
    rule = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class SmsReplyInput(serializers.Serializer):
    phone = serializers.CharField(max_length=32, help_text="The sender, ideally E.164.")
    text = serializers.CharField(max_length=1600, allow_blank=True)
    region = serializers.CharField(max_length=2, required=False, allow_blank=True)


# --- Output -----------------------------------------------------------------------------------


class IdentityOutput(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["kind", "namespace", "value", "verified", "source_channel", "created_at"]


class ChannelConsentOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ConsentStatus.choices, allow_null=True)
    changed_at = serializers.DateTimeField(allow_null=True)


class ConsentStateField(serializers.Field):
    """`{"email": {"status": "granted", "changed_at": ...}, "sms": {...}, ...}`"""

    def to_representation(self, customer):
        return {
            channel: {"status": state.status, "changed_at": state.changed_at}
            for channel, state in current_consent(customer).items()
        }


ConsentStateField = extend_schema_field(
    {
        "type": "object",
        "properties": {
            channel: {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": [*ConsentStatus.values], "nullable": True},
                    "changed_at": {"type": "string", "format": "date-time", "nullable": True},
                },
            }
            for channel in ConsentChannel.values
        },
    }
)(ConsentStateField)


class CustomerListOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    preferred_store = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "city",
            "country",
            "preferred_store",
            "created_at",
        ]

    def _first(self, customer, kind):
        for identity in customer.identities.all():  # prefetched
            if identity.kind == kind:
                return identity.value
        return None

    def get_email(self, customer) -> str | None:
        return self._first(customer, Identity.Kind.EMAIL)

    def get_phone(self, customer) -> str | None:
        return self._first(customer, Identity.Kind.PHONE)


class CustomerDetailOutput(serializers.ModelSerializer):
    """The customer with identities and consent. Other parts of the app add their fields
    (e.g. `loyalty`) here."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    preferred_store = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    first_seen_location = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    identities = IdentityOutput(many=True, read_only=True)
    consent = ConsentStateField(source="*", read_only=True)
    merged_from = serializers.SerializerMethodField()
    loyalty = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "first_name",
            "last_name",
            "birth_date",
            "gender",
            "language",
            "time_zone",
            "city",
            "region",
            "postcode",
            "country",
            "preferred_store",
            "acquisition_channel",
            "first_seen_channel",
            "first_seen_location",
            "erased_at",
            "created_at",
            "updated_at",
            "identities",
            "consent",
            "merged_from",
            "loyalty",
        ]

    def get_merged_from(self, customer) -> list[str]:
        return [str(merged.public_id) for merged in customer.merged_from.all()]

    @extend_schema_field(
        inline_serializer(
            "CustomerLoyalty",
            {"balance": serializers.IntegerField(), "tier": serializers.CharField()},
        )
    )
    def get_loyalty(self, customer) -> dict:
        account = LoyaltyAccount.objects.filter(customer=customer).first()
        if account is None:
            return {"balance": 0, "tier": LoyaltyTier.BRONZE}
        return {"balance": account.balance, "tier": account.tier}


class ConflictOutput(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField()
    value = serializers.CharField()
    customer = serializers.UUIDField()


class ResolveOutput(serializers.Serializer):
    created = serializers.BooleanField()
    customer = CustomerDetailOutput()
    attached = IdentityOutput(many=True)
    conflicts = ConflictOutput(
        many=True, help_text="Identities given that another customer holds; not moved."
    )
    duplicate_suggestions = serializers.ListField(child=serializers.IntegerField())


class ConsentEventOutput(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(
        source="source_location", slug_field="code", read_only=True
    )
    campaign = serializers.CharField(source="campaign_ref")
    staff = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "channel",
            "status",
            "occurred_at",
            "recorded_at",
            "source_channel",
            "location",
            "form",
            "campaign",
            "staff",
            "evidence",
            "ip_address",
        ]


class ConsentOutput(serializers.Serializer):
    current = ConsentStateField(source="customer")
    history = ConsentEventOutput(many=True)


class PreferencesOutput(PreferencesInput):
    # Unsaved defaults (the customer gave no preferences yet) have no update time.
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta(PreferencesInput.Meta):
        fields = [*PreferencesInput.Meta.fields, "updated_at"]


class AddressOutput(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = ["id", *AddressInput.Meta.fields, "created_at", "updated_at"]


class MergeOutput(serializers.ModelSerializer):
    survivor = serializers.UUIDField(source="survivor.public_id")
    merged = serializers.UUIDField(source="merged.public_id")
    merged_by = serializers.SerializerMethodField()

    class Meta:
        model = CustomerMerge
        fields = [
            "id",
            "survivor",
            "merged",
            "rule",
            "reason",
            "merged_by",
            "merged_at",
            "moved",
            "unmerged_at",
            "unmerge_reason",
        ]

    def get_merged_by(self, merge) -> str | None:
        if merge.merged_by_id:
            return merge.merged_by.username
        if merge.merged_by_token_id:
            return f"token:{merge.merged_by_token.name}"
        return None


class DuplicateOutput(serializers.Serializer):
    first = CustomerListOutput()
    second = CustomerListOutput()
    reason = serializers.CharField()
    suggestion_id = serializers.IntegerField(allow_null=True)


class SmsReplyOutput(serializers.Serializer):
    customer = serializers.UUIDField(source="customer.public_id")
    action = serializers.ChoiceField(choices=["opted_out", "opted_in", "ignored"])
