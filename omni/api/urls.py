"""`/api/v1/`: each app mounts its own routes here."""

from django.urls import include, path

from omni.views import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("", include("customers.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("omni.webhooks.urls")),
]
