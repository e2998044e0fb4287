"""What the API fuzzing found, pinned: each bad input is a 400 (or 405) in the one error
shape, where it used to be a 500 or silently ignored."""

import pytest

from omni.models import Scope
from tests.customers.factories import CustomerFactory
from tests.factories import LocationFactory, make_token
from tests.omni.test_errors import assert_error_shape

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(token_client):
    _, plain = make_token(Scope.values)
    return token_client(plain)


@pytest.mark.parametrize("page_size", ["0", "201", "false", "1.5", "-1", ""])
def test_a_page_size_that_is_not_a_whole_number_from_1_to_200_is_400(client, page_size):
    response = client.get("/api/v1/locations/", {"page_size": page_size})
    error = assert_error_shape(response, 400, "invalid_input")
    assert set(error["details"]) == {"page_size"}


@pytest.mark.parametrize("page", ["0", "two", ""])
def test_a_page_that_is_not_a_whole_number_above_zero_is_400(client, page):
    assert_error_shape(client.get("/api/v1/locations/", {"page": page}), 400, "invalid_input")


def test_page_sizes_in_range_and_the_last_page_still_work(client):
    LocationFactory.create_batch(3)
    assert len(client.get("/api/v1/locations/", {"page_size": "2"}).json()["results"]) == 2
    assert client.get("/api/v1/locations/", {"page": "last", "page_size": "2"}).status_code == 200
    assert_error_shape(client.get("/api/v1/locations/", {"page": "9"}), 404, "not_found")


@pytest.mark.parametrize("value", ["", "   ", "\x1c"])
def test_a_typed_filter_given_an_empty_value_is_400_not_everything(client, value):
    response = client.get("/api/v1/campaign-deliveries/", {"customer": value})
    error = assert_error_shape(response, 400, "invalid_input")
    assert set(error["details"]) == {"customer"}


@pytest.mark.django_db(transaction=True)
def test_a_date_filter_with_an_offset_the_database_cannot_hold_is_400_not_500(client):
    """In autocommit, as in production: the refused query leaves the connection usable."""
    customer = CustomerFactory()
    response = client.get(
        f"/api/v1/customers/{customer.public_id}/timeline/",
        {"occurred_after": "2026-01-01T10:00:00+23:30"},
    )
    assert_error_shape(response, 400, "invalid_input")
    assert client.get(f"/api/v1/customers/{customer.public_id}/timeline/").status_code == 200


def test_options_is_405_in_the_error_shape_on_every_kind_of_view(client):
    customer = CustomerFactory()
    for url in ("/api/v1/locations/", f"/api/v1/customers/{customer.public_id}/consent/"):
        assert_error_shape(client.options(url), 405, "method_not_allowed")


def test_low_stock_with_a_blank_location_is_400(client):
    response = client.get("/api/v1/replenishment/low-stock/", {"location": ""})
    assert_error_shape(response, 400, "invalid_input")


def test_the_return_lookup_needs_its_query(client):
    error = assert_error_shape(client.get("/api/v1/returns/lookup/"), 400, "invalid_input")
    assert set(error["details"]) == {"q"}
    assert client.get("/api/v1/returns/lookup/", {"q": "nobody@example.com"}).json() == []


def test_a_form_encoded_body_is_415_and_cannot_blank_a_field(client):
    from tests.inventory.catalog_factories import CategoryFactory, ProductFactory

    product = ProductFactory(category=CategoryFactory())
    response = client.patch(
        f"/api/v1/products/{product.slug}/",
        "category=",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error_shape(response, 415, "unsupported_media_type")
    product.refresh_from_db()
    assert product.category_id is not None


@pytest.mark.parametrize("value", ["null", "yes", "maybe"])
def test_a_yes_no_filter_takes_true_or_false_only(client, value):
    assert_error_shape(client.get("/api/v1/skus/", {"is_active": value}), 400, "invalid_input")
    assert client.get("/api/v1/skus/", {"is_active": "true"}).status_code == 200
