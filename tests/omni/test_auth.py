"""Tokens, scopes, and the store-scoping rule."""

from io import StringIO

import pytest
from django.contrib.admin.sites import AdminSite
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.admin import LocationAdmin
from inventory.models import Location
from omni import auth
from omni.admin import LocationScopedAdminMixin
from omni.auth import LAST_USED_RESOLUTION, TOKEN_MEMO_SECONDS, live_token
from omni.errors import DomainError
from omni.models import ApiToken, Role, Scope, hash_token_secret
from omni.services import create_api_token, revoke_api_token
from tests.factories import make_staff, make_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.omni.urls")]


def test_token_secret_is_stored_hashed_and_shown_once():
    token, plain = make_token([Scope.SALES_WRITE])
    stored = ApiToken.objects.get(pk=token.pk)
    secret = plain.removeprefix("omni_").partition("_")[2]
    assert plain not in str(stored.__dict__)
    assert stored.secret_hash == hash_token_secret(secret)


def test_a_valid_token_authenticates_and_records_last_use(token_client):
    token, plain = make_token([Scope.STOCK_READ], name="Lisbon register 1")
    response = token_client(plain).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["principal"] == "token:Lisbon register 1"
    assert response.json()["scopes"] == ["stock:read"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_refused(token_client):
    token, plain = make_token([Scope.STOCK_READ])
    revoke_api_token(token=token)
    assert token_client(plain).get("/api/v1/me/").status_code == 401


def test_a_token_with_a_tampered_secret_is_refused(token_client):
    _, plain = make_token([Scope.STOCK_READ])
    assert token_client(plain[:-2] + "xx").get("/api/v1/me/").status_code == 401


def test_unknown_scopes_are_refused_and_nothing_is_created():
    with pytest.raises(DomainError) as refused:
        create_api_token(name="bad", scopes=["stock:read", "stock:steal"])
    assert refused.value.details["unknown"] == ["stock:steal"]
    assert not ApiToken.objects.exists()


def test_read_scope_does_not_allow_writes(token_client):
    _, plain = make_token([Scope.CATALOG_READ])
    response = token_client(plain).post(
        "/api/v1/test/locations/", {"code": "x", "name": "X"}, HTTP_IDEMPOTENCY_KEY="a"
    )
    assert response.status_code == 403
    assert not Location.objects.filter(code="x").exists()


def test_a_token_scoped_to_lisbon_sees_only_lisbon(token_client, lisbon, porto):
    _, plain = make_token([Scope.STOCK_READ], locations=[lisbon])
    client = token_client(plain)
    assert client.get("/api/v1/test/scoped/").json()["results"] == ["lisbon-chiado"]
    assert client.get(f"/api/v1/test/scoped/{lisbon.pk}/").status_code == 200
    # Outside its scope an object does not exist: 404, not 403.
    assert client.get(f"/api/v1/test/scoped/{porto.pk}/").status_code == 404


def test_a_token_without_locations_sees_every_location(token_client, lisbon, porto):
    _, plain = make_token([Scope.STOCK_READ])
    results = token_client(plain).get("/api/v1/test/scoped/").json()["results"]
    assert results == ["lisbon-chiado", "porto-baixa"]


def test_a_lisbon_associate_cannot_see_porto(api_client, lisbon, porto):
    ana = make_staff("ana", Role.STORE_ASSOCIATE, [lisbon])
    api_client.force_login(ana)
    assert api_client.get("/api/v1/test/scoped/").json()["results"] == ["lisbon-chiado"]
    assert api_client.get(f"/api/v1/test/scoped/{porto.pk}/").status_code == 404


def test_a_manager_of_two_stores_sees_both(api_client, lisbon, porto):
    rui = make_staff("rui", Role.STORE_MANAGER, [lisbon, porto])
    api_client.force_login(rui)
    assert api_client.get("/api/v1/test/scoped/").json()["results"] == [
        "lisbon-chiado",
        "porto-baixa",
    ]


def test_a_planner_sees_every_store(api_client, lisbon, porto):
    lena = make_staff("lena", Role.INVENTORY_PLANNER)
    api_client.force_login(lena)
    assert len(api_client.get("/api/v1/test/scoped/").json()["results"]) == 2


def test_staff_without_a_role_have_no_scopes(api_client, lisbon):
    nobody = make_staff("nobody", Role.STORE_ASSOCIATE, [lisbon])
    nobody.groups.clear()
    api_client.force_login(nobody)
    assert api_client.get("/api/v1/test/scoped/").status_code == 403


def test_a_marketer_cannot_write_stock(api_client):
    marta = make_staff("marta", Role.MARKETER)
    api_client.force_login(marta)
    me = api_client.get("/api/v1/me/").json()
    assert "campaigns:write" in me["scopes"]
    assert "stock:write" not in me["scopes"]


def test_admin_lists_are_scoped_to_the_clerks_stores(lisbon, porto):
    class ScopedLocationAdmin(LocationScopedAdminMixin, LocationAdmin):
        location_field = "pk"

    ana = make_staff("ana", Role.STORE_ASSOCIATE, [lisbon])
    request = RequestFactory().get("/admin/")
    request.user = ana
    admin = ScopedLocationAdmin(Location, AdminSite())
    assert list(admin.get_queryset(request)) == [lisbon]


def test_create_api_token_command_prints_the_token_once(lisbon, token_client):
    out = StringIO()
    call_command(
        "create_api_token",
        "Lisbon register 2",
        "--scope",
        "sales:write",
        "--scope",
        "stock:read",
        "--location",
        "lisbon-chiado",
        stdout=out,
    )
    plain = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(name="Lisbon register 2")
    assert list(token.locations.all()) == [lisbon]
    assert token_client(plain).get("/api/v1/me/").json()["location_ids"] == [lisbon.pk]


def test_create_api_token_command_refuses_an_unknown_location():
    with pytest.raises(CommandError, match="nowhere"):
        call_command("create_api_token", "x", "--scope", "stock:read", "--location", "nowhere")
    assert not ApiToken.objects.exists()


def test_admin_creates_a_token_and_shows_it_once(client, lisbon):
    admin_user = make_staff("boss", Role.ADMINISTRATOR)
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(
        "/admin/omni/apitoken/add/",
        {
            "name": "Web shop",
            "scopes": ["orders:write", "stock:read"],
            "locations": [lisbon.pk],
            "rate_limit_per_minute": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="Web shop")
    assert token.scopes == ["orders:write", "stock:read"]
    shown = [str(m) for m in response.context["messages"] if "omni_" in str(m)]
    assert len(shown) == 1
    plain = shown[0].rsplit(" ", 1)[1]
    assert token.secret_matches(plain.removeprefix("omni_").partition("_")[2])


# --- The token cache: a call after the first costs no query, and changes apply at once --


def test_a_tokens_later_calls_need_no_query_to_authenticate(token_client):
    _, plain = make_token([Scope.STOCK_READ])
    client = token_client(plain)
    client.get("/api/v1/me/")  # loads the token and records its use
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/me/").status_code == 200
    assert not [query for query in captured if "omni_apitoken" in query["sql"]]


def test_a_cached_token_is_refused_as_soon_as_it_is_revoked(token_client):
    token, plain = make_token([Scope.STOCK_READ])
    client = token_client(plain)
    assert client.get("/api/v1/me/").status_code == 200
    revoke_api_token(token=token)
    assert client.get("/api/v1/me/").status_code == 401


def test_a_cached_tokens_new_locations_apply_on_its_next_call(token_client, lisbon, porto):
    token, plain = make_token([Scope.STOCK_READ], locations=[lisbon])
    client = token_client(plain)
    assert client.get("/api/v1/test/scoped/").json()["results"] == ["lisbon-chiado"]
    token.locations.add(porto)
    assert client.get("/api/v1/test/scoped/").json()["results"] == ["lisbon-chiado", "porto-baixa"]
    porto.api_tokens.remove(token)  # from the location's side
    assert client.get("/api/v1/test/scoped/").json()["results"] == ["lisbon-chiado"]
    token.locations.add(porto)
    assert len(client.get("/api/v1/test/scoped/").json()["results"]) == 2
    lisbon.api_tokens.clear()  # every token of a location at once
    assert client.get("/api/v1/test/scoped/").json()["results"] == ["porto-baixa"]


def test_a_token_revoked_behind_the_caches_back_is_refused_when_its_use_is_next_recorded(
    token_client,
):
    token, plain = make_token([Scope.STOCK_READ])
    client = token_client(plain)
    client.get("/api/v1/me/")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())  # no signal
    cached = live_token(token.key_id)
    cached.last_used_at = timezone.now() - LAST_USED_RESOLUTION * 2
    cache.set(f"apitoken:{token.key_id}", cached)
    assert client.get("/api/v1/me/").status_code == 401
    assert client.get("/api/v1/me/").status_code == 401


def test_a_token_revoked_by_another_process_is_refused_once_this_ones_memo_second_is_over(
    token_client, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(auth, "clock", lambda: now[0])
    token, plain = make_token([Scope.STOCK_READ])
    client = token_client(plain)
    assert client.get("/api/v1/me/").status_code == 200
    # What another web process's revocation changes: the row and the shared cache.
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    cache.delete(f"apitoken:{token.key_id}")
    assert client.get("/api/v1/me/").status_code == 200  # served from this process's memo
    now[0] += TOKEN_MEMO_SECONDS
    assert client.get("/api/v1/me/").status_code == 401
