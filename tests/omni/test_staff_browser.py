"""A day at the counter in a real browser: the staff admin as one product.

Screenshots of every main page are saved to artifacts/screenshots/ (staff-*.png)."""

import pytest

from inventory.models import StockLevel
from orders.models import Fulfilment, Return
from tests.conftest import log_in
from tests.omni.staff_world import build_world, staff_of

pytestmark = pytest.mark.django_db(transaction=True)

TABLET_LANDSCAPE = {"width": 1024, "height": 768}
TABLET_PORTRAIT = {"width": 768, "height": 1024}


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def staff(world):
    return staff_of(world)


WIDER_THAN_SCREEN = """() => Array.from(document.querySelectorAll('body *'))
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map(el => el.tagName + '.' + el.className + '#' + el.id + ' to '
    + Math.round(el.getBoundingClientRect().right))"""


def fits_the_screen(page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling at the counter."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(
        WIDER_THAN_SCREEN
    )


def search(page, term: str) -> None:
    """Type (or scan) into the header's search box and press Enter, as a scanner does."""
    page.fill("#omni-q", term)
    with page.expect_navigation():
        page.press("#omni-q", "Enter")


def test_an_associate_serves_a_pickup_and_a_return_at_the_counter(browser_page, world, staff):
    page = browser_page
    log_in(page, "ana")
    assert "Lisbon Chiado" in page.inner_text("#content h1")
    pickups = page.locator("#panel-pickups")
    assert "1\nTo pick" in pickups.inner_text()
    assert "bay 3, red Fiat 500" in pickups.inner_text()
    page.omni_screenshot("staff-dashboard-associate")

    # The customer gives her phone number as she would say it.
    search(page, "912 345 678")
    assert page.url.endswith(f"/customers/customer/{world.pickup.customer.pk}/360/")
    assert "Ana Sousa" in page.inner_text("h1")
    orders_panel = page.locator(".c360-panel-orders")
    assert world.pickup.number in orders_panel.inner_text()
    page.omni_screenshot("staff-customer-360")
    orders_panel.get_by_role("link", name=world.pickup.number).click()
    assert world.pickup.number in page.inner_text("#content")
    assert "Click and collect" in page.inner_text("#content")

    # Pick the order, mark it ready, hand it over with the customer's code.
    page.get_by_role("link", name="Pickup queue").first.click()
    card = page.locator(f"#to-pick [data-order='{world.pickup.number}']")
    card.get_by_role("button", name="Mark ready").click()
    assert f"Order {world.pickup.number} is ready for pickup" in page.inner_text(".messagelist")
    ready = page.locator(f"#ready [data-order='{world.pickup.number}']")
    code = Fulfilment.objects.get(order=world.pickup).pickup_code
    ready.locator("input[name=code]").fill(code)
    with page.expect_navigation():
        ready.locator("input[name=code]").press("Enter")
    assert f"Order {world.pickup.number} handed over" in page.inner_text(".messagelist")
    assert Fulfilment.objects.get(order=world.pickup).status == "collected"
    page.omni_screenshot("staff-pickup-queue")

    # Marta brings back one tee of her web order.
    page.get_by_role("link", name="Returns desk").first.click()
    assert page.evaluate("document.activeElement.id") == "return-query"
    page.keyboard.type(world.shipped.number)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    form = page.locator(f"#return-{world.shipped.number}")
    line = world.shipped.lines.get()
    form.locator(f"#quantity-{line.pk}").fill("1")
    form.locator(f"[name=reason_{line.pk}]").fill("too small")
    page.omni_screenshot("staff-returns-desk")
    form.get_by_role("button", name="Take the return and refund").click()
    assert "refunded to original payment" in page.inner_text(".messagelist")
    assert Return.objects.get().location == world.lisbon

    # The unit is back on hand here: the stock lookup says so (scan its barcode).
    page.get_by_role("link", name="Stock lookup").first.click()
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(world.tee.barcode)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    here = page.locator(".omni-card").inner_text()
    assert "Here (Lisbon Chiado)" in here
    assert "2 on hand" in here
    assert StockLevel.objects.get(location=world.lisbon, sku=world.tee).on_hand == 2
    assert page.locator("#stock-chart svg").count() == 1
    page.omni_screenshot("staff-stock-lookup")


