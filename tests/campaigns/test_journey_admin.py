"""The journey editor and the enrolment list in a real browser, with screenshots."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.journey_models import Enrollment, Journey
from campaigns.journey_seed import ensure_journeys
from campaigns.services import journeys
from omni.models import Role
from tests.campaigns.factories import CustomerFactory
from tests.conftest import log_in
from tests.factories import make_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def marta(db):
    user = make_staff("marta", Role.MARKETER)
    user.is_superuser = True
    user.save()
    return user


def steps_of(journey):
    return list(journey.steps.order_by("position").values_list("position", "kind", "message_key"))


def test_a_marketer_reorders_adds_and_removes_steps_in_the_journey_editor(browser_page, marta):
    journey = {j.key: j for j in ensure_journeys(active=False)}["welcome"]
    log_in(browser_page, "marta")

    browser_page.goto("/admin/campaigns/journey/")
    assert "Abandoned cart" in browser_page.locator("#result_list").inner_text()
    browser_page.omni_screenshot("journeys-list")

    browser_page.goto(f"/admin/campaigns/journey/{journey.pk}/change/")
    previews = browser_page.locator(".field-message_previews").inner_text()
    assert "Welcome, Ana: a gift for your first order" in previews
    assert "JEXAMPLE10" in previews
    browser_page.omni_screenshot("journey-editor")
    # Steps: 1 send welcome, 2 wait 3 days, 3 exit when purchased, 4 send follow-up.
    # Move the exit rule to the top, remove the follow-up, add a final wait.
    browser_page.fill("#id_steps-2-position", "0")
    browser_page.check("#id_steps-3-DELETE")
    browser_page.fill("#id_steps-4-position", "9")
    browser_page.select_option("#id_steps-4-kind", "wait")
    browser_page.fill("#id_steps-4-wait", "2 00:00:00")
    browser_page.click("input[name=_save]")
    browser_page.locator(".messagelist .success").wait_for()

    assert steps_of(journey) == [
        (1, "exit_when", ""),
        (2, "send", "welcome"),
        (3, "wait", ""),
        (4, "wait", ""),
    ]


def test_a_bad_step_is_shown_with_its_error_and_nothing_changes(browser_page, marta):
    journey = {j.key: j for j in ensure_journeys(active=False)}["welcome"]
    before = steps_of(journey)
    log_in(browser_page, "marta")

    browser_page.goto(f"/admin/campaigns/journey/{journey.pk}/change/")
    browser_page.fill("#id_steps-4-position", "5")
    browser_page.select_option("#id_steps-4-kind", "send")
    browser_page.fill("#id_steps-4-message_key", "no_such_message")
    browser_page.click("input[name=_save]")
    browser_page.locator(".errorlist").first.wait_for()

    assert "no such message" in browser_page.locator(".errorlist").first.inner_text()
    browser_page.omni_screenshot("journey-editor-error")
    assert steps_of(journey) == before


def test_the_enrolment_list_shows_state_step_and_exit_reason(browser_page, marta):
    keyed = {j.key: j for j in ensure_journeys(active=False)}
    now = timezone.now()
    for name in ("Ana", "Bea", "Carla"):
        customer = CustomerFactory(first_name=name, last_name="Silva")
        journeys.enrol(
            journey=keyed["abandoned-cart"],
            customer=customer,
            trigger_key=f"cart:{customer.pk}",
            now=now,
        )
    Enrollment.objects.filter(customer__first_name="Bea").update(
        state="exited", exit_reason="exit_when:cart_items_bought", finished_at=now
    )
    Enrollment.objects.filter(customer__first_name="Carla").update(
        step_position=6, due_at=now + timedelta(hours=23)
    )
    Journey.objects.filter(key="abandoned-cart").update(active=True)
    log_in(browser_page, "marta")

    browser_page.goto("/admin/campaigns/enrollment/")
    listing = browser_page.locator("#result_list").inner_text()
    assert "exit_when:cart_items_bought" in listing
    assert "Active" in listing
    assert "Carla Silva" in listing
    assert "6" in listing
    browser_page.omni_screenshot("journey-enrollments")
