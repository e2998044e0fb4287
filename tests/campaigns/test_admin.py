"""The marketer's pages in a real browser, with screenshots."""

import pytest

from campaigns.models import Campaign, EmailVariant
from campaigns.services.sending import send_batch, send_campaign
from omni.models import Role
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy
from tests.conftest import log_in
from tests.factories import make_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def marta(db):
    user = make_staff("marta", Role.MARKETER)
    user.is_superuser = True
    user.save()
    return user


def test_the_campaign_editor_shows_every_variant_with_a_preview_as_a_customer(
    browser_page, marta, lisbon
):
    ana = reachable_customer(first_name="Ana", last_name="Silva", preferred_store=lisbon)
    campaign = campaign_with_variants(
        name="Spring sale", channels=["push", "sms", "email"], channel_strategy="priority"
    )
    log_in(browser_page, "marta")

    browser_page.goto(
        f"/admin/campaigns/campaign/{campaign.pk}/change/?preview_customer={ana.public_id}"
    )

    preview = browser_page.locator(".field-preview").inner_text()
    assert "As Ana Silva would read it" in preview
    assert "Hello Ana, spring is here" in preview
    assert "Hi Ana, spring sale today." in preview
    assert "GSM7 (1 segment(s)" in preview
    assert "Ana, new arrivals in your size" in preview
    frame = browser_page.frame_locator(".campaign-preview iframe")
    assert "See the collection" in frame.locator("body").inner_text()
    browser_page.omni_screenshot("campaigns-editor")


def test_a_marketer_edits_the_email_subject_and_a_bad_template_is_refused(browser_page, marta):
    campaign = campaign_with_variants(name="Spring sale", channels=["email"])
    log_in(browser_page, "marta")
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"

    browser_page.goto(url)
    browser_page.fill("#id_email_subject", "{% if %}broken")
    browser_page.click("input[name=_save]")
    error = browser_page.locator(".field-email_subject .errorlist").inner_text()
    browser_page.omni_screenshot("campaigns-editor-error")
    browser_page.goto(url)
    browser_page.fill("#id_email_subject", "Last days, {{ first_name }}")
    browser_page.click("input[name=_save]")

    assert "Template error" in error
    assert EmailVariant.objects.get().subject == "Last days, {{ first_name }}"
    browser_page.goto("/admin/campaigns/campaign/")
    assert "Spring sale" in browser_page.inner_text("#result_list")
    browser_page.omni_screenshot("campaigns-list")


def test_the_delivery_log_shows_skip_reasons_and_filters_by_them(browser_page, marta):
    readers = [reachable_customer(first_name=name) for name in ("Ana", "Bruno", "Carla")]
    StatedPolicy.grant(readers[0], "email")
    nobody = reachable_customer(first_name="Duarte", email=False, phone=False)
    campaign = campaign_with_variants(name="Spring sale", channels=["email"])
    send_campaign(campaign=campaign, customer_ids=[c.public_id for c in [*readers, nobody]])
    send_batch(delivery_ids=list(campaign.deliveries.values_list("pk", flat=True)))
    log_in(browser_page, "marta")

    browser_page.goto("/admin/campaigns/delivery/")
    everything = browser_page.inner_text("#result_list")
    browser_page.omni_screenshot("campaigns-delivery-log")
    browser_page.goto("/admin/campaigns/delivery/?skip_reason__exact=no_consent")
    filtered = browser_page.inner_text("#result_list")

    assert "No consent for the channel" in everything
    assert "No address on the channel" in everything
    assert "Sent" in everything
    assert "Bruno" in filtered
    assert "Carla" in filtered
    assert "Ana" not in filtered
    assert Campaign.objects.get().status == "sending"
