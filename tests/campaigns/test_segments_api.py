"""Marketers build segments over the API: live counts, members, static lists from CSV."""

import pytest

from campaigns.models import Campaign
from campaigns.segment_models import Segment, SegmentMember
from customers.services.merge import merge_customers
from tests.campaigns.factories import CustomerFactory, reachable_customer
from tests.factories import make_token

pytestmark = pytest.mark.django_db

PORTUGAL = {"all": [{"field": "country", "op": "eq", "value": "PT"}]}


@pytest.fixture
def marketer(token_client):
    _, plain = make_token(["campaigns:read", "campaigns:write"], name="Marketing")
    return token_client(plain)


@pytest.fixture
def reader(token_client):
    _, plain = make_token(["campaigns:read"], name="Reports")
    return token_client(plain)


@pytest.fixture
def people():
    return {
        "ana": reachable_customer(first_name="Ana", country="PT"),
        "bruno": reachable_customer(first_name="Bruno", country="PT"),
        "carla": reachable_customer(first_name="Carla", country="ES"),
    }


def test_the_live_count_follows_an_unsaved_definition_and_saves_nothing(reader, people):
    response = reader.post("/api/v1/segments/count/", {"rules": PORTUGAL})
    assert response.status_code == 200
    assert response.json()["count"] == 2

    wider = {"any": [*PORTUGAL["all"], {"field": "country", "op": "eq", "value": "ES"}]}
    assert reader.post("/api/v1/segments/count/", {"rules": wider}).json()["count"] == 3
    assert Segment.objects.count() == 0


def test_a_bad_rule_gets_a_400_naming_its_path(marketer, people):
    rules = {"all": [*PORTUGAL["all"], {"any": [{"field": "age", "op": "gt", "value": "old"}]}]}

    counted = marketer.post("/api/v1/segments/count/", {"rules": rules})
    created = marketer.post("/api/v1/segments/", {"name": "Broken", "rules": rules})

    for response in (counted, created):
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid_segment_rules"
        assert error["details"]["path"] == "all[1].any[0].value"
    assert Segment.objects.count() == 0


def test_a_marketer_saves_counts_lists_and_exports_a_segment(marketer, people):
    created = marketer.post(
        "/api/v1/segments/", {"name": "Portugal", "rules": PORTUGAL}, HTTP_IDEMPOTENCY_KEY="seg-1"
    )
    assert created.status_code == 201
    segment_id = created.json()["id"]

    assert marketer.get(f"/api/v1/segments/{segment_id}/count/").json()["count"] == 2
    members = marketer.get(f"/api/v1/segments/{segment_id}/members/", {"page_size": 1})
    assert members.status_code == 200
    body = members.json()
    assert body["count"] == 2
    assert len(body["results"]) == 1

    export = marketer.get(f"/api/v1/segments/{segment_id}/members/export/")
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("customer_id,first_name")
    assert len(lines) == 3
    assert any(f"ana.{people['ana'].pk}@example.com" in line for line in lines)

    renamed = marketer.patch(f"/api/v1/segments/{segment_id}/", {"name": "Portugal (all)"})
    assert renamed.json()["name"] == "Portugal (all)"


def test_a_reader_cannot_save_a_segment(reader):
    response = reader.post("/api/v1/segments/", {"name": "Nope", "rules": PORTUGAL})
    assert response.status_code == 403
    assert Segment.objects.count() == 0


def test_a_campaign_targets_a_segment_and_sends_to_its_customers_with_consent(
    marketer, people, stated_policy
):
    stated_policy.grant(people["ana"], "email")
    stated_policy.grant(people["carla"], "email")
    segment_id = marketer.post("/api/v1/segments/", {"name": "PT", "rules": PORTUGAL}).json()["id"]
    campaign = marketer.post(
        "/api/v1/campaigns/", {"name": "Santos", "channels": ["email"], "segment": segment_id}
    ).json()
    assert campaign["segment"] == segment_id
    marketer.put(
        f"/api/v1/campaigns/{campaign['id']}/message/",
        {"email": {"subject": "Olá", "html": "<p>Olá {{ first_name }}</p>"}},
    )

    sent = marketer.post(f"/api/v1/campaigns/{campaign['id']}/send/", {"all_with_consent": True})

    assert sent.status_code == 202
    assert sent.json()["queued"] == 1
    refused = marketer.delete(f"/api/v1/segments/{segment_id}/")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "segment_in_use"


