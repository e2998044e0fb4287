from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api import segments, views

router = SimpleRouter()
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("campaign-deliveries", views.DeliveryViewSet, basename="campaign-delivery")
router.register("segments", segments.SegmentViewSet, basename="segment")

urlpatterns = [
    path(
        "campaign-deliveries/receipts/",
        views.DeliveryReceiptView.as_view(),
        name="campaign-delivery-receipts",
    ),
    *router.urls,
]
