from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api import journeys, segments, views

router = SimpleRouter()
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("campaign-deliveries", views.DeliveryViewSet, basename="campaign-delivery")
router.register("segments", segments.SegmentViewSet, basename="segment")
router.register("journeys", journeys.JourneyViewSet, basename="journey")
router.register("journey-enrollments", journeys.EnrollmentViewSet, basename="journey-enrollment")

urlpatterns = [
    path(
        "campaign-deliveries/receipts/",
        views.DeliveryReceiptView.as_view(),
        name="campaign-delivery-receipts",
    ),
    path(
        "customers/<str:public_id>/recommendations/",
        journeys.CustomerRecommendationsView.as_view(),
        name="customer-recommendations",
    ),
    *router.urls,
]
