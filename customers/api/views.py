"""Customers API: resolve-or-create, lookup, profile, consent, preferences, addresses,
privacy and merges. Views validate, call a service, render."""

from __future__ import annotations

from django.db.models import Prefetch, prefetch_related_objects
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api import serializers as s
from customers.api.filters import CustomerFilter
from customers.errors import AmbiguousLookup, CustomerNotFound
from customers.models import Address, Customer, CustomerMerge, Identity
from customers.selectors import customers_by_identity_term, duplicate_suggestions
from customers.services import consent as consent_service
from customers.services import privacy, profile
from customers.services.identity import (
    attach_identity,
    detach_identity,
    lookup_customer,
    resolve_customer,
    resolve_or_create,
    update_profile,
)
from customers.services.merge import merge_customers, unmerge_customers
from omni.auth import TokenUser
from omni.concurrency import ConditionalUpdateMixin
from omni.idempotency import idempotent

ERRORS = {
    400: OpenApiResponse(description="Invalid input (`invalid_input`, `invalid_email`, ...)."),
    404: OpenApiResponse(description="`customer_not_found`."),
}


def actor(request) -> dict:
    """`user=` and `token=` for the services' audit fields."""
    if isinstance(request.user, TokenUser):
        return {"user": None, "token": request.user.token}
    return {"user": request.user, "token": None}


def detail_queryset():
    return Customer.objects.select_related(
        "preferred_store", "first_seen_location"
    ).prefetch_related("identities", "merged_from")


def render_customer(customer: Customer) -> dict:
    # The services hand back a loaded customer; fetch only its related rows.
    prefetch_related_objects([customer], "identities", "merged_from")
    return s.CustomerDetailOutput(customer).data


class CustomerScoped(GenericAPIView):
    """Views under /customers/<public_id>/: a merged-away ID answers for its survivor."""

    scope = "customers"
    queryset = Customer.objects.none()  # for the schema; views resolve the customer

    def get_customer(self) -> Customer:
        return resolve_customer(self.kwargs["public_id"])


