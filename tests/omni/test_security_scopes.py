"""OWASP API5 (function-level authorisation): every operation under /api/v1/, walked from
the URL configuration, refuses a caller without its scope, and anonymous callers.

The allow-list of operations open to any authenticated caller is explicit and reviewed;
a new endpoint that declares no scope fails here until it declares one or is listed.
"""

import pytest

from omni.auth import ALL_SCOPES, required_scope
from tests.factories import make_token
from tests.omni.api_walk import api_operations

pytestmark = pytest.mark.django_db

# Reviewed: the caller's own identity, nothing else.
OPEN_TO_ANY_CALLER = {"GET /api/v1/me/"}

# Views guarded by their own permission class: the scopes that each grant access.
CUSTOM_PERMISSIONS = {
    "CatalogAccess": lambda method: (
        {"catalog:read", "stock:read"} if method == "GET" else {"catalog:write"}
    ),
    "QuoteAccess": lambda method: {"orders:read", "sales:write"},
    "CreditSpendAccess": lambda method: {"orders:write", "sales:write"},
    "CustomersOrCampaignsRead": lambda method: {"customers:read", "campaigns:read"},
}

OPERATIONS = api_operations()


def granting_scopes(operation) -> set[str]:
    """The scopes of which any one lets a caller through this operation."""
    custom = [
        permission.__name__
        for permission in getattr(operation.view, "permission_classes", [])
        if permission.__name__ in CUSTOM_PERMISSIONS
    ]
    if custom:
        return CUSTOM_PERMISSIONS[custom[0]](operation.method)
    needed = required_scope(operation.view_instance(), operation.method)
    return {needed} if needed else set()


def str_op(operation) -> str:
    return f"{operation.method} {operation.url}"


def call(client, operation):
    return getattr(client, operation.method.lower())(operation.url, {}, format="json")


def test_the_walk_finds_every_area_of_the_api():
    assert len(OPERATIONS) > 100
    areas = {operation.url.split("/")[3] for operation in OPERATIONS}
    assert {"customers", "stock-levels", "orders", "returns", "transfers", "campaigns"} <= areas


def test_only_reviewed_operations_are_open_to_any_authenticated_caller():
    open_ones = {str_op(operation) for operation in OPERATIONS if not granting_scopes(operation)}
    assert open_ones == OPEN_TO_ANY_CALLER


def test_a_token_with_no_scopes_is_refused_everywhere_but_the_allow_list(token_client):
    client = token_client(make_token([], name="No scopes")[1])
    wrong = {}
    for operation in OPERATIONS:
        response = call(client, operation)
        expected = 200 if str_op(operation) in OPEN_TO_ANY_CALLER else 403
        if response.status_code != expected:
            wrong[str(operation)] = response.status_code
        elif expected == 403:
            assert response.json()["error"]["code"] == "permission_denied"
    assert wrong == {}


# Every operation but the reviewed open ones (which the test above pins down).
SCOPED_OPERATIONS = [operation for operation in OPERATIONS if granting_scopes(operation)]


@pytest.mark.parametrize("operation", SCOPED_OPERATIONS, ids=str)
def test_every_other_scope_is_not_enough(token_client, operation):
    granting = granting_scopes(operation)
    client = token_client(make_token(sorted(ALL_SCOPES - granting), name="All but one")[1])
    response = call(client, operation)
    assert response.status_code == 403, response.content
    with_scope = token_client(make_token(sorted(granting), name="Just the one")[1])
    assert call(with_scope, operation).status_code != 403


def test_anonymous_callers_are_refused_everywhere(api_client):
    wrong = {}
    for operation in OPERATIONS:
        response = call(api_client, operation)
        if response.status_code != 401:
            wrong[str(operation)] = response.status_code
        else:
            assert response.json()["error"]["code"] == "not_authenticated"
    assert wrong == {}
