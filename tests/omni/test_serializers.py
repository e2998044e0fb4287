"""Serializers build their fields once per class; every instance still gets fields of its
own, and renders and validates exactly as DRF's own per-instance build does. `render` and
`validated` reuse one instance per class and answer as a new instance would."""

from decimal import Decimal

import pytest
from rest_framework import serializers

from omni.api.serializers import FieldsOnce, Serializer, validated
from omni.api.serializers import render as render_shared
from orders.api.returns_serializers import TillSaleIn
from orders.api.serializers import OrderOut
from orders.api.views import order_detail_queryset
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory


class LineIn(Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class BasketIn(Serializer):
    lines = LineIn(many=True)
    note = serializers.SerializerMethodField()

    def get_note(self, basket) -> str:
        return self.context.get("note", "")


def built_by_drf(monkeypatch):
    """Serializers as DRF alone builds them: all fields again for every instance."""
    monkeypatch.setattr(FieldsOnce, "get_fields", lambda self: super(FieldsOnce, self).get_fields())


def test_each_instance_gets_its_own_fields_and_nested_children():
    first, second = BasketIn(), BasketIn()

    assert first.fields["lines"] is not second.fields["lines"]
    assert first.fields["lines"].parent is first
    assert second.fields["lines"].parent is second
    assert first.fields["lines"].child is not second.fields["lines"].child
    assert first.fields["lines"].child.parent is first.fields["lines"]
    assert "_fields_built_once" in BasketIn.__dict__


def test_the_context_reaches_each_instance_nested_fields():
    quiet = BasketIn({"lines": []}, context={"note": "gift"})
    loud = BasketIn({"lines": []}, context={"note": "urgent"})

    assert quiet.data["note"] == "gift"
    assert loud.data["note"] == "urgent"
    assert quiet.fields["lines"].child.root is quiet


def test_an_invalid_basket_leaves_nothing_behind_for_the_next():
    bad = BasketIn(data={"lines": [{"sku": "A", "quantity": 0}, {"quantity": 2}]})
    good = BasketIn(data={"lines": [{"sku": "B", "quantity": 3}]})

    assert not bad.is_valid()
    assert set(bad.errors["lines"][0]) == {"quantity"}
    assert set(bad.errors["lines"][1]) == {"sku"}
    assert good.is_valid(), good.errors
    assert good.validated_data["lines"] == [{"sku": "B", "quantity": 3}]


def test_a_till_sale_validates_the_same_as_drf_alone(monkeypatch):
    bodies = [
        {"client_reference": "T-1", "lines": [{"sku": "A", "quantity": 2}], "payments": []},
        {"client_reference": "", "lines": [{"sku": "A", "quantity": -1}], "payments": [{}]},
        {"lines": "none"},
    ]

    def outcome(body):
        data = TillSaleIn(data=body)
        return data.is_valid(), data.errors, dict(data.validated_data) if not data.errors else {}

    ours = [outcome(body) for body in bodies]
    built_by_drf(monkeypatch)
    assert [outcome(body) for body in bodies] == ours
    assert [valid for valid, _, _ in ours] == [True, False, False]


def test_the_shared_instance_validates_each_body_as_a_new_instance_would():
    bodies = [
        {"client_reference": "", "lines": [{"sku": "A", "quantity": -1}], "payments": [{}]},
        {"client_reference": "T-1", "lines": [{"sku": "A", "quantity": 2}], "payments": []},
        {"lines": "none"},
        {"client_reference": "T-2", "lines": [{"sku": "B", "quantity": 1}]},
    ]
    for body in bodies:
        fresh = TillSaleIn(data=body)
        if fresh.is_valid():
            assert validated(TillSaleIn, body) == fresh.validated_data
        else:
            with pytest.raises(serializers.ValidationError) as refused:
                validated(TillSaleIn, body)
            assert refused.value.detail == fresh.errors


@pytest.mark.django_db
def test_an_order_renders_the_same_as_drf_alone(monkeypatch):
    lisbon = LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)
    shoe, sock = SkuFactory(price=Decimal("80.00")), SkuFactory(price=Decimal("6.50"))
    StockLevelFactory(location=lisbon, sku=shoe, on_hand=3)
    StockLevelFactory(location=lisbon, sku=sock, on_hand=9)
    placed = place_order(
        request=CheckoutRequest(
            channel="web",
            email="ana@example.com",
            lines=[LineRequest(shoe.code, 1), LineRequest(sock.code, 2)],
            delivery=Delivery("click_and_collect", lisbon),
        )
    )

    def render():
        return OrderOut(order_detail_queryset().get(pk=placed.pk)).data

    ours = render()
    assert render_shared(OrderOut, order_detail_queryset().get(pk=placed.pk)) == ours
    built_by_drf(monkeypatch)
    assert render() == ours
    assert [line["quantity"] for line in ours["lines"]] == [1, 2]
    assert ours["fulfilments"][0]["location"] == "lisbon-chiado"