def test_a_clerk_sees_only_her_stores_and_not_another_stores_order(browser_page, world, staff):
    page = browser_page
    log_in(page, "ana")
    options = page.locator("#omni-store option").all_inner_texts()
    assert options == ["Cascais Villa", "Lisbon Chiado"]

    with page.expect_navigation():
        page.select_option("#omni-store", label="Cascais Villa")
    assert "Working in Cascais Villa" in page.inner_text(".messagelist")
    assert "Cascais Villa" in page.inner_text("#content h1")
    page.get_by_role("link", name="Pickup queue").first.click()
    assert "Cascais Villa" in page.inner_text(".breadcrumbs")
    assert world.curbside.number not in page.inner_text("#content")

    response = page.goto(f"/admin/orders/order/{world.in_porto.pk}/change/")
    assert response.status == 404
    page.goto("/admin/")
    search(page, world.in_porto.number)
    assert "Nothing matches" in page.inner_text("#content")

    # Rita works in Porto only: no switcher, her store is named.
    page.get_by_role("button", name="Log out").click()
    log_in(page, "rita")
    assert page.locator("#omni-store").count() == 0
    assert "Porto Baixa" in page.inner_text(".omni-store-fixed")
    response = page.goto(f"/admin/orders/order/{world.pickup.pk}/change/")
    assert response.status == 404
    # A scan on the dashboard lands in the search box and opens her own order.
    page.goto("/admin/")
    assert page.evaluate("document.activeElement.id") == "omni-q"
    page.keyboard.type(world.in_porto.number)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/admin/orders/order/{world.in_porto.pk}/change/")


@pytest.mark.parametrize(
    ("role", "username", "blocks"),
    [
        ("manager", "miguel", ["#panel-pickups", "#panel-sales-chart svg", "#panel-cases"]),
        ("planner", "paula", ["#panel-low-stock", "#panel-transfers"]),
        ("marketer", "marco", ["#panel-campaigns svg"]),
        ("admin", "boss", ["#panel-health", "#panel-campaigns", "#panel-transfers"]),
    ],
)
def test_each_role_lands_on_its_dashboard(browser_page, world, staff, role, username, blocks):
    page = browser_page
    log_in(page, username)
    for block in blocks:
        assert page.locator(block).count() == 1, block
    page.omni_screenshot(f"staff-dashboard-{role}")


def test_the_counter_pages_fit_a_tablet(browser_page, world, staff):
    page = browser_page
    log_in(page, "ana")
    for name, size in (("landscape", TABLET_LANDSCAPE), ("portrait", TABLET_PORTRAIT)):
        page.set_viewport_size(size)
        page.goto("/admin/")
        fits_the_screen(page, size["width"])
        page.omni_screenshot(f"staff-dashboard-tablet-{name}")
        page.goto("/admin/orders/pickupdesk/")
        fits_the_screen(page, size["width"])
        page.omni_screenshot(f"staff-pickup-queue-tablet-{name}")


@pytest.mark.celery_worker
def test_a_marketer_imports_customers_and_watches_the_worker_finish(
    browser_page, celery_worker_thread, tmp_path
):
    from customers.models import Customer
    from omni.models import Role
    from tests.factories import make_staff

    make_staff("marco", Role.MARKETER)
    bad = tmp_path / "customers-bad.csv"
    bad.write_text("first_name,email,phone,country\nInês,ines@example.com,12,PT\n")
    good = tmp_path / "customers.csv"
    good.write_text(
        "first_name,last_name,email,phone,country\n"
        + "".join(f"Cliente,N{n},c{n}@example.com,91200{n:04d},PT\n" for n in range(120))
    )
    page = browser_page
    log_in(page, "marco")
    page.get_by_role("link", name="Import and export (CSV)").click()
    page.locator("#csv-customers").get_by_role("link", name="Import…").click()
    page.set_input_files("#csv-file", str(bad))
    page.get_by_role("button", name="Check the file").click()
    errors = page.inner_text("#csv-errors")
    assert "2\tphone" in errors
    page.omni_screenshot("staff-csv-import-errors")

    page.set_input_files("#csv-file", str(good))
    page.get_by_role("button", name="Check the file").click()
    assert "120 row(s): 120 new customer(s)" in page.inner_text("#content")
    page.omni_screenshot("staff-csv-import-preview")
    page.get_by_role("button", name="Import 120 row(s)").click()
    # The job page polls until the worker is done, then shows the result.
    page.wait_for_selector("#job-result", timeout=60_000)
    assert "Imported 120 customer row(s): 120 new customer(s)." in page.inner_text("#job-result")
    assert Customer.objects.count() == 120
    page.omni_screenshot("staff-job-done")
