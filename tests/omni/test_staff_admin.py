"""The staff admin as one product: role dashboards, the store switcher, the global search
and the server-drawn charts (page by page, without a browser)."""

import re

import pytest
from django.urls import reverse

from omni.charts import Series, bar_chart, column_chart, nice_ceiling
from omni.stores import SESSION_KEY
from tests.omni.staff_world import build_world, staff_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def staff(world):
    return staff_of(world)


def panels_on(client, user) -> set[str]:
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return set(re.findall(r'<section[^>]* id="panel-([a-z-]+)"', response.content.decode()))


def test_each_role_sees_the_dashboard_blocks_of_its_work(client, world, staff):
    assert panels_on(client, staff["associate"]) == {
        "pickups",
        "returns",
        "sales-today",
        "sales-chart",
        "low-stock",
        "cases",
    }
    assert panels_on(client, staff["planner"]) == {"low-stock", "transfers"}
    assert panels_on(client, staff["marketer"]) == {"campaigns"}
    admin_panels = panels_on(client, staff["admin"])
    assert {"health", "campaigns", "transfers", "low-stock", "sales-chart"} <= admin_panels
    assert "pickups" not in admin_panels  # until a store is chosen
    client.post(reverse("admin:switch_store"), {"location": world.lisbon.pk})
    assert {"health", "pickups", "returns", "cases"} <= panels_on(client, staff["admin"])


def test_the_store_dashboard_counts_todays_pickups_and_low_stock_here(client, world, staff):
    client.force_login(staff["associate"])
    page = client.get(reverse("admin:index")).content.decode()
    pickups = page.split('id="panel-pickups"')[1].split("</section>")[0]
    assert re.search(r"<strong>1</strong><span>To pick</span>", pickups)
    assert re.search(r"<strong>1</strong><span>Curbside waiting</span>", pickups)
    assert "bay 3, red Fiat 500" in pickups
    low = page.split('id="panel-low-stock"')[1].split("</section>")[0]
    assert world.tee.code in low
    assert "Lisbon Chiado" in low
    assert "Wrong size in my pickup?" in page
    assert "<svg" in page.split('id="panel-sales-chart"')[1]


def test_the_marketer_sees_campaign_results_so_far_and_no_segment_block_yet(client, staff):
    client.force_login(staff["marketer"])
    page = client.get(reverse("admin:index")).content.decode()
    campaigns = page.split('id="panel-campaigns"')[1].split("</section>")[0]
    assert "Spring arrivals" in campaigns
    assert "Rain gear week" in campaigns
    # 3 sent, 2 opened, 1 clicked.
    assert re.search(r"<td>3</td><td>2 \(67%\)</td><td>1 \(33%\)</td>", campaigns)
    assert "<svg" in campaigns
    assert 'id="panel-segments"' not in page


def test_the_marketer_sees_each_segment_with_its_size_and_no_transactional_campaigns(client, staff):
    from campaigns.models import Campaign
    from campaigns.segmentation.services import create_segment
    from tests.campaigns.factories import CampaignFactory, CustomerFactory

    CustomerFactory(city="Porto")
    CustomerFactory(city="Porto")
    CustomerFactory(city="Braga")
    create_segment(
        name="Porto customers", rules={"all": [{"field": "city", "op": "eq", "value": "Porto"}]}
    )
    CampaignFactory(name="Order confirmation", transactional=True, status=Campaign.Status.SENDING)
    client.force_login(staff["marketer"])
    page = client.get(reverse("admin:index")).content.decode()

    segments = page.split('id="panel-segments"')[1].split("</section>")[0]
    assert re.search(r"Porto customers.*?<td>2</td>", segments, re.S)
    assert "Order confirmation" not in page.split('id="panel-campaigns"')[1]


