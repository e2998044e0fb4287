"""Whatever tree a marketer builds, the compiled query selects exactly the customers a
plain Python reading of the rules selects, on a small shop with varied histories."""

import datetime
import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.segmentation.services import customers_matching
from customers.models import Identity
from tests.campaigns import segment_factories as shop
from tests.campaigns.factories import CustomerFactory, IdentityFactory
from tests.campaigns.policy import StatedPolicy

NOW = shop.NOW
TODAY = NOW.date()
CITIES = ["Lisboa", "Porto", "Madrid", ""]
COUNTRIES = ["PT", "ES", "FR"]
GENDERS = ["female", "male", "other", "undisclosed", ""]
STAGES = ["prospect", "new", "active", "at_risk", "lapsed", "vip"]
RFM = ["champions", "loyal", "new", "at_risk", "lost", ""]
TIERS = ["bronze", "silver", "gold"]
CATEGORY_TREE = {"shoes": None, "running-shoes": "shoes", "outerwear": None}
PRODUCTS = {"aura-runner": "running-shoes", "city-loafer": "shoes", "atlantic-shell": "outerwear"}
WINDOWS = [None, 7, 30, 90, 365]
METRIC_DEFAULTS = {
    "lifecycle_stage": "prospect",
    "rfm_segment": "",
    "order_count": 0,
    "lifetime_value": Decimal(0),
    "channel_count": 0,
    "last_order_at": None,
}


def build_shop(rng: random.Random) -> list[dict]:
    """Customers in the database and the same facts as plain dicts."""
    categories = {}
    for slug, parent in CATEGORY_TREE.items():
        categories[slug] = shop.category(slug, categories.get(parent) if parent else None)
    products = {slug: shop.product(slug, categories[cat]) for slug, cat in PRODUCTS.items()}
    people = []
    for index in range(16):
        birth = (
            None
            if rng.random() < 0.25
            else TODAY - datetime.timedelta(days=rng.randint(15 * 365, 70 * 365))
        )
        if index == 0:
            birth = TODAY.replace(year=TODAY.year - 30)  # birthday today
        customer = CustomerFactory(
            first_name=f"P{index}",
            birth_date=birth,
            gender=rng.choice(GENDERS),
            city=rng.choice(CITIES),
            country=rng.choice(COUNTRIES),
        )
        facts = {"pk": customer.pk, "birth": birth, "gender": customer.gender}
        facts.update(city=customer.city, country=customer.country)
        metrics = None
        if rng.random() < 0.7:
            last = NOW - datetime.timedelta(days=rng.choice([1, 20, 60, 200, 400]))
            metrics = {
                "lifecycle_stage": rng.choice(STAGES),
                "rfm_segment": rng.choice(RFM),
                "order_count": rng.randint(0, 5),
                "lifetime_value": Decimal(rng.choice([0, 40, 100, 250, 1000])),
                "channel_count": rng.randint(0, 3),
                "last_order_at": None if rng.random() < 0.2 else last,
            }
            shop.metrics(customer, **metrics)
        facts["metrics"] = metrics or METRIC_DEFAULTS
        facts["tier"] = rng.choice([None, *TIERS])
        if facts["tier"]:
            shop.tier(customer, facts["tier"])
        facts["app"] = rng.random() < 0.4
        if facts["app"]:
            IdentityFactory(
                customer=customer, kind=Identity.Kind.APP_INSTALL, value=f"dev-{customer.pk}"
            )
        facts["orders"], facts["returns"] = [], []
        for _ in range(rng.randint(0, 3)):
            slug = rng.choice(list(PRODUCTS))
            days = rng.choice([2, 20, 50, 100, 300, 500])
            status = "cancelled" if rng.random() < 0.2 else "placed"
            placed = shop.order(customer, products[slug], days_ago=days, status=status)
            facts["orders"].append((slug, days, status))
            if rng.random() < 0.3:
                ret_status = rng.choice(["received", "cancelled"])
                shop.returned(placed, days_ago=days - 1, status=ret_status)
                facts["returns"].append((days - 1, ret_status))
        facts["consent"] = {ch for ch in ("email", "sms") if rng.random() < 0.5}
        StatedPolicy.grant(customer, *facts["consent"])
        people.append(facts)
    # One merged away and one erased: neither may ever be selected.
    ghost = CustomerFactory(first_name="Ghost", country="PT", merged_into_id=people[0]["pk"])
    StatedPolicy.grant(ghost, "email")
    CustomerFactory(first_name="Erased", country="PT", erased_at=NOW)
    return people


# --- The plain reading ----------------------------------------------------------------------


def age_of(birth):
    if birth is None:
        return None
    return TODAY.year - birth.year - ((TODAY.month, TODAY.day) < (birth.month, birth.day))


def compare(value, op, target) -> bool:
    if value is None:
        return False
    if op == "between":
        return target[0] <= value <= target[1]
    return {
        "eq": value == target,
        "gt": value > target,
        "gte": value >= target,
        "lt": value < target,
        "lte": value <= target,
    }[op]


def subcategories(slug):
    return {slug} | {child for child, parent in CATEGORY_TREE.items() if parent == slug}


def since(days):
    return None if days is None else NOW - datetime.timedelta(days=days)


