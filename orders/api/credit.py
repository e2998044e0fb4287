"""Discount code checks, store credit and gift cards: balances, and paying with them."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.services.identity import resolve_customer
from inventory.models import Sku
from omni.auth import Actor, has_scope
from omni.idempotency import idempotent
from orders.api import serializers as s
from orders.models import CreditAccount
from orders.services import credit, promotions
from orders.services.checkout import UnknownSku

# --- Discount codes and credit -----------------------------------------------------------


class QuoteAccess(permissions.BasePermission):
    """Checking a code writes nothing: web shops (`orders:read`) and tills
    (`sales:write`) may both ask."""

    message = "Your credentials lack the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and (
            has_scope(user, "orders:read") or has_scope(user, "sales:write")
        )


@extend_schema(tags=["discounts"])
class DiscountQuoteView(APIView):
    """What a code takes off these lines, or why it cannot be used. Nothing is redeemed:
    the code is redeemed by the checkout or the sale that uses it."""

    permission_classes = [QuoteAccess]

    @extend_schema(
        summary="Validate a discount code against lines",
        request=s.DiscountQuoteIn,
        responses={
            200: s.DiscountQuoteOut,
            404: OpenApiResponse(description="`discount_code_not_found`, `unknown_sku`."),
            422: OpenApiResponse(
                description="`discount_code_refused` with `details.reason`: expired, used, "
                "limit_reached, minimum_spend, not_eligible, wrong_customer, ..."
            ),
        },
    )
    def post(self, request):
        data = s.DiscountQuoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        codes = {line["sku"] for line in values["lines"]}
        skus = {
            sku.code: sku
            for sku in Sku.objects.select_related("product").filter(code__in=codes, is_active=True)
        }
        missing = sorted(codes - set(skus))
        if missing:
            raise UnknownSku(skus=missing)
        lines = [
            promotions.Line(
                sku_id=skus[line["sku"]].pk,
                category_id=skus[line["sku"]].product.category_id,
                quantity=line["quantity"],
                unit_price=skus[line["sku"]].price,
            )
            for line in values["lines"]
        ]
        customer = resolve_customer(values["customer"]) if values.get("customer") else None
        currency = values["currency"].upper()
        quote = promotions.quote_discount(
            code=values["code"], lines=lines, currency=currency, customer=customer
        )
        body = {
            "code": quote.code.code,
            "promotion": quote.code.promotion.name,
            "discount": quote.discount,
            "eligible_subtotal": quote.eligible_subtotal,
            "subtotal": sum((line.total for line in lines), Decimal(0)),
            "currency": currency,
        }
        return Response(s.DiscountQuoteOut(body).data)


@extend_schema(tags=["credit"])
class StoreCreditView(APIView):
    """A customer's store credit, per currency, with its latest ledger entries."""

    scope = "orders"

    @extend_schema(summary="Store credit balance of a customer", responses={200: s.StoreCreditOut})
    def get(self, request, public_id):
        customer = resolve_customer(public_id)
        accounts = (
            CreditAccount.objects.filter(kind=CreditAccount.Kind.STORE_CREDIT, customer=customer)
            .select_related("customer")
            .order_by("currency")
        )
        return Response(
            s.StoreCreditOut({"customer": customer.public_id, "accounts": accounts}).data
        )


@extend_schema(tags=["credit"])
class GiftCardView(APIView):
    scope = "orders"

    @extend_schema(
        summary="Gift card balance",
        responses={
            200: s.CreditBalanceOut,
            404: OpenApiResponse(description="`credit_account_not_found`."),
        },
    )
    def get(self, request, number):
        return Response(s.CreditBalanceOut(credit.gift_card(number)).data)


class CreditSpendAccess(permissions.BasePermission):
    """Paying with credit happens at checkout (`orders:write`) and at the till
    (`sales:write`)."""

    message = "Your credentials lack the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and (
            has_scope(user, "orders:write") or has_scope(user, "sales:write")
        )


SPEND_RESPONSES = {
    200: s.CreditSpendOut,
    404: OpenApiResponse(description="`credit_account_not_found`, `customer_not_found`."),
    422: OpenApiResponse(description="`insufficient_credit` with the balance."),
}


@extend_schema(tags=["credit"])
class CreditSpendView(APIView):
    """Pay with a gift card or a customer's store credit: refused if the balance does not
    cover it, under any concurrency; once per reference."""

    permission_classes = [CreditSpendAccess]

    @extend_schema(
        summary="Spend from a gift card or store credit",
        request=s.CreditSpendIn,
        responses=SPEND_RESPONSES,
    )
    @idempotent(required=True)
    def post(self, request):
        data = s.CreditSpendIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        currency = values["currency"].upper()
        if values["gift_card"]:
            account = credit.gift_card(values["gift_card"])
        else:
            customer = resolve_customer(values["customer"])
            account = CreditAccount.objects.filter(
                kind=CreditAccount.Kind.STORE_CREDIT, customer=customer, currency=currency
            ).first()
            if account is None:
                raise credit.CreditAccountNotFound(
                    customer=str(customer.public_id), currency=currency
                )
        if currency != account.currency:
            raise credit.InvalidAmount(
                "This balance is in another currency.", currency=account.currency
            )
        entry = credit.spend_credit(
            account=account,
            amount=values["amount"],
            reference=values["reference"],
            actor=Actor.of(request.user),
        )
        account.refresh_from_db()
        return Response(s.CreditSpendOut({"entry": entry, "account": account}).data)
