"""A demo campaign for marketers to open (a draft with a variant on every channel), a few
demo segments and the four journeys: welcome, abandoned cart, post-purchase (with its
review request), win-back."""

from campaigns.journey_seed import ensure_journeys
from campaigns.models import Campaign, Segment
from campaigns.segmentation.services import create_segment
from campaigns.services.editing import create_campaign, set_message
from inventory.models import Category

DEMO_NAME = "Spring collection"


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
    if Campaign.objects.filter(name=DEMO_NAME).exists() and not force:
        stdout.write("campaigns: demo campaign already there")
        return
    campaign = create_campaign(
        name=DEMO_NAME, channels=["push", "sms", "email"], goal=Campaign.Goal.REVENUE
    )
    set_message(
        campaign=campaign,
        variants={
            "email": {
                "subject": "{{ first_name }}, the spring collection is in",
                "preheader": "New arrivals at {{ preferred_store|default:'our stores' }}",
                "html": (
                    "<html><body><h1>Hello {{ first_name }}</h1>"
                    "<p>Light jackets, trail runners and linen shirts have arrived.</p>"
                    '<p><a href="https://shop.example.com/spring">Shop the collection</a></p>'
                    '<p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>'
                    "</body></html>"
                ),
                "text": "Hello {{ first_name }}, the spring collection is in: "
                "https://shop.example.com/spring",
            },
            "sms": {"text": "{{ first_name }}, spring arrivals are in store now. STOP to opt out"},
            "push": {
                "title": "Spring is here",
                "body": "{{ first_name }}, new arrivals in your size",
                "deep_link": "omni://collections/spring",
            },
        },
    )
    stdout.write("campaigns: demo campaign created")
