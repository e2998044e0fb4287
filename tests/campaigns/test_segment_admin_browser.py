"""A marketer builds a segment in a real browser and watches the count follow the rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.segment_models import Segment
from campaigns.segmentation.services import create_segment
from omni.models import Role
from orders.models import Order
from tests.campaigns import segment_factories as shop
from tests.campaigns.factories import CustomerFactory
from tests.conftest import log_in
from tests.factories import make_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shoppers():
    shoes = shop.category("shoes")
    aura = shop.product("aura-runner", shop.category("running-shoes", parent=shoes))
    people = [
        CustomerFactory(first_name=name, country=country)
        for name, country in [("Ana", "PT"), ("Bruno", "PT"), ("Carla", "ES"), ("Duarte", "PT")]
    ]
    for person in people[:3]:
        shop.metrics(person, lifecycle_stage="vip" if person.first_name != "Bruno" else "active")
    placed = shop.order(people[0], aura)
    # The builder counts against the real clock.
    Order.objects.filter(pk=placed.pk).update(placed_at=timezone.now() - timedelta(days=10))
    return people


def current_count(page) -> int:
    return int(page.get_attribute("#segment-count", "data-count"))


def wait_for_count(page, expected: int) -> None:
    page.wait_for_function(
        "n => document.getElementById('segment-count').getAttribute('data-count') === String(n)",
        arg=expected,
    )


def test_a_marketer_builds_a_segment_and_sees_the_live_count_change(browser_page, shoppers):
    make_staff("marta", Role.MARKETER)
    page = browser_page
    log_in(page, "marta")
    page.goto("/admin/campaigns/segment/add/")
    page.fill("#id_name", "Portuguese VIPs who bought shoes")

    wait_for_count(page, 4)  # no rules yet: every customer

    page.get_by_role("button", name="+ Rule").click()
    rule = page.locator(".seg-rule").nth(0)
    rule.locator(".seg-field").select_option("lifecycle_stage")
    rule.locator(".seg-value").select_option("vip")
    wait_for_count(page, 2)

    page.get_by_role("button", name="+ Rule").first.click()
    second = page.locator(".seg-rule").nth(1)
    second.locator(".seg-field").select_option("bought_category")
    second.locator(".seg-value").select_option("shoes")
    second.locator(".seg-window").select_option("90")
    wait_for_count(page, 1)

    # An OR group: bought shoes, or lives in Spain.
    page.get_by_role("button", name="+ Group").first.click()
    group_rule = page.locator(".seg-group .seg-group .seg-rule").first
    group_rule.locator(".seg-value").fill("ES")
    wait_for_count(page, 0)  # VIP, bought shoes and in Spain: nobody
    page.locator(".seg-group .seg-group .seg-group-head input[type=checkbox]").check()
    wait_for_count(page, 1)  # ...and not in Spain: Ana
    page.omni_screenshot("segment-builder")

    page.click("input[name=_save]")
    page.wait_for_url("**/admin/campaigns/segment/")
    segment = Segment.objects.get(name="Portuguese VIPs who bought shoes")
    assert segment.rules["all"][1] == {
        "field": "bought_category",
        "op": "has",
        "value": "shoes",
        "within_days": 90,
    }
    assert segment.rules["all"][2]["not"] is True


def test_a_bad_value_is_shown_on_its_rule_and_the_count_waits(browser_page, shoppers):
    make_staff("marta", Role.MARKETER)
    page = browser_page
    log_in(page, "marta")
    page.goto("/admin/campaigns/segment/add/")
    wait_for_count(page, 4)
    page.get_by_role("button", name="+ Rule").click()
    rule = page.locator(".seg-rule").nth(0)
    rule.locator(".seg-field").select_option("city")
    rule.locator(".seg-value").fill("")
    page.wait_for_selector(".seg-rule.seg-invalid")
    assert "at all[0].value" in page.inner_text("#segment-error")
    page.omni_screenshot("segment-builder-error")


def test_a_marketer_previews_a_list_fixes_it_and_loads_it(browser_page, shoppers):
    make_staff("marta", Role.MARKETER)
    guests = create_segment(name="Launch party guests", kind=Segment.Kind.STATIC)
    ana, bruno = shoppers[0], shoppers[1]
    page = browser_page
    log_in(page, "marta")
    page.goto(f"/admin/campaigns/segment/{guests.pk}/change/")
    page.get_by_role("link", name="Upload a CSV list").click()

    bad = f"customer_id,note\n{ana.public_id},VIP\nnot-an-id,typo\n{bruno.public_id},\n"
    page.set_input_files(
        "#id_file", files=[{"name": "guests.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.get_by_role("button", name="Preview").click()
    errors = page.inner_text("#upload-errors")
    assert "3\tcustomer_id\tnot a customer ID" in errors
    assert page.get_by_role("button", name="Load 2 customers").count() == 0
    page.omni_screenshot("segment-list-upload-errors")
    assert guests.members.count() == 0

    page.get_by_role("link", name="Choose another file").click()
    good = f"customer_id\n{ana.public_id}\n{bruno.public_id}\n"
    page.set_input_files(
        "#id_file", files=[{"name": "guests.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    page.get_by_role("button", name="Preview").click()
    page.omni_screenshot("segment-list-upload-preview")
    page.get_by_role("button", name="Load 2 customers").click()
    page.wait_for_url(f"**/admin/campaigns/segment/{guests.pk}/change/")
    assert "2 customers loaded" in page.inner_text(".messagelist")
    assert set(guests.members.values_list("customer", flat=True)) == {ana.pk, bruno.pk}


def test_store_staff_cannot_count_segments(client, shoppers, lisbon):
    associate = make_staff("rui", Role.STORE_ASSOCIATE, [lisbon])
    client.force_login(associate)
    response = client.post(
        "/admin/campaigns/segment/count/", {"rules": {"all": []}}, content_type="application/json"
    )
    assert response.status_code in (302, 403)
