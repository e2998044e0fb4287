"""Campaign settings, each overridable in `omni/settings.py` or from the environment.

They are read on every use (not at import), so tests can change them with the `settings`
fixture.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings

DEFAULTS = {
    # Where tracking and unsubscribe links point (the public site, no trailing slash).
    "OMNI_PUBLIC_URL": os.environ.get("OMNI_PUBLIC_URL", "http://localhost:8000"),
    # The consent and preference lookups (see campaigns.audience).
    "OMNI_AUDIENCE_POLICY": os.environ.get(
        "OMNI_AUDIENCE_POLICY", "campaigns.audience.CustomersAudiencePolicy"
    ),
    "OMNI_SMS_BACKEND": os.environ.get(
        "OMNI_SMS_BACKEND", "campaigns.backends.console.ConsoleBackend"
    ),
    "OMNI_PUSH_BACKEND": os.environ.get(
        "OMNI_PUSH_BACKEND", "campaigns.backends.console.ConsoleBackend"
    ),
    # For the file backend: one JSON line per message in <dir>/<channel>.jsonl.
    "OMNI_OUTBOX_DIR": os.environ.get("OMNI_OUTBOX_DIR", ".omni/outbox"),
    # For the HTTP gateway backend.
    "OMNI_SMS_GATEWAY_URL": os.environ.get("OMNI_SMS_GATEWAY_URL", ""),
    "OMNI_SMS_GATEWAY_TOKEN": os.environ.get("OMNI_SMS_GATEWAY_TOKEN", ""),
    "OMNI_PUSH_GATEWAY_URL": os.environ.get("OMNI_PUSH_GATEWAY_URL", ""),
    "OMNI_PUSH_GATEWAY_TOKEN": os.environ.get("OMNI_PUSH_GATEWAY_TOKEN", ""),
    "OMNI_GATEWAY_TIMEOUT_SECONDS": float(os.environ.get("OMNI_GATEWAY_TIMEOUT_SECONDS", "10")),
    # Marketing frequency caps per channel across all campaigns (rolling windows).
    "OMNI_FREQUENCY_CAPS": {
        "email": timedelta(hours=int(os.environ.get("OMNI_EMAIL_CAP_HOURS", "16"))),
        "sms": timedelta(hours=int(os.environ.get("OMNI_SMS_CAP_HOURS", "24"))),
    },
    # Channels on which quiet hours hold messages back.
    "OMNI_QUIET_HOURS_CHANNELS": ("sms", "push"),
    # Recipients per send task.
    "OMNI_SEND_BATCH_SIZE": int(os.environ.get("OMNI_SEND_BATCH_SIZE", "500")),
    # Messages a second each worker process hands to providers at most (0: no cap). Keeps
    # a large send from taking the database away from the tills, and stays under a
    # provider's own rate limit.
    "OMNI_SEND_RATE_PER_WORKER": float(os.environ.get("OMNI_SEND_RATE_PER_WORKER", "0")),
    # A claimed batch whose worker died is handed out again after this long.
    "OMNI_STALE_CLAIM_AFTER": timedelta(minutes=10),
    # A queued delivery handed out this long ago whose task never claimed it is handed out
    # again (a little over the Redis broker's one-hour visibility timeout).
    "OMNI_STALE_QUEUE_AFTER": timedelta(minutes=65),
    # Channels where a withdrawn consent stops transactional messages too (an SMS STOP
    # must stop every SMS); elsewhere order and pickup updates still go.
    "OMNI_HARD_OPT_OUT_CHANNELS": ("sms",),
    # Never promote a discount on a product the customer bought at full price this recently.
    "OMNI_FULL_PRICE_WINDOW": timedelta(
        days=int(os.environ.get("OMNI_FULL_PRICE_WINDOW_DAYS", "30"))
    ),
    # Enrolments advanced per transaction by the journey tick, and the pause after a
    # step failed before it is tried again.
    "OMNI_JOURNEY_BATCH_SIZE": int(os.environ.get("OMNI_JOURNEY_BATCH_SIZE", "200")),
    "OMNI_JOURNEY_RETRY_AFTER": timedelta(minutes=5),
    "OMNI_JOURNEY_MAX_ATTEMPTS": 5,
    # Recommendations: how far back best-sellers and bought-together are counted.
    "OMNI_RECOMMENDATION_WINDOW": timedelta(days=180),
    # Attribution windows: an order is credited to the last message the customer clicked
    # within the click window or opened within the open window before ordering. SMS and
    # push report no opens, so their receipt (or send) counts as the open.
    "OMNI_ATTRIBUTION_CLICK_WINDOW": timedelta(
        hours=float(os.environ.get("OMNI_ATTRIBUTION_CLICK_HOURS", "120"))
    ),
    "OMNI_ATTRIBUTION_OPEN_WINDOW": timedelta(
        hours=float(os.environ.get("OMNI_ATTRIBUTION_OPEN_HOURS", "24"))
    ),
    # Customers kept out of all marketing, by a stable hash of their ID (0 = none).
    "OMNI_GLOBAL_HOLDOUT_PERCENT": float(os.environ.get("OMNI_GLOBAL_HOLDOUT_PERCENT", "0")),
    # Changing the salt draws a new global holdout group.
    "OMNI_GLOBAL_HOLDOUT_SALT": os.environ.get("OMNI_GLOBAL_HOLDOUT_SALT", "omni-global-holdout"),
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
