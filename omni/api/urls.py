"""`/api/v1/`: each app's routes, in one flat list.

Splatting each app's `urlpatterns` here, rather than `include()`-ing each under "", keeps
URL resolution to one pass over one list: an include that does not match raises and
records every route it tried before the next is looked at, a cost every request paid
again for each app ahead of its own.
"""

from django.urls import path

from campaigns.api.urls import urlpatterns as campaign_urls
from customers.api.urls import urlpatterns as customer_urls
from inventory.api.urls import urlpatterns as inventory_urls
from omni.views import MeView
from omni.webhooks.urls import urlpatterns as webhook_urls
from orders.api.urls import urlpatterns as order_urls

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    *customer_urls,
    *inventory_urls,
    *order_urls,
    *campaign_urls,
    *webhook_urls,
]
