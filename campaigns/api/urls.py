from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api import experiments, journeys, segments, views

router = SimpleRouter()
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("campaign-deliveries", views.DeliveryViewSet, basename="campaign-delivery")
router.register("segments", segments.SegmentViewSet, basename="segment")
router.register("journeys", journeys.JourneyViewSet, basename="journey")
router.register("journey-enrollments", journeys.EnrollmentViewSet, basename="journey-enrollment")

urlpatterns = [
    path(
        "campaigns/<uuid:public_id>/schedule/",
        experiments.CampaignScheduleView.as_view(),
        name="campaign-schedule",
    ),
    path(
        "campaigns/<uuid:public_id>/experiment/",
        experiments.CampaignExperimentView.as_view(),
        name="campaign-experiment",
    ),
    path(
        "campaigns/<uuid:public_id>/experiment/decide/",
        experiments.ExperimentDecisionView.as_view(),
        name="campaign-experiment-decide",
    ),
    path(
        "campaigns/<uuid:public_id>/experiment/send-winner/",
        experiments.ExperimentWinnerSendView.as_view(),
        name="campaign-experiment-send-winner",
    ),
    path(
        "campaigns/<uuid:public_id>/report/",
        experiments.CampaignReportView.as_view(),
        name="campaign-report",
    ),
    path(
        "campaign-reports/channel-mix/",
        experiments.ChannelMixReportView.as_view(),
        name="campaign-report-channel-mix",
    ),
    path(
        "campaign-calendar/",
        experiments.CampaignCalendarView.as_view(),
        name="campaign-calendar",
    ),
    path(
        "campaign-attribution/recompute/",
        experiments.AttributionRecomputeView.as_view(),
        name="campaign-attribution-recompute",
    ),
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
