"""Segments API: segments and their rules, live counts, members, static lists from CSV."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns.segment_models import Segment
from campaigns.segmentation import lists
from campaigns.segmentation import services as segments
from campaigns.segmentation.rules import FIELDS
from customers.models import Customer
from omni.idempotency import idempotent

RULES_HELP = (
    'A group {"all"|"any": [rules or groups], "not": bool}; a rule {"field", "op", "value"} '
    'with "within_days" for behaviour fields. GET /segments/fields/ lists fields and operators.'
)

# --- Serializers ----------------------------------------------------------------------------


class SegmentOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    rules = serializers.JSONField(help_text=RULES_HELP)
    member_count = serializers.SerializerMethodField(
        help_text="Static segments: rows on the list (live customers or not)."
    )

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "rules",
            "member_count",
            "created_at",
            "updated_at",
        ]

    def get_member_count(self, segment: Segment) -> int | None:
        if segment.kind != Segment.Kind.STATIC:
            return None
        return segment.members.count()


class SegmentInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Segment.Kind.choices, default=Segment.Kind.DYNAMIC)
    rules = serializers.JSONField(required=False, allow_null=True, help_text=RULES_HELP)


class RulesInput(serializers.Serializer):
    rules = serializers.JSONField(help_text=RULES_HELP)


class CountOutput(serializers.Serializer):
    count = serializers.IntegerField()
    counted_at = serializers.DateTimeField()


class FieldOutput(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    group = serializers.CharField()
    type = serializers.CharField()
    ops = serializers.ListField(child=serializers.CharField())
    choices = serializers.ListField(child=serializers.DictField())
    refers_to = serializers.CharField(allow_null=True)
    within_days = serializers.BooleanField()
    help = serializers.CharField()


class MemberOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "first_name", "last_name", "city", "country", "language", "created_at"]


class ListInput(serializers.Serializer):
    csv = serializers.CharField(
        trim_whitespace=False,
        help_text="The file's text: a header row, then one customer per row.",
    )
    match_by = serializers.ChoiceField(
        choices=lists.MATCH_COLUMNS,
        required=False,
        help_text="The column that finds the customer; default: the first of email, phone, "
        "customer_id in the header.",
    )
    mode = serializers.ChoiceField(choices=lists.MODES, default="replace")
    preview = serializers.BooleanField(
        default=False, help_text="Check every row and report; write nothing."
    )


class RowErrorOutput(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    error = serializers.CharField()


class ListReportOutput(serializers.Serializer):
    preview = serializers.BooleanField()
    match_by = serializers.CharField()
    rows = serializers.IntegerField()
    matched = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = RowErrorOutput(many=True)
    sample = serializers.ListField(child=serializers.DictField())
    member_count = serializers.IntegerField(allow_null=True)


# --- Views ----------------------------------------------------------------------------------


@extend_schema(tags=["segments"])
class SegmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Segments for campaigns. Reads need `campaigns:read`, writes `campaigns:write`."""

    scope = "campaigns"
    serializer_class = SegmentOutput
    lookup_field = "public_id"
    ordering_fields = ["name", "created_at", "updated_at"]
    filterset_fields = ["kind"]

    def get_queryset(self):
        return Segment.objects.all()

    def get_object(self):
        return segments.find_segment(self.kwargs["public_id"])

    def get_permissions(self):
        if self.action == "count_rules":
            # Counting an unsaved definition writes nothing: a read, whatever its method.
            self.required_scopes = {"POST": "campaigns:read"}
        return super().get_permissions()

    @extend_schema(request=SegmentInput, responses={201: SegmentOutput})
    @idempotent()
    def create(self, request):
        data = SegmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        segment = segments.create_segment(
            **data.validated_data,
            created_by=request.user if getattr(request.user, "pk", None) else None,
        )
        return Response(SegmentOutput(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SegmentInput(partial=True), responses=SegmentOutput)
    def partial_update(self, request, public_id=None):
        data = SegmentInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        segment = segments.update_segment(segment=self.get_object(), **data.validated_data)
        return Response(SegmentOutput(segment).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, public_id=None):
        segments.delete_segment(segment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses=FieldOutput(many=True), summary="Rule fields and operators", filters=False
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def fields(self, request):
        return Response([spec.describe() for spec in FIELDS.values()])

    @extend_schema(
        request=RulesInput,
        responses=CountOutput,
        summary="Count an unsaved rule tree",
        description="The live count while a segment is edited: nothing is saved.",
    )
    @action(detail=False, methods=["post"], url_path="count")
    def count_rules(self, request):
        data = RulesInput(data=request.data)
        data.is_valid(raise_exception=True)
        count = segments.customers_matching(data.validated_data["rules"]).count()
        return Response({"count": count, "counted_at": timezone.now()})

    @extend_schema(request=None, responses=CountOutput, summary="Count a segment now")
    @action(detail=True, methods=["get"], url_path="count")
    def count(self, request, public_id=None):
        count = segments.segment_customers(self.get_object()).count()
        return Response({"count": count, "counted_at": timezone.now()})

    @extend_schema(responses=MemberOutput(many=True), summary="The segment's customers now")
    @action(detail=True, methods=["get"])
    def members(self, request, public_id=None):
        customers = segments.segment_customers(self.get_object()).order_by("pk")
        page = self.paginate_queryset(customers)
        return self.get_paginated_response(MemberOutput(page, many=True).data)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
        summary="Export the segment's customers as CSV",
    )
    @action(detail=True, methods=["get"], url_path="members/export")
    def export(self, request, public_id=None):
        segment = self.get_object()
        response = StreamingHttpResponse(
            lists.export_rows(segments.segment_customers(segment)), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.public_id}.csv"'
        return response

    @extend_schema(
        request=ListInput,
        responses={200: ListReportOutput},
        summary="Load a static segment's list from CSV (or preview it)",
        description="Every row is checked first; with any row error the answer is 400 "
        "`invalid_member_list` with the per-row report and nothing is written.",
    )
    @action(detail=True, methods=["post"], url_path="members/import")
    @idempotent()
    def import_members(self, request, public_id=None):
        segment = self.get_object()
        data = ListInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["preview"]:
            if segment.kind != Segment.Kind.STATIC:
                from campaigns.segmentation.errors import NotAStaticSegment

                raise NotAStaticSegment(segment=str(segment.public_id))
            result = lists.check_list(values["csv"], match_by=values.get("match_by"))
            member_count = None
        else:
            result = lists.import_list(
                segment=segment,
                text=values["csv"],
                match_by=values.get("match_by"),
                mode=values["mode"],
            )
            member_count = segment.members.count()
        return Response(
            {"preview": values["preview"], **result.report(), "member_count": member_count}
        )