def test_an_unknown_segment_on_a_campaign_is_a_404_and_writes_nothing(marketer):
    response = marketer.post(
        "/api/v1/campaigns/",
        {"name": "Lost", "channels": ["email"], "segment": "5f0e7d4c-0000-4000-8000-000000000000"},
    )
    assert response.status_code == 404
    assert Campaign.objects.count() == 0


def static_list(marketer) -> str:
    response = marketer.post("/api/v1/segments/", {"name": "Event guests", "kind": "static"})
    assert response.status_code == 201
    return response.json()["id"]


def test_a_list_preview_reports_every_bad_row_and_writes_nothing(marketer, people):
    segment_id = static_list(marketer)
    text = (
        "email,name\n"
        f"ANA.{people['ana'].pk}@example.com,Ana\n"
        "not-an-email,X\n"
        ",Empty\n"
        "nobody@example.com,Nobody\n"
        f"ana.{people['ana'].pk}@example.com,Ana again\n"
    )
    url = f"/api/v1/segments/{segment_id}/members/import/"

    preview = marketer.post(url, {"csv": text, "preview": True})
    assert preview.status_code == 200
    report = preview.json()
    assert report["matched"] == 1
    assert report["duplicates"] == 1
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (3, "email"),
        (4, "email"),
        (5, "email"),
    ]
    assert report["errors"][1]["error"] == "empty"

    refused = marketer.post(url, {"csv": text})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_member_list"
    assert error["details"]["error_count"] == 3
    assert SegmentMember.objects.count() == 0


def test_a_clean_list_replaces_the_members_and_follows_merges(marketer, people):
    segment_id = static_list(marketer)
    twin = CustomerFactory(first_name="Ana twin")
    merge_customers(survivor=people["ana"], merged=twin)
    url = f"/api/v1/segments/{segment_id}/members/import/"

    first = marketer.post(
        url, {"csv": f"customer_id\n{twin.public_id}\n{people['bruno'].public_id}\n"}
    )
    assert first.status_code == 200
    assert first.json()["member_count"] == 2
    assert set(SegmentMember.objects.values_list("customer", flat=True)) == {
        people["ana"].pk,
        people["bruno"].pk,
    }

    phone = f"+3519100{people['carla'].pk:05d}"
    second = marketer.post(url, {"csv": f"phone\n{phone}\n", "mode": "add"})
    assert second.json()["member_count"] == 3
    third = marketer.post(url, {"csv": f"phone\n{phone}\n"})
    assert third.json()["member_count"] == 1
    assert marketer.get(f"/api/v1/segments/{segment_id}/count/").json()["count"] == 1


def test_a_list_without_a_known_column_or_on_a_dynamic_segment_is_refused(marketer, people):
    segment_id = static_list(marketer)
    url = f"/api/v1/segments/{segment_id}/members/import/"
    no_column = marketer.post(url, {"csv": "name\nAna\n"})
    assert no_column.status_code == 400
    assert no_column.json()["error"]["code"] == "invalid_member_list"

    dynamic = marketer.post("/api/v1/segments/", {"name": "PT", "rules": PORTUGAL}).json()["id"]
    response = marketer.post(
        f"/api/v1/segments/{dynamic}/members/import/", {"csv": "email\nx@example.com\n"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_a_static_segment"


def test_the_field_catalogue_lists_operators(reader):
    fields = {item["field"]: item for item in reader.get("/api/v1/segments/fields/").json()}
    assert "bought_category" in fields
    assert fields["bought_category"]["within_days"] is True
    assert "between" in fields["age"]["ops"]
