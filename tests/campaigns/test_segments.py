"""Segment rules compile into one query on customers and select the people a marketer
means; bad trees are refused with the path of what is wrong."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Delivery
from campaigns.segment_models import Segment, SegmentMember
from campaigns.segmentation.errors import InvalidRules, SegmentInUse
from campaigns.segmentation.services import (
    create_segment,
    customers_matching,
    delete_segment,
    segment_customers,
    update_segment,
)
from campaigns.services.sending import send_campaign
from customers.models import Identity
from customers.services.merge import merge_customers, unmerge_customers
from tests.campaigns import segment_factories as shop
from tests.campaigns.factories import (
    CustomerFactory,
    IdentityFactory,
    campaign_with_variants,
    reachable_customer,
)
from tests.campaigns.policy import StatedPolicy
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db
NOW = shop.NOW


def names(rules, **kwargs) -> set[str]:
    return set(customers_matching(rules, now=NOW, **kwargs).values_list("first_name", flat=True))


@pytest.fixture
def shoppers():
    """Ana bought running shoes last month and kept them; Bruno bought shoes in the spring
    and returned them; Carla only bought a jacket; Duarte never bought anything."""
    shoes = shop.category("shoes")
    running = shop.category("running-shoes", parent=shoes)
    outerwear = shop.category("outerwear")
    aura = shop.product("aura-runner", running)
    loafer = shop.product("city-loafer", shoes)
    shell = shop.product("atlantic-shell", outerwear)
    people = {
        name: CustomerFactory(first_name=name, country=country, city=city)
        for name, country, city in [
            ("Ana", "PT", "Lisboa"),
            ("Bruno", "PT", "Porto"),
            ("Carla", "ES", "Madrid"),
            ("Duarte", "PT", "Lisboa"),
        ]
    }
    shop.order(people["Ana"], aura, days_ago=30)
    spring = shop.order(people["Bruno"], loafer, days_ago=120)
    shop.returned(spring, days_ago=110)
    shop.order(people["Carla"], shell, days_ago=10)
    shop.order(people["Duarte"], aura, days_ago=5, status="cancelled")
    shop.metrics(people["Ana"], lifecycle_stage="vip", order_count=6, lifetime_value=900)
    shop.metrics(people["Bruno"], lifecycle_stage="active", order_count=1, lifetime_value=0)
    shop.metrics(people["Carla"], lifecycle_stage="new", order_count=1, lifetime_value=120)
    return {"people": people, "aura": aura, "shell": shell, "shoes": shoes}


def test_bought_a_category_counts_its_subcategories_and_ignores_cancelled_orders(shoppers):
    rule = {"field": "bought_category", "op": "has", "value": "shoes"}

    assert names({"all": [rule]}) == {"Ana", "Bruno"}
    assert names({"all": [{**rule, "within_days": 90}]}) == {"Ana"}
    assert names({"all": [{**rule, "op": "has_not"}]}) == {"Carla", "Duarte"}


def test_any_all_and_negated_groups_combine_as_a_marketer_reads_them(shoppers):
    lisbon_or_spain = {
        "any": [
            {"field": "city", "op": "eq", "value": "lisboa"},
            {"field": "country", "op": "eq", "value": "ES"},
        ]
    }
    assert names(lisbon_or_spain) == {"Ana", "Carla", "Duarte"}
    assert names({**lisbon_or_spain, "not": True}) == {"Bruno"}
    assert names(
        {
            "all": [
                lisbon_or_spain,
                {"all": [{"field": "returned", "op": "has"}], "not": True},
                {"field": "order_count", "op": "gte", "value": 1},
            ]
        }
    ) == {"Ana", "Carla"}


def test_a_customer_without_metrics_is_a_prospect_with_nothing_spent(shoppers):
    assert names({"all": [{"field": "lifecycle_stage", "op": "eq", "value": "prospect"}]}) == {
        "Duarte"
    }
    assert names({"all": [{"field": "spend", "op": "lt", "value": 100}]}) == {"Bruno", "Duarte"}
    assert names({"all": [{"field": "lifecycle_stage", "op": "ne", "value": "vip"}]}) == {
        "Bruno",
        "Carla",
        "Duarte",
    }


def test_the_realistic_segment_is_one_query(shoppers):
    StatedPolicy.grant(shoppers["people"]["Ana"], "email")
    StatedPolicy.grant(shoppers["people"]["Bruno"], "email")
    rules = {
        "all": [
            {"field": "lifecycle_stage", "op": "in", "value": ["vip", "active"]},
            {"field": "consent", "op": "has", "value": "email"},
            {"field": "bought_category", "op": "has", "value": "shoes", "within_days": 90},
            {"field": "returned", "op": "has_not", "within_days": 90},
        ]
    }
    queryset = customers_matching(rules, now=NOW)
    with CaptureQueriesContext(connection) as queries:
        count = queryset.count()
    assert count == 1
    assert len(queries) == 1
    assert 'FROM "customers_customer"' in queries[0]["sql"]


def test_devices_loyalty_age_and_dates(shoppers):
    people = shoppers["people"]
    IdentityFactory(customer=people["Carla"], kind=Identity.Kind.APP_INSTALL, value="dev-c")
    shop.tier(people["Ana"], "gold")
    people["Bruno"].birth_date = datetime.date(1990, 6, 16)  # 35 until tomorrow
    people["Bruno"].save()
    shop.metrics(people["Ana"], last_order_at=NOW - datetime.timedelta(days=30))

    assert names({"all": [{"field": "app_installed", "op": "is", "value": True}]}) == {"Carla"}
    assert names({"all": [{"field": "loyalty_tier", "op": "eq", "value": "bronze"}]}) == {
        "Bruno",
        "Carla",
        "Duarte",
    }
    assert names({"all": [{"field": "age", "op": "eq", "value": 35}]}) == {"Bruno"}
    assert names({"all": [{"field": "age", "op": "gte", "value": 36}]}) == set()
    # No birth date: neither young nor old, and "not 35" holds.
    assert names({"all": [{"field": "age", "op": "ne", "value": 35}]}) == {
        "Ana",
        "Carla",
        "Duarte",
    }
    last = {"field": "last_order_date", "op": "within_last_days", "value": 45}
    assert names({"all": [last]}) == {"Ana"}
    assert names({"all": [{**last, "op": "not_within_last_days"}]}) == {
        "Bruno",
        "Carla",
        "Duarte",
    }


def test_viewed_product_abandoned_cart_and_store_visits(shoppers):
    people = shoppers["people"]
    chiado = LocationFactory(code="lisbon-chiado")
    shop.event(people["Bruno"], "product_viewed", sku="AURA-RUNNER-1", days_ago=2)
    shop.event(people["Carla"], "product_viewed", product="aura-runner", days_ago=40)
    shop.abandoned_cart(people["Duarte"], shoppers["shell"], idle_hours=3)
    shop.abandoned_cart(people["Ana"], shoppers["shell"], idle_hours=0.2)  # still shopping
    shop.event(people["Carla"], "store_visited", location=chiado, days_ago=3)
    shop.order(people["Bruno"], shoppers["shell"], channel="store", location=chiado, days_ago=60)

    viewed = {"field": "viewed_product", "op": "has", "value": "aura-runner"}
    assert names({"all": [viewed]}) == {"Bruno", "Carla"}
    assert names({"all": [{**viewed, "within_days": 7}]}) == {"Bruno"}
    assert names({"all": [{"field": "abandoned_cart", "op": "has"}]}) == {"Duarte"}
    visited = {"field": "visited_store", "op": "has", "value": "lisbon-chiado"}
    assert names({"all": [visited]}) == {"Bruno", "Carla"}
    assert names({"all": [{**visited, "within_days": 30}]}) == {"Carla"}


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ({"all": [{"field": "shoe_size", "op": "eq", "value": 42}]}, "all[0].field"),
        ({"all": [{"field": "age", "op": "contains", "value": 4}]}, "all[0].op"),
        ({"all": [{}, {"field": "age", "op": "gt", "value": "old"}]}, "all[0]"),
        (
            {"all": [{"field": "city", "op": "eq", "value": "x"}, {"field": "age", "op": "gt"}]},
            "all[1].value",
        ),
        (
            {"any": [{"all": [{"field": "gender", "op": "in", "value": ["f"]}]}]},
            "any[0].all[0].value[0]",
        ),
        ({"all": [{"field": "age", "op": "between", "value": [40, 30]}]}, "all[0].value"),
        (
            {"all": [{"field": "city", "op": "eq", "value": "x", "within_days": 3}]},
            "all[0].within_days",
        ),
        ({"all": [{"field": "bought_category", "op": "has", "value": "hats"}]}, "all[0].value"),
        ({"all": [], "any": []}, "$"),
        ({"all": [], "not": "yes"}, "not"),
        ([], "$"),
    ],
)
def test_a_bad_tree_is_refused_naming_the_path(rules, path, db):
    with pytest.raises(InvalidRules) as refused:
        customers_matching(rules)
    assert refused.value.details["path"] == path
    assert refused.value.status_code == 400


def test_merged_away_and_erased_customers_never_appear(shoppers):
    people = shoppers["people"]
    merge_customers(survivor=people["Duarte"], merged=people["Carla"])
    people["Bruno"].erased_at = NOW
    people["Bruno"].save()

    everyone = names({"all": []})
    assert everyone == {"Ana", "Duarte"}
    # Carla's jacket moved with her orders? Orders re-point at the survivor through the
    # orders app's merge participant; either way Carla herself is gone.
    assert "Carla" not in names({"any": [{"field": "country", "op": "eq", "value": "ES"}]})


def test_a_static_list_follows_its_customer_through_a_merge(db):
    ana, ana_twin = CustomerFactory(first_name="Ana"), CustomerFactory(first_name="Ana2")
    vip = create_segment(name="VIP list", kind=Segment.Kind.STATIC)
    SegmentMember.objects.create(segment=vip, customer=ana_twin)

    merge = merge_customers(survivor=ana, merged=ana_twin)

    assert list(segment_customers(vip)) == [ana]
    unmerge_customers(merge=merge)
    assert list(segment_customers(vip)) == [ana_twin]


def test_a_list_holding_both_records_keeps_one_live_member_after_a_merge(db):
    ana, ana_twin = CustomerFactory(first_name="Ana"), CustomerFactory(first_name="Ana2")
    vip = create_segment(name="VIP list", kind=Segment.Kind.STATIC)
    for person in (ana, ana_twin):
        SegmentMember.objects.create(segment=vip, customer=person)

    merge_customers(survivor=ana, merged=ana_twin)

    assert list(segment_customers(vip)) == [ana]


def test_a_segment_can_include_another_but_never_itself(shoppers):
    vip = create_segment(
        name="VIPs", rules={"all": [{"field": "lifecycle_stage", "op": "eq", "value": "vip"}]}
    )
    spain = {"field": "country", "op": "eq", "value": "ES"}
    either = create_segment(
        name="VIP or Spain",
        rules={"any": [{"field": "in_segment", "op": "has", "value": str(vip.public_id)}, spain]},
    )
    assert set(segment_customers(either, now=NOW).values_list("first_name", flat=True)) == {
        "Ana",
        "Carla",
    }
    with pytest.raises(InvalidRules) as refused:
        update_segment(
            segment=vip,
            rules={"all": [{"field": "in_segment", "op": "has", "value": str(either.public_id)}]},
        )
    assert refused.value.details["path"] == "all[0].value"
    with pytest.raises(SegmentInUse) as in_use:
        delete_segment(segment=vip)
    assert in_use.value.details["segments"] == ["VIP or Spain"]


def test_a_campaign_for_a_segment_reaches_only_its_customers_with_consent(db):
    ana = reachable_customer(first_name="Ana", country="PT")
    bruno = reachable_customer(first_name="Bruno", country="PT")
    carla = reachable_customer(first_name="Carla", country="ES")
    for person in (ana, carla):
        StatedPolicy.grant(person, "email")
    portugal = create_segment(
        name="Portugal", rules={"all": [{"field": "country", "op": "eq", "value": "PT"}]}
    )
    campaign = campaign_with_variants(channels=["email"], segment=portugal)

    result = send_campaign(campaign=campaign, all_with_consent=True)

    assert result.queued == 1
    assert list(Delivery.objects.values_list("customer", flat=True)) == [ana.pk]
    assert bruno.pk not in Delivery.objects.values_list("customer", flat=True)
    with pytest.raises(SegmentInUse):
        delete_segment(segment=portugal)
    assert Segment.objects.filter(pk=portugal.pk).exists()
