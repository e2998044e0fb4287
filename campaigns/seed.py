"""Demo data for marketers: a few segments, the four journeys (welcome, abandoned cart,
post-purchase with its review request, win-back), a draft campaign with a variant on
every channel, three campaigns already sent (deliveries with opens and clicks around the
demo customers' real orders, a holdout group, an A/B test) with their orders credited by
the attribution rule, and scheduled ones (a one-time send, a local-time send and a weekly
newsletter) on the calendar."""

from __future__ import annotations

import datetime
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from campaigns.journey_seed import ensure_journeys
from campaigns.models import Assignment, Campaign, Delivery, Segment
from campaigns.segmentation.services import create_segment
from campaigns.services.attribution import recompute_attributions
from campaigns.services.editing import create_campaign, set_message
from campaigns.services.experiments import assign, decide_experiment, set_experiment
from campaigns.services.scheduling import schedule_campaign
from customers.models import Customer
from inventory.models import Category
from orders.models import Order

DEMO_NAME = "Spring collection"
RESULTS_MARKER = "Weekend trail sale"

EMAIL = {
    "subject": "{{ first_name }}, the spring collection is in",
    "preheader": "New arrivals at {{ preferred_store|default:'our stores' }}",
    "html": (
        "<html><body><h1>Hello {{ first_name }}</h1>"
        "<p>Light jackets, trail runners and linen shirts have arrived.</p>"
        '<p><a href="https://shop.example.com/spring">Shop the collection</a></p>'
        '<p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>'
        "</body></html>"
    ),
    "text": "Hello {{ first_name }}, the spring collection is in: https://shop.example.com/spring",
}
SMS = {"text": "{{ first_name }}, spring arrivals are in store now. STOP to opt out"}
PUSH = {
    "title": "Spring is here",
    "body": "{{ first_name }}, new arrivals in your size",
    "deep_link": "omni://collections/spring",
}


DEMO_SEGMENTS = [
    (
        "Loyal customers reachable by email",
        "VIP and active customers who agreed to marketing email.",
        {
            "all": [
                {"field": "lifecycle_stage", "op": "in", "value": ["vip", "active"]},
                {"field": "consent", "op": "has", "value": "email"},
            ]
        },
    ),
    (
        "Footwear buyers, last 90 days, nothing returned",
        "Bought in Footwear (any subcategory) in the last 90 days and returned nothing since.",
        {
            "all": [
                {"field": "bought_category", "op": "has", "value": "footwear", "within_days": 90},
                {"field": "returned", "op": "has_not", "within_days": 90},
                {"field": "consent", "op": "has", "value": "email"},
            ]
        },
    ),
    (
        "App users in Lisbon or Porto",
        "Have the app and live in Lisbon or Porto: for push campaigns.",
        {
            "all": [
                {"field": "app_installed", "op": "is", "value": True},
                {"field": "city", "op": "in", "value": ["Lisboa", "Lisbon", "Porto"]},
            ]
        },
    ),
    (
        "Win-back: no order for 6 months",
        "Bought before, but not in the last 180 days.",
        {
            "all": [
                {"field": "order_count", "op": "gte", "value": 1},
                {"field": "last_order_date", "op": "not_within_last_days", "value": 180},
            ]
        },
    ),
]
STATIC_DEMO = ("Launch party guests", "Upload the guest list (CSV by email) before the event.")


def seed_segments(*, stdout) -> None:
    """The demo segments, each once; one that names a category the catalogue lacks is
    left out."""
    made = 0
    for name, description, rules in DEMO_SEGMENTS:
        if Segment.objects.filter(name=name).exists():
            continue
        if "Footwear" in name and not Category.objects.filter(slug="footwear").exists():
            continue
        create_segment(name=name, description=description, rules=rules)
        made += 1
    name, description = STATIC_DEMO
    if not Segment.objects.filter(name=name).exists():
        create_segment(name=name, description=description, kind=Segment.Kind.STATIC)
        made += 1
    stdout.write(f"campaigns: {made} demo segments created")


def seed(*, stdout, force: bool = False) -> None:
    seed_segments(stdout=stdout)
    journeys = ensure_journeys()
    stdout.write(f"campaigns: {len(journeys)} journeys ready")
    if not Campaign.objects.filter(name=DEMO_NAME).exists() or force:
        campaign = create_campaign(
            name=DEMO_NAME, channels=["push", "sms", "email"], goal=Campaign.Goal.REVENUE
        )
        set_message(campaign=campaign, variants={"email": EMAIL, "sms": SMS, "push": PUSH})
        stdout.write("campaigns: demo campaign created")
    else:
        stdout.write("campaigns: demo campaign already there")
    if Campaign.objects.filter(name=RESULTS_MARKER).exists() and not force:
        stdout.write("campaigns: demo results already there")
        return
    with transaction.atomic():
        credited = _seed_results()
    stdout.write(f"campaigns: demo results seeded ({credited} orders credited)")