def holds(person, leaf) -> bool:
    field, op, value = leaf["field"], leaf["op"], leaf.get("value")
    negative = {"ne": "eq", "not_in": "in", "has_not": "has"}
    if op in negative:
        return not holds(person, {**leaf, "op": negative[op]})
    if op == "not_within_last_days":
        return not holds(person, {**leaf, "op": "within_last_days"})
    metrics = person["metrics"]
    if field == "age":
        return compare(age_of(person["birth"]), op, value)
    if field in ("gender", "city", "country"):
        values = value if isinstance(value, list) else [value]
        return person[field].lower() in {v.lower() for v in values}
    if field in ("lifecycle_stage", "rfm_segment"):
        values = value if isinstance(value, list) else [value]
        return metrics[field] in values
    if field == "loyalty_tier":
        values = value if isinstance(value, list) else [value]
        return (person["tier"] or "bronze") in values
    if field == "app_installed":
        return person["app"] == value
    if field == "multichannel_buyer":
        return (metrics["channel_count"] >= 2) == value
    if field == "order_count":
        return compare(metrics["order_count"], op, value)
    if field == "spend":
        return compare(metrics["lifetime_value"], op, value)
    if field == "last_order_date":
        last = metrics["last_order_at"]
        if op == "is_set":
            return last is not None
        if op == "is_not_set":
            return last is None
        if last is None:
            return False
        if op == "within_last_days":
            return last >= NOW - datetime.timedelta(days=value)
        day = datetime.date.fromisoformat(value)
        return last.date() < day if op == "before" else last.date() > day
    if field in ("bought_category", "bought_product"):
        start = since(leaf.get("within_days"))
        for slug, days, status in person["orders"]:
            if status == "cancelled":
                continue
            if start and NOW - datetime.timedelta(days=days) < start:
                continue
            if field == "bought_product" and slug == value:
                return True
            if field == "bought_category" and PRODUCTS[slug] in subcategories(value):
                return True
        return False
    if field == "returned":
        start = since(leaf.get("within_days"))
        return any(
            status != "cancelled" and (start is None or NOW - datetime.timedelta(days=d) >= start)
            for d, status in person["returns"]
        )
    if field == "consent":
        return value in person["consent"]
    raise AssertionError(field)


def evaluate(person, node) -> bool:
    if "field" in node:
        return holds(person, node)
    children = node.get("all", node.get("any"))
    results = [evaluate(person, child) for child in children]
    answer = all(results) if "all" in node else any(results)
    return not answer if node.get("not") else answer


# --- Random trees ---------------------------------------------------------------------------

small = st.integers(0, 6)
money = st.sampled_from([0, 40, 99.5, 100, 250, 999])


def numbers(field, values):
    return st.one_of(
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
            values,
        ),
        st.builds(
            lambda a, b: {"field": field, "op": "between", "value": sorted([a, b])},
            values,
            values,
        ),
    )


def choices(field, values, *, many=True):
    one = st.builds(
        lambda op, v: {"field": field, "op": op, "value": v},
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(values),
    )
    if not many:
        return one
    lists = st.builds(
        lambda op, v: {"field": field, "op": op, "value": v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(values), min_size=1, max_size=3),
    )
    return st.one_of(one, lists)


def event(field, values):
    return st.builds(
        lambda op, v, days: {
            "field": field,
            "op": op,
            **({"value": v} if v is not None else {}),
            **({"within_days": days} if days else {}),
        },
        st.sampled_from(["has", "has_not"]),
        values,
        st.sampled_from(WINDOWS),
    )


last_order = st.one_of(
    st.builds(
        lambda op, days: {"field": "last_order_date", "op": op, "value": days},
        st.sampled_from(["within_last_days", "not_within_last_days"]),
        st.sampled_from([0, 10, 30, 100, 365]),
    ),
    st.builds(
        lambda op, days: {
            "field": "last_order_date",
            "op": op,
            "value": (TODAY - datetime.timedelta(days=days)).isoformat(),
        },
        st.sampled_from(["before", "after"]),
        st.sampled_from([0, 1, 20, 60, 200]),
    ),
    st.sampled_from(["is_set", "is_not_set"]).map(
        lambda op: {"field": "last_order_date", "op": op}
    ),
)

leaves = st.one_of(
    numbers("age", st.integers(0, 80)),
    numbers("order_count", small),
    numbers("spend", money),
    choices("gender", [g for g in GENDERS if g]),
    choices("city", ["Lisboa", "lisboa", "PORTO", "Madrid"]),
    choices("country", COUNTRIES),
    choices("lifecycle_stage", STAGES),
    choices("rfm_segment", [r for r in RFM if r]),
    choices("loyalty_tier", TIERS),
    st.builds(lambda v: {"field": "app_installed", "op": "is", "value": v}, st.booleans()),
    st.builds(lambda v: {"field": "multichannel_buyer", "op": "is", "value": v}, st.booleans()),
    last_order,
    event("bought_category", st.sampled_from(list(CATEGORY_TREE))),
    event("bought_product", st.sampled_from(list(PRODUCTS))),
    event("returned", st.none()),
    st.builds(
        lambda op, ch: {"field": "consent", "op": op, "value": ch},
        st.sampled_from(["has", "has_not"]),
        st.sampled_from(["email", "sms"]),
    ),
)


def groups(children):
    return st.builds(
        lambda kind, items, negate: {kind: items, **({"not": True} if negate else {})},
        st.sampled_from(["all", "any"]),
        st.lists(children, max_size=4),
        st.booleans(),
    )


trees = groups(st.recursive(leaves, groups, max_leaves=10))


@pytest.mark.django_db
def test_compiled_segments_select_what_the_rules_say():
    people = build_shop(random.Random(7))
    by_pk = {person["pk"]: person for person in people}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(tree=trees)
    def check(tree):
        selected = set(customers_matching(tree, now=NOW).values_list("pk", flat=True))
        expected = {pk for pk, person in by_pk.items() if evaluate(person, tree)}
        assert selected == expected, tree

    check()