@extend_schema(tags=["customers"])
class CustomerViewSet(
    ConditionalUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customers (merged-away ones are not listed), filterable by name, email, phone,
    city, country and creation date."""

    scope = "customers"
    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    http_method_names = ["get", "patch", "head", "options"]
    filterset_class = CustomerFilter
    ordering_fields = ["created_at", "last_name"]

    def get_queryset(self):
        if self.action == "retrieve":
            return detail_queryset()
        return (
            Customer.objects.filter(merged_into__isnull=True)
            .select_related("preferred_store")
            .prefetch_related(
                Prefetch(
                    "identities",
                    queryset=Identity.objects.filter(kind__in=["email", "phone"]).order_by("pk"),
                )
            )
        )

    def get_serializer_class(self):
        return s.CustomerDetailOutput if self.action == "retrieve" else s.CustomerListOutput

    def get_object(self):
        return detail_queryset().get(pk=resolve_customer(self.kwargs["public_id"]).pk)

    @extend_schema(request=s.ProfileInput, responses={200: s.CustomerDetailOutput, **ERRORS})
    def partial_update(self, request, public_id):
        """Change profile fields (name, birth date, city, preferred store, ...)."""
        data = s.ProfileInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = update_profile(customer=resolve_customer(public_id), **data.validated_data)
        return Response(render_customer(customer))


@extend_schema(tags=["customers"])
class IdentityListView(CustomerScoped):
    """Add an identity to a customer (409 `identity_taken` if another customer has it:
    merge them instead)."""

    @extend_schema(request=s.IdentityAttachInput, responses={201: s.IdentityOutput, **ERRORS})
    def post(self, request, public_id):
        customer = self.get_customer()
        data = s.IdentityAttachInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        identity = attach_identity(
            customer=customer,
            kind=values["kind"],
            value=values["value"],
            namespace=values["namespace"],
            region=values.get("region") or None,
            verified=values["verified"],
            source_channel=values["source_channel"],
        )
        return Response(s.IdentityOutput(identity).data, status=201)


@extend_schema(tags=["customers"])
class IdentityDetailView(CustomerScoped):
    """Take an identity off the customer, addressed by kind and normalised value (and
    `?namespace=` for external ids)."""

    @extend_schema(
        parameters=[OpenApiParameter("namespace", OpenApiTypes.STR)],
        responses={204: None, 404: ERRORS[404]},
    )
    def delete(self, request, public_id, kind, value):
        identity = get_object_or_404(
            Identity,
            customer=self.get_customer(),
            kind=kind,
            value=value,
            namespace=request.query_params.get("namespace", ""),
        )
        detach_identity(identity=identity)
        return Response(status=204)


@extend_schema(tags=["customers"])
class ResolveView(APIView):
    """Resolve-or-create: the one customer these identities point to, created if none
    does, with the new identities attached. Identities held by another customer are not
    moved: they come back under `conflicts` and a duplicate suggestion is recorded."""

    scope = "customers"

    @extend_schema(
        request=s.ResolveInput,
        responses={200: s.ResolveOutput, 201: s.ResolveOutput, **ERRORS},
    )
    @idempotent()
    def post(self, request):
        data = s.ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        profile_data = values.get("profile", {})
        resolution = resolve_or_create(
            identities=values["identities"],
            profile=profile_data,
            channel=values["channel"],
            location=values.get("location"),
            region=values.get("region") or None,
        )
        body = {
            "created": resolution.created,
            "customer": render_customer(resolution.customer),
            "attached": s.IdentityOutput(resolution.attached, many=True).data,
            "conflicts": resolution.conflicts,
            "duplicate_suggestions": [suggestion.pk for suggestion in resolution.suggestions],
        }
        return Response(body, status=201 if resolution.created else 200)


@extend_schema(tags=["customers"])
class LookupView(APIView):
    """Find a customer by any identity, as typed: `?q=` with whatever the clerk typed
    (409 `ambiguous_lookup` if it matches several customers), or `?email=`,
    `?phone=&region=PT`, `?loyalty_card=`, `?kind=&value=&namespace=`."""

    scope = "customers"

    @extend_schema(
        parameters=[s.LookupInput],
        responses={
            200: s.CustomerDetailOutput,
            409: OpenApiResponse(description="`ambiguous_lookup`."),
            **ERRORS,
        },
    )
    def get(self, request):
        data = s.LookupInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("q") and not values.get("kind"):
            matches = customers_by_identity_term(values["q"], region=values.get("region"))
            if not matches:
                raise CustomerNotFound(q=values["q"])
            if len(matches) > 1:
                raise AmbiguousLookup(customers=[str(match.public_id) for match in matches])
            return Response(render_customer(matches[0]))
        customer = lookup_customer(
            kind=values["kind"],
            value=values["value"],
            namespace=values.get("namespace", ""),
            region=values.get("region") or None,
        )
        return Response(render_customer(customer))


@extend_schema(tags=["customers"])
class ConsentView(CustomerScoped):
    """Consent per channel: the current state and the append-only history; POST records a
    choice."""

    def _body(self, customer):
        history = customer.consent_events.select_related("source_location", "staff")[:200]
        return s.ConsentOutput({"customer": customer, "history": history}).data

    @extend_schema(responses={200: s.ConsentOutput, 404: ERRORS[404]})
    def get(self, request, public_id):
        return Response(self._body(self.get_customer()))

    @extend_schema(request=s.ConsentInput, responses={201: s.ConsentOutput, **ERRORS})
    @idempotent()
    def post(self, request, public_id):
        customer = self.get_customer()
        data = s.ConsentInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        who = actor(request)
        consent_service.record_consent(
            customer=customer,
            channel=values["channel"],
            status=values["status"],
            occurred_at=values.get("occurred_at"),
            source_channel=values["source_channel"],
            location=values.get("location"),
            form=values["form"],
            campaign_ref=values["campaign"],
            staff=who["user"],
            token=who["token"],
            evidence=values["evidence"],
            ip_address=values.get("ip_address"),
        )
        return Response(self._body(customer), status=201)


@extend_schema(tags=["customers"])
class PreferencesView(ConditionalUpdateMixin, CustomerScoped):
    """Contact preferences (defaults until the customer gives some)."""

    @extend_schema(responses={200: s.PreferencesOutput, 404: ERRORS[404]})
    def get(self, request, public_id):
        return Response(s.PreferencesOutput(profile.preferences_of(self.get_customer())).data)

    @extend_schema(request=s.PreferencesInput, responses={200: s.PreferencesOutput, **ERRORS})
    def patch(self, request, public_id):
        customer = self.get_customer()
        data = s.PreferencesInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        preferences = profile.update_preferences(customer=customer, **data.validated_data)
        return Response(s.PreferencesOutput(preferences).data)


@extend_schema(tags=["customers"])
class AddressListView(CustomerScoped):
    """Billing and shipping addresses; the first of a kind becomes its default."""

    pagination_class = None

    @extend_schema(responses={200: s.AddressOutput(many=True), 404: ERRORS[404]})
    def get(self, request, public_id):
        customer = self.get_customer()
        return Response(s.AddressOutput(customer.addresses.all(), many=True).data)

    @extend_schema(request=s.AddressInput, responses={201: s.AddressOutput, **ERRORS})
    def post(self, request, public_id):
        customer = self.get_customer()
        data = s.AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        address = profile.add_address(customer=customer, **data.validated_data)
        return Response(s.AddressOutput(address).data, status=201)


@extend_schema(tags=["customers"])
class AddressDetailView(CustomerScoped):
    def get_address(self) -> Address:
        return get_object_or_404(Address, pk=self.kwargs["pk"], customer=self.get_customer())

    @extend_schema(request=s.AddressInput, responses={200: s.AddressOutput, **ERRORS})
    def patch(self, request, public_id, pk):
        address = self.get_address()
        data = s.AddressInput(address, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        address = profile.update_address(address=address, **data.validated_data)
        return Response(s.AddressOutput(address).data)

    @extend_schema(responses={204: None, 404: ERRORS[404]})
    def delete(self, request, public_id, pk):
        profile.delete_address(address=self.get_address())
        return Response(status=204)


@extend_schema(tags=["customers"])
class ExportView(CustomerScoped):
    """Everything Omni holds about the customer as one JSON document (audited). Needs
    `customers:write`: an export is a privacy action, not a routine read."""

    required_scopes = {"GET": "customers:write"}

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: ERRORS[404]})
    def get(self, request, public_id):
        return Response(privacy.export_customer(customer=self.get_customer(), **actor(request)))


@extend_schema(tags=["customers"])
class EraseView(CustomerScoped):
    """Anonymise the customer (audited); 409 `erase_refused` while, e.g., an order is open."""

    @extend_schema(
        request=s.ReasonInput,
        responses={
            200: s.CustomerDetailOutput,
            409: OpenApiResponse(description="`erase_refused` or `customer_erased`."),
            **ERRORS,
        },
    )
    def post(self, request, public_id):
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = privacy.erase_customer(
            customer=self.get_customer(), reason=data.validated_data["reason"], **actor(request)
        )
        return Response(render_customer(customer))


@extend_schema(tags=["customers"])
class MergeView(CustomerScoped):
    """Merge another customer into this one (this one survives)."""

    @extend_schema(
        request=s.MergeInput,
        responses={
            201: s.MergeOutput,
            409: OpenApiResponse(description="`merge_refused`."),
            **ERRORS,
        },
    )
    @idempotent()
    def post(self, request, public_id):
        survivor = self.get_customer()
        data = s.MergeInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        merged = get_object_or_404(Customer, public_id=values["merged"])
        merge = merge_customers(
            survivor=survivor,
            merged=merged,
            reason=values["reason"],
            rule=values["rule"],
            **actor(request),
        )
        return Response(s.MergeOutput(merge).data, status=201)


@extend_schema(tags=["customers"])
class MergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The merge audit trail."""

    scope = "customers"
    serializer_class = s.MergeOutput
    queryset = CustomerMerge.objects.select_related(
        "survivor", "merged", "merged_by", "merged_by_token"
    )
    filterset_fields = ["rule"]


@extend_schema(tags=["customers"])
class UnmergeView(APIView):
    """Undo a merge: the merged-away customer comes back with what was moved."""

    scope = "customers"

    @extend_schema(
        request=s.ReasonInput,
        responses={200: s.MergeOutput, 409: OpenApiResponse(description="`unmerge_refused`.")},
    )
    def post(self, request, pk):
        merge = get_object_or_404(CustomerMerge, pk=pk)
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        merge = unmerge_customers(
            merge=merge, reason=data.validated_data["reason"], **actor(request)
        )
        return Response(s.MergeOutput(merge).data)


@extend_schema(tags=["customers"])
class DuplicatesView(APIView):
    """Pairs of customers that look like one person, for staff to merge or dismiss."""

    scope = "customers"

    @extend_schema(
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT, description="at most 500")],
        responses={200: s.DuplicateOutput(many=True)},
    )
    def get(self, request):
        try:
            limit = max(1, min(int(request.query_params.get("limit", 100)), 500))
        except ValueError:
            limit = 100
        pairs = duplicate_suggestions(limit=limit)
        ids = {pair.first_id for pair in pairs} | {pair.second_id for pair in pairs}
        customers = (
            Customer.objects.select_related("preferred_store")
            .prefetch_related(
                Prefetch(
                    "identities", queryset=Identity.objects.filter(kind__in=["email", "phone"])
                )
            )
            .in_bulk(ids)
        )
        body = [
            {
                "first": customers[pair.first_id],
                "second": customers[pair.second_id],
                "reason": pair.reason,
                "suggestion_id": pair.suggestion_id,
            }
            for pair in pairs
        ]
        return Response(s.DuplicateOutput(body, many=True).data)


@extend_schema(tags=["customers"])
class SmsReplyView(APIView):
    """Webhook for SMS replies: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT withdraw SMS
    consent; START grants it again; anything else is ignored. Unknown number: 404
    `unknown_phone`."""

    required_scopes = {"POST": "customers:write"}

    @extend_schema(
        request=s.SmsReplyInput,
        responses={
            200: s.SmsReplyOutput,
            400: ERRORS[400],
            404: OpenApiResponse(description="`unknown_phone`."),
        },
    )
    def post(self, request):
        data = s.SmsReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        outcome = consent_service.process_sms_reply(
            phone=values["phone"],
            text=values["text"],
            region=values.get("region") or None,
            token=actor(request)["token"],
        )
        return Response(s.SmsReplyOutput(outcome).data, status=status.HTTP_200_OK)
