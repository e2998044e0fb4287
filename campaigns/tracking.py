"""Signed tracking links: an open pixel and click-through redirects.

Tokens are `django.core.signing` values (HMAC with SECRET_KEY), so a link can only record
an event for the delivery it was made for and only redirect to the URL it was made with —
the click endpoint is not an open redirect.
"""

from __future__ import annotations

import re

from django.core import signing
from django.urls import reverse
from django.utils.html import escape

from campaigns import conf

OPEN_SALT = "campaigns.open"
CLICK_SALT = "campaigns.click"

_HREF = re.compile(r"""href=(["'])(https?://[^"']+)\1""", re.IGNORECASE)


def open_token(delivery_id: int) -> str:
    return signing.dumps({"d": delivery_id}, salt=OPEN_SALT, compress=True)


def click_token(delivery_id: int, url: str) -> str:
    return signing.dumps({"d": delivery_id, "u": url}, salt=CLICK_SALT, compress=True)


def read_open_token(token: str) -> int:
    """The delivery id; raises signing.BadSignature when tampered."""
    return int(signing.loads(token, salt=OPEN_SALT)["d"])


def read_click_token(token: str) -> tuple[int, str]:
    payload = signing.loads(token, salt=CLICK_SALT)
    return int(payload["d"]), str(payload["u"])


def open_pixel_url(delivery_id: int) -> str:
    path = reverse("campaigns-tracking:open", args=[open_token(delivery_id)])
    return conf.get("OMNI_PUBLIC_URL") + path


def click_url(delivery_id: int, url: str) -> str:
    path = reverse("campaigns-tracking:click", args=[click_token(delivery_id, url)])
    return conf.get("OMNI_PUBLIC_URL") + path


def add_tracking(html: str, *, delivery_id: int, keep: frozenset[str] = frozenset()) -> str:
    """Wrap every http(s) link in a signed click-through and add the open pixel. Links in
    `keep` (the unsubscribe link) stay as they are."""

    def wrap(match: re.Match) -> str:
        quote, url = match.group(1), match.group(2)
        original = url.replace("&amp;", "&")
        if original in keep:
            return match.group(0)
        return f"href={quote}{escape(click_url(delivery_id, original))}{quote}"

    html = _HREF.sub(wrap, html)
    pixel = (
        f'<img src="{escape(open_pixel_url(delivery_id))}" width="1" height="1" alt="" '
        'style="display:block;border:0" />'
    )
    closing = html.lower().rfind("</body>")
    if closing == -1:
        return html + pixel
    return html[:closing] + pixel + html[closing:]