def test_the_planner_sees_transfers_on_the_way(client, staff):
    client.force_login(staff["planner"])
    page = client.get(reverse("admin:index")).content.decode()
    transfers = page.split('id="panel-transfers"')[1].split("</section>")[0]
    assert "Central warehouse" in transfers
    assert "In transit" in transfers


def test_a_phone_typed_without_country_code_goes_straight_to_the_customer(client, world, staff):
    client.force_login(staff["associate"])
    response = client.get(reverse("admin:global_search"), {"q": "912 345 678"})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:customers_customer_360", args=[world.pickup.customer.pk]
    )


@pytest.mark.parametrize(
    ("term", "target"),
    [
        ("ana.sousa@EXAMPLE.com", "customer"),
        ("00351 912-345-678", "customer"),
        ("order", "order"),
        ("TILL-2-000417", "till"),
        ("5609876543217", "sku"),
        ("tee-ess-wht-m", "sku"),
    ],
)
def test_a_scanned_or_typed_code_naming_one_thing_opens_it(client, world, staff, term, target):
    from orders.models import Order

    till = Order.objects.get(client_reference="TILL-2-000417")
    term = world.pickup.number.lower() if term == "order" else term
    expected = {
        "customer": reverse("admin:customers_customer_360", args=[world.pickup.customer.pk]),
        "order": reverse("admin:orders_order_change", args=[world.pickup.pk]),
        "till": reverse("admin:orders_order_change", args=[till.pk]),
        "sku": reverse("admin:inventory_stocklookup_changelist") + f"?q={world.tee.code}",
    }[target]
    client.force_login(staff["associate"])
    response = client.get(reverse("admin:global_search"), {"q": term})
    assert (response.status_code, response["Location"]) == (302, expected)


def test_a_name_lists_the_customers_and_products_it_matches(client, world, staff):
    client.force_login(staff["associate"])
    response = client.get(reverse("admin:global_search"), {"q": "aura"})
    assert response.status_code == 200
    page = response.content.decode()
    assert world.sneaker.code in page
    assert 'id="results-skus"' in page
    # A name is not a code: even one match is listed, not opened.
    response = client.get(reverse("admin:global_search"), {"q": "sousa"})
    assert response.status_code == 200
    assert "Ana Sousa" in response.content.decode()


def test_a_porto_clerk_does_not_find_a_lisbon_order(client, world, staff):
    client.force_login(staff["porto"])
    response = client.get(reverse("admin:global_search"), {"q": world.pickup.number})
    assert response.status_code == 200
    results = response.content.decode().split('id="content-main"')[1]
    assert "Nothing matches" in results
    assert f"/admin/orders/order/{world.pickup.pk}/" not in results
    response = client.get(reverse("admin:global_search"), {"q": world.in_porto.number})
    assert response.status_code == 302


def test_an_empty_search_changes_nothing_and_explains(client, staff):
    client.force_login(staff["associate"])
    response = client.get(reverse("admin:global_search"), {"q": "   "})
    assert response.status_code == 200
    assert "Type or scan" in response.content.decode()


def test_the_switcher_offers_only_the_clerks_stores_and_pages_follow_it(client, world, staff):
    client.force_login(staff["associate"])
    page = client.get(reverse("admin:index")).content.decode()
    switcher = page.split('id="omni-store"')[1].split("</select>")[0]
    assert re.findall(r">([^<]+)</option>", switcher) == ["Cascais Villa", "Lisbon Chiado"]
    assert "All stores" not in switcher

    queue = reverse("admin:orders_pickupdesk_changelist")
    response = client.post(
        reverse("admin:switch_store"), {"location": world.cascais.pk, "next": queue}
    )
    assert (response.status_code, response["Location"]) == (302, queue)
    assert client.session[SESSION_KEY] == world.cascais.pk
    page = client.get(queue).content.decode()
    assert world.curbside.number not in page
    assert "Cascais Villa" in page.split("<h1")[0] or "Cascais Villa" in page


