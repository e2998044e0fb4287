"""A demo campaign for marketers to open (a draft with a variant on every channel) and the
four journeys: welcome, abandoned cart, post-purchase (with its review request), win-back."""

from campaigns.journey_seed import ensure_journeys
from campaigns.models import Campaign
from campaigns.services.editing import create_campaign, set_message

DEMO_NAME = "Spring collection"


def seed(*, stdout, force: bool = False) -> None:
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
