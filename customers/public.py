"""Pages customers reach without logging in: the one-click unsubscribe (RFC 8058).

GET shows a confirmation page (mail scanners follow links, so GET never unsubscribes);
POST unsubscribes, whether it comes from that page's button or from the mail client's
`List-Unsubscribe=One-Click` request. No cookies are involved, so CSRF does not apply:
the signed token in the URL is the credential.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from customers.errors import InvalidUnsubscribeLink
from customers.services.consent import read_unsubscribe_token, unsubscribe

app_name = "customers-public"

CHANNEL_NAMES = {
    "email": "emails",
    "sms": "text messages",
    "push": "push notifications",
    "phone": "phone calls",
    "post": "letters",
}


def _invalid(request) -> HttpResponse:
    return render(request, "customers/unsubscribe_invalid.html", status=400)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token: str) -> HttpResponse:
    try:
        link = read_unsubscribe_token(token)
    except InvalidUnsubscribeLink:
        return _invalid(request)
    context = {"channel": CHANNEL_NAMES.get(link.channel, link.channel), "token": token}
    if request.method == "GET":
        return render(request, "customers/unsubscribe_confirm.html", context)
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return render(request, "customers/unsubscribe_confirm.html", context, status=400)
    unsubscribe(token=token, ip_address=request.META.get("REMOTE_ADDR"))
    return render(request, "customers/unsubscribe_done.html", context)


urlpatterns = [
    path("u/<str:token>/", unsubscribe_view, name="unsubscribe"),
]
