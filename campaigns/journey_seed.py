"""The four journeys a retailer starts with, their messages and the offers they issue.

`ensure_journeys()` makes whatever is missing and leaves what exists (and any edits a
marketer made) alone; `campaigns.seed` calls it for the demo.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from campaigns.journey_models import Journey
from campaigns.models import Campaign
from campaigns.services.editing import create_campaign, set_message
from campaigns.services.journeys import set_steps
from orders.models import Promotion
from orders.services.promotions import ensure_promotion

FOOTER = '<p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>'

RECOMMENDED = (
    "{% if context.recommendations %}<h2>Picked for you</h2><ul>"
    "{% for item in context.recommendations %}<li>{{ item.name }}, {{ item.price }} "
    "{{ item.currency }}{% if not item.in_stock %} (back soon){% endif %}</li>{% endfor %}"
    "</ul>{% endif %}"
)

CART_TABLE = (
    "<table>{% for line in context.cart.lines %}<tr><td>{{ line.name }}</td>"
    "<td>{{ line.quantity }} × {{ line.price }} {{ line.currency }}</td><td>"
    "{% if line.only_left %}Only {{ line.only_left }} left"
    "{% elif line.stock_status == 'out_of_stock' %}Sold out online for now"
    "{% else %}In stock{% endif %}</td></tr>{% endfor %}</table>"
)


def _email(subject: str, body: str, text: str) -> dict:
    return {
        "subject": subject,
        "html": f"<html><body>{body}{FOOTER}</body></html>",
        "text": text,
    }


def _push(title: str, body: str, link: str) -> dict:
    return {"title": title, "body": body, "deep_link": link}


JOURNEYS = [
    {
        "key": "welcome",
        "name": "Welcome",
        "trigger": Journey.Trigger.SIGNUP,
        "trigger_after": None,
        "promotion": ("Welcome gift €5", Promotion.Kind.AMOUNT, Decimal("5")),
        "messages": {
            "welcome": {
                "email": _email(
                    "Welcome, {{ first_name }}: a gift for your first order",
                    "<h1>Welcome, {{ first_name }}</h1><p>Here is a small gift: "
                    "<strong>{{ context.discount.code }}</strong> takes "
                    "{{ context.discount.label }} off your first order, online or in store, "
                    "until {{ context.discount.expires_at|slice:':10' }}.</p>"
                    "{% if context.store.name %}<p>Your store: {{ context.store.name }}.</p>"
                    "{% endif %}",
                    "Welcome, {{ first_name }}. Your gift code {{ context.discount.code }} "
                    "takes {{ context.discount.label }} off your first order.",
                ),
                "push": _push(
                    "Welcome, {{ first_name }}",
                    "{{ context.discount.label }} off with {{ context.discount.code }}",
                    "omni://welcome",
                ),
            },
            "follow_up": {
                "email": _email(
                    "{{ first_name }}, what our customers love",
                    "<p>Hello {{ first_name }}, a few favourites to start with.</p>" + RECOMMENDED,
                    "Hello {{ first_name }}, see our favourites at https://shop.example.com",
                ),
                "push": _push(
                    "Our favourites", "{{ first_name }}, see what is popular", "omni://popular"
                ),
            },
        },
        "steps": [
            {"kind": "send", "message_key": "welcome", "promotion": True, "code_valid_days": 30},
            {"kind": "wait", "wait": timedelta(days=3)},
            {"kind": "exit_when", "rule": "purchased_since_trigger"},
            {"kind": "send", "message_key": "follow_up"},
        ],
    },
    {
        "key": "abandoned-cart",
        "name": "Abandoned cart",
        "trigger": Journey.Trigger.CART_IDLE,
        "trigger_after": timedelta(minutes=30),
        "promotion": ("Abandoned cart 10%", Promotion.Kind.PERCENTAGE, Decimal("10")),
        "messages": {
            "reminder": {
                "email": _email(
                    "{{ first_name }}, your cart is waiting",
                    "<h1>Still thinking it over?</h1>" + CART_TABLE + RECOMMENDED + "<p><a "
                    'href="https://shop.example.com/cart">Back to your cart</a></p>',
                    "{{ first_name }}, your cart is waiting: https://shop.example.com/cart",
                ),
                "push": _push(
                    "Your cart is waiting",
                    "{% for line in context.cart.lines %}{{ line.name }}"
                    "{% if line.only_left %} (only {{ line.only_left }} left)"
                    "{% endif %}{% if not forloop.last %}, {% endif %}{% endfor %}",
                    "omni://cart",
                ),
            },
            "code": {
                "email": _email(
                    "10% off your cart, {{ first_name }}",
                    "<h1>10% off, just for you</h1><p>Use <strong>{{ context.discount.code }}"
                    "</strong> by {{ context.discount.expires_at|slice:':10' }}. It works once."
                    "</p><ul>{% for line in context.cart.lines %}{% if line.discounted %}"
                    "<li>{{ line.name }}{% if line.only_left %}: only {{ line.only_left }} "
                    "left{% endif %}</li>{% endif %}{% endfor %}</ul>"
                    '<p><a href="https://shop.example.com/cart">Check out</a></p>',
                    "Use {{ context.discount.code }} for 10% off your cart.",
                ),
                "push": _push(
                    "10% off your cart",
                    "Code {{ context.discount.code }}, valid 7 days",
                    "omni://cart",
                ),
            },
        },
        "steps": [
            {"kind": "exit_when", "rule": "cart_items_bought"},
            {"kind": "exit_when", "rule": "cart_closed"},
            {"kind": "exit_when", "rule": "cart_active_again"},
            {"kind": "wait", "wait": timedelta(hours=1)},
            {"kind": "send", "message_key": "reminder"},
            {"kind": "wait", "wait": timedelta(hours=23)},
            {"kind": "send", "message_key": "code", "promotion": True, "code_valid_days": 7},
        ],
    },
    {
        "key": "post-purchase",
        "name": "Post-purchase",
        "trigger": Journey.Trigger.PURCHASE,
        "trigger_after": None,
        "promotion": None,
        "messages": {
            "thank_you": {
                "email": _email(
                    "Thank you for your order, {{ first_name }}",
                    "<p>Thank you for order {{ context.order.number }}, {{ first_name }}.</p>",
                    "Thank you for order {{ context.order.number }}.",
                ),
                "push": _push("Thank you", "Order {{ context.order.number }}", "omni://orders"),
            },
            "cross_sell": {
                "email": _email(
                    "{{ first_name }}, goes well with your order",
                    "<p>Customers who bought what you bought also chose:</p>" + RECOMMENDED,
                    "Customers who bought what you bought also chose a few things.",
                ),
                "push": _push(
                    "Goes well with your order", "See what others chose", "omni://recommended"
                ),
            },
        },
        "steps": [
            {"kind": "exit_when", "rule": "order_cancelled"},
            {"kind": "send", "message_key": "thank_you"},
            {"kind": "wait", "wait": timedelta(days=21)},
            {"kind": "send", "message_key": "cross_sell"},
        ],
    },
    {
        "key": "review-request",
        "name": "Post-purchase review request",
        "trigger": Journey.Trigger.DELIVERED_OR_COLLECTED,
        "trigger_after": None,
        "promotion": None,
        "messages": {
            "review": {
                "email": _email(
                    "How was your order, {{ first_name }}?",
                    "<p>How happy are you with order {{ context.order.number }}? <a href="
                    '"https://shop.example.com/orders/{{ context.order.number }}/review">'
                    "Rate it from 1 to 5</a>.</p>",
                    "Rate order {{ context.order.number }}: "
                    "https://shop.example.com/orders/{{ context.order.number }}/review",
                ),
                "push": _push(
                    "How was it?", "Rate order {{ context.order.number }}", "omni://feedback"
                ),
            },
        },
        "steps": [
            {"kind": "wait", "wait": timedelta(days=2)},
            {"kind": "condition", "rule": "order_not_cancelled"},
            {"kind": "send", "message_key": "review"},
        ],
    },
    {
        "key": "win-back",
        "name": "Win-back",
        "trigger": Journey.Trigger.NO_PURCHASE_FOR_DAYS,
        "trigger_after": timedelta(days=90),
        "promotion": ("Win-back 15%", Promotion.Kind.PERCENTAGE, Decimal("15")),
        "messages": {
            "come_back": {
                "email": _email(
                    "We miss you, {{ first_name }}",
                    "<p>It has been a while. <strong>{{ context.discount.code }}</strong> "
                    "takes {{ context.discount.label }} off, until "
                    "{{ context.discount.expires_at|slice:':10' }}.</p>" + RECOMMENDED,
                    "We miss you: {{ context.discount.code }} takes "
                    "{{ context.discount.label }} off.",
                ),
                "push": _push(
                    "We miss you",
                    "{{ context.discount.label }} off with {{ context.discount.code }}",
                    "omni://home",
                ),
            },
        },
        "steps": [
            {"kind": "exit_when", "rule": "purchased_since_trigger"},
            {"kind": "send", "message_key": "come_back", "promotion": True, "code_valid_days": 14},
        ],
    },
]


def ensure_journey(spec: dict, *, active: bool = True) -> tuple[Journey, bool]:
    """Make one journey of `JOURNEYS` (by key) if it is missing."""
    existing = Journey.objects.filter(key=spec["key"]).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        campaign = create_campaign(
            name=f"Journey: {spec['name']}",
            channels=["push", "email"],
            kind=Campaign.Kind.JOURNEY_STEP,
        )
        for step_key, variants in spec["messages"].items():
            set_message(campaign=campaign, variants=variants, step_key=step_key)
        campaign.messages.filter(step_key="main").delete()
        journey = Journey.objects.create(
            key=spec["key"],
            name=spec["name"],
            trigger=spec["trigger"],
            trigger_after=spec["trigger_after"],
            active=active,
            campaign=campaign,
        )
        promotion = None
        if spec["promotion"]:
            name, kind, value = spec["promotion"]
            promotion = ensure_promotion(name=name, kind=kind, value=value)
        set_steps(
            journey=journey,
            steps=[
                {**step, "promotion": promotion if step.get("promotion") else None}
                for step in spec["steps"]
            ],
        )
    return journey, True


def ensure_journeys(*, active: bool = True) -> list[Journey]:
    return [ensure_journey(spec, active=active)[0] for spec in JOURNEYS]