def test_switching_to_another_clerks_store_is_refused_and_changes_nothing(client, world, staff):
    client.force_login(staff["associate"])
    client.post(reverse("admin:switch_store"), {"location": world.cascais.pk})
    response = client.post(reverse("admin:switch_store"), {"location": world.porto.pk}, follow=True)
    assert "No such store among yours" in response.content.decode()
    assert client.session[SESSION_KEY] == world.cascais.pk
    response = client.post(reverse("admin:switch_store"), {"location": ""}, follow=True)
    assert "Store staff always work in one of their stores" in response.content.decode()
    assert client.session[SESSION_KEY] == world.cascais.pk


def test_a_switch_never_redirects_off_site(client, world, staff):
    client.force_login(staff["associate"])
    response = client.post(
        reverse("admin:switch_store"),
        {"location": world.lisbon.pk, "next": "https://evil.example.com/"},
    )
    assert response["Location"] == reverse("admin:index")


def test_the_order_list_follows_the_store_and_detail_pages_stay_open(client, world, staff):
    client.force_login(staff["associate"])
    client.post(reverse("admin:switch_store"), {"location": world.cascais.pk})
    listing = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert world.pickup.number not in listing
    detail = client.get(reverse("admin:orders_order_change", args=[world.pickup.pk]))
    assert detail.status_code == 200


def test_an_administrator_may_show_every_store(client, world, staff):
    client.force_login(staff["admin"])
    client.post(reverse("admin:switch_store"), {"location": world.porto.pk})
    assert client.session[SESSION_KEY] == world.porto.pk
    client.post(reverse("admin:switch_store"), {"location": ""})
    assert SESSION_KEY not in client.session
    page = client.get(reverse("admin:index")).content.decode()
    assert "All stores" in page


def test_the_system_health_block_says_when_no_worker_has_beaten(client, staff):
    client.force_login(staff["admin"])
    page = client.get(reverse("admin:index")).content.decode()
    health = page.split('id="panel-health"')[1].split("</section>")[0]
    assert "no heartbeat yet" in health
    assert 'class="is-ok"><strong>Database' in health


def test_the_stock_lookup_draws_stock_by_location(client, world, staff):
    client.force_login(staff["associate"])
    page = client.get(
        reverse("admin:inventory_stocklookup_changelist"), {"q": world.sneaker.barcode}
    ).content.decode()
    chart = page.split('id="stock-chart"')[1].split("</svg>")[0]
    assert "Porto Baixa" in chart
    assert "Lisbon Chiado" in chart


def test_charts_scale_to_a_round_axis_and_escape_their_text():
    assert [nice_ceiling(v) for v in (0, 7, 13, 240, 999)] == [1, 10, 20, 250, 1000]
    svg = column_chart(
        ["01/11", "02/11"],
        [Series("Web <shop>", [10, 20]), Series("Store", [5, 0])],
        title="Sales & more",
    )
    assert svg.startswith("<svg")
    assert "Sales &amp; more" in svg
    assert "<shop>" not in svg
    assert svg.count("<rect") == 3 + 2  # three columns drawn, two legend keys
    bars = bar_chart([("Lisbon", 3), ("Porto", 0)], title="Stock", highlight="Lisbon")
    assert "#f2b134" in bars


def test_a_broken_block_leaves_the_rest_of_the_dashboard_working(client, staff, monkeypatch):
    from omni import dashboard

    def broken(request, location):
        raise RuntimeError("the campaigns database is down")

    monkeypatch.setitem(
        dashboard._PANELS,
        "broken",
        dashboard.Panel(
            name="broken",
            template="admin/omni/panels/table.html",
            context_fn=broken,
            title="Broken block",
            roles=frozenset(dashboard.PLANNER_ROLES),
            order=1,
            needs_store=False,
            wide=False,
        ),
    )
    client.force_login(staff["planner"])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "This block could not be loaded just now" in page
    assert 'id="panel-transfers"' in page
