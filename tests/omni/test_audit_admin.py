"""The audit log in the admin: a read-only list for administrators and store managers,
and the trail on the customer 360 page and the SKU's pages."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.services.identity import update_profile
from inventory.services.catalog import update_sku
from inventory.services.stock import adjust_stock
from omni import audit
from omni.auth import Actor
from omni.models import AuditEntry, Role
from tests.conftest import log_in
from tests.customers.factories import CustomerFactory
from tests.factories import LocationFactory, make_staff
from tests.inventory.factories import SkuFactory, StockLevelFactory


@pytest.fixture
def lisbon(db):
    return LocationFactory(code="lisbon-chiado", name="Lisbon Chiado")


@pytest.fixture
def porto(db):
    return LocationFactory(code="porto-baixa", name="Porto Baixa")


@pytest.fixture
def history(lisbon, porto):
    """Marta adjusts stock in Lisbon and Porto, edits a price and a customer's language."""
    marta = make_staff("marta", Role.ADMINISTRATOR)
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    for place in (lisbon, porto):
        StockLevelFactory(location=place, sku=sku, on_hand=5)
        adjust_stock(
            location=place, sku=sku, delta=-1, reason="Shoplifted", actor=Actor(user=marta)
        )
    ana = CustomerFactory(first_name="Ana", last_name="Silva", language="pt-PT")
    context = audit.RequestContext(ip_address="192.0.2.10", request_id="r-1")
    context.request = type("R", (), {"user": marta})()
    reset = audit._context.set(context)
    try:
        update_sku(sku=sku, price="69.90")
        update_profile(customer=ana, language="en")
    finally:
        audit._context.reset(reset)
    return {"sku": sku, "ana": ana, "marta": marta}


@pytest.mark.django_db
def test_administrators_list_and_search_the_audit_log_read_only(client, history):
    client.force_login(history["marta"])
    url = reverse("admin:omni_auditentry_changelist")
    page = client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count("stock.adjusted") >= 2
    found = client.get(url, {"q": "sku.updated"})
    assert "69.90" not in found.content.decode()  # values live on the entry page
    assert "sku.updated" in found.content.decode()
    entry = AuditEntry.objects.get(action="sku.updated")
    detail = client.get(reverse("admin:omni_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    assert "69.90" in detail.content.decode()
    assert "192.0.2.10" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert client.post(reverse("admin:omni_auditentry_delete", args=[entry.pk])).status_code == 403
    assert AuditEntry.objects.count() == 4


@pytest.mark.django_db
def test_a_store_manager_sees_only_changes_at_their_stores(client, history, lisbon):
    client.force_login(make_staff("rui", Role.STORE_MANAGER, [lisbon]))
    page = client.get(reverse("admin:omni_auditentry_changelist"))
    assert page.status_code == 200
    shown = page.context["cl"].result_list
    assert {entry.location_id for entry in shown} == {lisbon.pk}


@pytest.mark.django_db
def test_a_store_associate_cannot_open_the_audit_log(client, history, lisbon):
    client.force_login(make_staff("ana-clerk", Role.STORE_ASSOCIATE, [lisbon]))
    assert client.get(reverse("admin:omni_auditentry_changelist")).status_code == 403
    page = client.get(reverse("admin:customers_customer_360", args=[history["ana"].pk]))
    assert "customer.profile_updated" in page.content.decode()
    assert "Full audit log" not in page.content.decode()


@pytest.mark.django_db
def test_the_customer_360_page_and_the_sku_page_show_their_trail(client, history):
    client.force_login(history["marta"])
    ana, sku = history["ana"], history["sku"]
    page = client.get(reverse("admin:customers_customer_360", args=[ana.pk])).content.decode()
    assert "Changes by staff and integrations" in page
    assert "customer.profile_updated" in page
    assert "pt-PT" in page
    sku_page = client.get(reverse("admin:inventory_sku_change", args=[sku.pk])).content.decode()
    assert "sku.updated" in sku_page
    assert "69.90" in sku_page
    lookup = client.get(
        reverse("admin:inventory_stocklookup_changelist"), {"q": "SNK-42"}
    ).content.decode()
    assert "stock.adjusted" in lookup


@pytest.mark.django_db(transaction=True)
def test_the_audit_pages_in_a_browser(browser_page, history):
    log_in(browser_page, "marta")
    browser_page.goto(reverse("admin:omni_auditentry_changelist"))
    assert browser_page.locator("#result_list tbody tr").count() == 4
    browser_page.omni_screenshot("audit-log")
    browser_page.goto(reverse("admin:customers_customer_360", args=[history["ana"].pk]))
    assert browser_page.locator(".c360-panel-audit table.omni-audit tbody tr").count() == 1
    browser_page.omni_screenshot("customer-360-audit")
    browser_page.goto(reverse("admin:inventory_sku_change", args=[history["sku"].pk]))
    assert "sku.updated" in browser_page.inner_text("table.omni-audit")
    browser_page.omni_screenshot("sku-audit-trail")
