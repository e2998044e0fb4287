"""The whole API, fuzzed from its own OpenAPI schema.

Schemathesis reads the schema drf-spectacular generates from the app, draws valid and
invalid requests for every operation and calls the app in-process (WSGI) against the
test PostgreSQL, seeded with the demo data so path parameters often name real rows.
Two callers: a token holding every scope and a token scoped to one store. Every response
must be documented (status code, content type and body) and no response may be a 5xx;
every 4xx carries the one error shape.

The run is bounded and deterministic: a fixed number of examples per operation, drawn
from a fixed seed. `FUZZ_EXAMPLES=<n>` runs more of them locally.
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from omni.models import Scope
from tests.factories import make_token
from tests.figures import report

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CALLERS = ["all-scopes", "store-scoped"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

APP = get_wsgi_application()
CONFIG = schemathesis.Config.from_dict(
    {
        # Credentials are the test's own (a bearer token per caller): a drawn session cookie
        # would be one more, ignored, "invalid" input.
        "generation": {
            "mode": "all",
            "deterministic": True,
            "allow-x00": False,
            "with-security-parameters": False,
        },
        # The coverage phase adds hundreds of boundary cases per operation, unbounded by
        # max_examples; the generated cases below already mix valid and invalid input. The
        # schema's own examples cannot be combined with the caller drawn per case.
        "phases": {"coverage": {"enabled": False}, "examples": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP, config=CONFIG)

# Cases run per (caller, operation), reported at the end of the session.
CASES: Counter = Counter()
# Real values for path parameters, keyed by (the segment before it, its name).
REAL: dict[tuple[str, str], list[str]] = {}


def _real_values() -> dict[tuple[str, str], list[str]]:
    from campaigns.models import Campaign, Delivery
    from customers.models import Address, Customer, CustomerMerge, Identity, SupportCase
    from inventory.models import (
        Brand,
        Category,
        Location,
        Product,
        Reservation,
        Sku,
        StockDiscrepancy,
        StockLevel,
        StockMovement,
        Transfer,
    )
    from orders.models import Cart, CreditAccount, Fulfilment, Order, Return

    def some(queryset, field, n=6):
        return [str(value) for value in queryset.order_by("-pk").values_list(field, flat=True)[:n]]

    sku_codes = some(Sku.objects.all(), "code")
    return {
        ("availability", "code"): sku_codes,
        ("skus", "code"): sku_codes,
        ("locations", "code"): some(Location.objects.all(), "code"),
        ("brands", "id"): some(Brand.objects.all(), "pk"),
        ("categories", "slug"): some(Category.objects.all(), "slug"),
        ("products", "slug"): some(Product.objects.all(), "slug"),
        ("campaign-deliveries", "id"): some(Delivery.objects.all(), "pk"),
        ("campaigns", "public_id"): some(Campaign.objects.all(), "public_id"),
        ("carts", "public_id"): some(Cart.objects.all(), "public_id"),
        ("cases", "id"): some(SupportCase.objects.all(), "pk"),
        ("customers", "public_id"): some(Customer.objects.filter(merged_into=None), "public_id"),
        ("addresses", "id"): some(Address.objects.all(), "pk"),
        ("identities", "kind"): some(Identity.objects.all(), "kind"),
        ("identities", "value"): some(Identity.objects.all(), "value"),
        ("merges", "id"): some(CustomerMerge.objects.all(), "pk"),
        ("gift-cards", "number"): some(
            CreditAccount.objects.filter(number__isnull=False), "number"
        ),
        ("orders", "number"): some(Order.objects.all(), "number"),
        ("fulfilments", "id"): some(Fulfilment.objects.all(), "pk"),
        ("reservations", "id"): some(Reservation.objects.all(), "pk"),
        ("returns", "number"): some(Return.objects.all(), "number"),
        ("stock-discrepancies", "id"): some(StockDiscrepancy.objects.all(), "pk"),
        ("stock-levels", "id"): some(StockLevel.objects.all(), "pk"),
        ("stock-movements", "id"): some(StockMovement.objects.all(), "pk"),
        ("transfers", "id"): some(Transfer.objects.all(), "pk"),
    }


@schema.hook
def flatmap_case(context, case):
    """Half the time, each valid path parameter names a real row (the store's or not).
    Path parameters drawn invalid on purpose stay as drawn."""
    info = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    if not case.path_parameters or (info and info.mode != GenerationMode.POSITIVE):
        return st.just(case)
    segments = context.operation.path.strip("/").split("/")
    options = {}
    for name, value in case.path_parameters.items():
        index = segments.index("{" + name + "}")
        real = REAL.get((segments[index - 1], name), [])
        options[name] = st.one_of(st.just(value), st.sampled_from(real)) if real else st.just(value)

    def swap(parameters):
        case.path_parameters.update(parameters)
        return case

    return st.fixed_dictionaries(options).map(swap)


@pytest.fixture(scope="module")
def tokens(django_db_setup, django_db_blocker):
    """The demo data (fewer customers and historic orders) and two tokens, for the whole
    module, rolled back at its end."""
    import importlib

    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, transaction

    import orders.seed
    from inventory.models import Location
    from omni.management.commands.seed_demo import SEEDING_ORDER

    # As Django's test client does: the request cycle must not close the connection that
    # holds the module's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with (
        pytest.MonkeyPatch.context() as patch,
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        patch.setattr(orders.seed, "HISTORIC_ORDERS", 60)
        for app in SEEDING_ORDER:
            seed = importlib.import_module(f"{app}.seed").seed
            if app == "customers":
                seed(stdout=io.StringIO(), count=120)
            else:
                seed(stdout=io.StringIO())
        store = Location.objects.get(code="lisbon-chiado")
        _, everything = make_token(Scope.values, rate_limit_per_minute=10**6, name="All")
        _, store_only = make_token(
            Scope.values, locations=[store], rate_limit_per_minute=10**6, name="Lisbon till"
        )
        REAL.update(_real_values())
        yield {"all-scopes": everything, "store-scoped": store_only}
        transaction.set_rollback(True)
    REAL.clear()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _assert_error_shape(response) -> None:
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, body
    assert isinstance(error["code"], str)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)


@pytest.mark.django_db
@schema.parametrize()
@schema.given(caller=st.sampled_from(CALLERS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_response_is_documented_and_no_request_breaks_the_server(case, caller, tokens):
    CASES[(caller, f"{case.method.upper()} {case.path}")] += 1
    # Each case starts from the seeded data: whatever it wrote (or a database error it
    # caused) is rolled back to this savepoint afterwards.
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers={"Authorization": f"Bearer {tokens[caller]}"})
    finally:
        transaction.savepoint_rollback(savepoint)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        _assert_error_shape(response)


def test_the_fuzz_run_is_counted(request):
    """Runs last in this module: reports how many cases each caller sent."""
    if not CASES:
        pytest.skip("the fuzz tests did not run")
    per_caller = Counter()
    for (name, _), count in CASES.items():
        per_caller[name] += count
    operations = len({operation for _, operation in CASES})
    callers = ", ".join(f"{name}: {count}" for name, count in sorted(per_caller.items()))
    line = f"API fuzz: {sum(CASES.values())} cases over {operations} operations ({callers})"
    report(request.config, line)
    assert all(count > 0 for count in CASES.values())