def _seed_results() -> int:
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
    now = timezone.now().replace(second=0, microsecond=0)
    customers = Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
    _sent_campaign(
        rng,
        name="Easter weekend: all channels",
        channels=["push", "sms", "email"],
        sent_at=now - timedelta(days=19, hours=3),
        holdout=10,
        customers=customers,
        click_share=0.6,
    )
    trail = _sent_campaign(
        rng,
        name=RESULTS_MARKER,
        channels=["email"],
        sent_at=now - timedelta(days=9, hours=5),
        holdout=10,
        customers=customers,
        click_share=0.5,
        arms=True,
    )
    _sent_campaign(
        rng,
        name="Double loyalty points",
        channels=["sms", "email"],
        sent_at=now - timedelta(days=4, hours=2),
        holdout=15,
        customers=customers,
        click_share=0.35,
    )
    first_order = Order.objects.order_by("placed_at").values_list("placed_at", flat=True).first()
    credited = recompute_attributions(since=first_order or now - timedelta(days=400), until=now)
    decide_experiment(campaign=trail, now=now)
    autumn = create_campaign(name="Autumn preview", channels=["email", "sms"])
    set_message(campaign=autumn, variants={"email": EMAIL, "sms": SMS})
    schedule_campaign(
        campaign=autumn,
        mode="local_time",
        local_date=(now + timedelta(days=6)).date(),
        local_time=datetime.time(9, 0),
        now=now,
    )
    newsletter = create_campaign(name="Monday newsletter", channels=["email"])
    set_message(campaign=newsletter, variants={"email": EMAIL})
    schedule_campaign(
        campaign=newsletter,
        mode="recurring",
        cron="0 9 * * mon",
        timezone_name="Europe/Lisbon",
        now=now,
    )
    flash = create_campaign(name="Flash sale: trail runners", channels=["push", "email"])
    set_message(campaign=flash, variants={"email": EMAIL, "push": PUSH})
    schedule_campaign(campaign=flash, mode="at", send_at=now + timedelta(days=2, hours=3), now=now)
    return credited


def _sent_campaign(
    rng, *, name, channels, sent_at, holdout, customers, click_share, arms=False
) -> Campaign:
    """A campaign as it looks after sending: customers assigned (holdout included) by the
    real SQL draw, and deliveries whose opens and clicks fall before some of the
    customers' real orders, so attribution credits them by its own rule."""
    campaign = create_campaign(
        name=name, channels=channels, goal=Campaign.Goal.REVENUE, holdout_percent=holdout
    )
    variants = {"email": EMAIL, "sms": SMS, "push": PUSH}
    set_message(campaign=campaign, variants={c: variants[c] for c in channels})
    if arms:
        set_experiment(
            campaign=campaign,
            arms=[
                {"key": "A", "name": "Plain subject", "split_percent": 50},
                {"key": "B", "name": "Emoji subject", "split_percent": 50},
            ],
        )
        set_message(
            campaign=campaign,
            step_key="main/B",
            variants={"email": {**EMAIL, "subject": "🏃 {{ first_name }}, trail runners -20%"}},
        )
    assign(campaign=campaign, customers=customers, now=sent_at)
    treated = list(
        Assignment.objects.filter(campaign=campaign, group=Assignment.Group.TREATMENT)
        .select_related("arm")
        .values_list("customer_id", "arm__key")
    )
    next_orders = {}
    for customer_id, placed_at in (
        Order.objects.filter(
            customer_id__in=[c for c, _ in treated],
            placed_at__gt=sent_at,
            placed_at__lt=sent_at + timedelta(days=5),
        )
        .order_by("-placed_at")
        .values_list("customer_id", "placed_at")
    ):
        next_orders[customer_id] = placed_at
    rows = []
    for customer_id, arm in treated:
        channel = rng.choice(channels)
        sent = sent_at + timedelta(minutes=rng.randint(0, 40))
        order_at = next_orders.get(customer_id)
        # Arm B's subject did better in the demo.
        share = click_share + (0.25 if arm == "B" else 0)
        opened = clicked = None
        if order_at and order_at > sent and rng.random() < share:
            clicked = sent + (order_at - sent) * rng.uniform(0.2, 0.9)
            opened = clicked
        elif rng.random() < 0.35:
            opened = sent + timedelta(minutes=rng.randint(5, 600))
            if rng.random() < 0.3:
                clicked = opened + timedelta(minutes=rng.randint(1, 30))
        if channel != "email" and not clicked:
            opened = None
        state = "clicked" if clicked else "opened" if opened else "delivered"
        rows.append(
            Delivery(
                campaign=campaign,
                customer_id=customer_id,
                channel=channel,
                address=f"demo-{channel}-{customer_id}",
                state=state,
                queued_at=sent_at,
                sent_at=sent,
                delivered_at=sent + timedelta(seconds=20),
                opened_at=opened,
                clicked_at=clicked,
            )
        )
    Delivery.objects.bulk_create(rows)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.SENT, started_at=sent_at, finished_at=sent_at + timedelta(hours=1)
    )
    campaign.refresh_from_db()
    return campaign
