"""Tracking endpoints customers' mail clients reach without logging in (outside /api/).

A tampered or unknown token records nothing: the pixel answers the GIF anyway (a broken
image helps nobody), the click answers 404 because there is nowhere safe to send it.
"""

from __future__ import annotations

import base64

from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from campaigns.services.events import record_click, record_open
from campaigns.tracking import read_click_token, read_open_token

app_name = "campaigns-tracking"

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@never_cache
@require_GET
def open_pixel(request, token: str) -> HttpResponse:
    try:
        delivery_id = read_open_token(token)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        delivery_id = None
    if delivery_id is not None:
        record_open(delivery_id=delivery_id)
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def click(request, token: str) -> HttpResponse:
    try:
        delivery_id, url = read_click_token(token)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404("Unknown link.") from None
    if not url.startswith(("http://", "https://")):
        raise Http404("Unknown link.")
    record_click(delivery_id=delivery_id)
    return HttpResponseRedirect(url)


urlpatterns = [
    path("o/<str:token>.gif", open_pixel, name="open"),
    path("c/<str:token>", click, name="click"),
]
