"""Every failure has the one error shape and the right status."""

import pytest

from omni.models import Scope
from tests.factories import make_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.omni.urls")]


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.fixture
def client(token_client):
    _, plain = make_token([Scope.CATALOG_WRITE, Scope.STOCK_READ])
    return token_client(plain)


def test_invalid_input_is_400_with_field_details(client):
    error = assert_error_shape(
        client.post("/api/v1/test/errors/x/", {"code": "not a slug!"}, format="json"),
        400,
        "invalid_input",
    )
    assert set(error["details"]) == {"code", "name"}


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/test/errors/x/", data="{nope", content_type="application/json")
    assert_error_shape(response, 400, "malformed_request")


def test_missing_credentials_is_401(api_client):
    response = api_client.get("/api/v1/me/")
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_wrong_token_is_401(token_client):
    assert_error_shape(
        token_client("omni_abc_wrong").get("/api/v1/me/"), 401, "authentication_failed"
    )


def test_missing_scope_is_403(token_client):
    _, plain = make_token([Scope.CUSTOMERS_READ])
    assert_error_shape(token_client(plain).get("/api/v1/test/scoped/"), 403, "permission_denied")


def test_unknown_api_url_is_404_in_the_error_shape(client):
    assert_error_shape(client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_wrong_method_is_405(client):
    assert_error_shape(client.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_domain_conflict_is_409_with_details(client):
    error = assert_error_shape(
        client.post("/api/v1/test/failing/", {"code": "a1"}, HTTP_IDEMPOTENCY_KEY="k1"),
        409,
        "conflict",
    )
    assert error["details"] == {"shelf": "A1"}


def test_stale_precondition_is_412(client):
    assert_error_shape(client.get("/api/v1/test/errors/stale/"), 412, "precondition_failed")


def test_unhandled_error_is_500_without_a_stack_trace(client):
    error = assert_error_shape(client.get("/api/v1/test/errors/boom/"), 500, "internal_error")
    assert "hunter2" not in str(error)
    assert "Traceback" not in str(error)
