"""Routes of the engagement API, included from `customers/api/urls.py`."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api import engagement as views

router = SimpleRouter()
router.register("cases", views.CaseViewSet, basename="case")
router.register("feedback", views.FeedbackViewSet, basename="feedback")

engagement_urlpatterns = [
    path(
        "customers/<uuid:public_id>/loyalty/",
        views.LoyaltySummaryView.as_view(),
        name="customer-loyalty",
    ),
    path(
        "customers/<uuid:public_id>/loyalty/entries/",
        views.LoyaltyEntryListView.as_view(),
        name="customer-loyalty-entries",
    ),
    path(
        "customers/<uuid:public_id>/loyalty/earn/",
        views.LoyaltyEarnView.as_view(),
        name="customer-loyalty-earn",
    ),
    path(
        "customers/<uuid:public_id>/loyalty/redeem/",
        views.LoyaltyRedeemView.as_view(),
        name="customer-loyalty-redeem",
    ),
    path(
        "customers/<uuid:public_id>/loyalty/adjust/",
        views.LoyaltyAdjustView.as_view(),
        name="customer-loyalty-adjust",
    ),
    path(
        "customers/<uuid:public_id>/timeline/",
        views.TimelineView.as_view(),
        name="customer-timeline",
    ),
    path(
        "customers/<uuid:public_id>/metrics/",
        views.MetricsView.as_view(),
        name="customer-metrics",
    ),
    path("events/batch/", views.EventBatchView.as_view(), name="event-batch"),
    *router.urls,
]
