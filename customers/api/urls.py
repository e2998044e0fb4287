from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api import views

router = SimpleRouter()
router.register("customers/merges", views.MergeViewSet, basename="customer-merge")
router.register("customers", views.CustomerViewSet, basename="customer")

customer = "customers/<uuid:public_id>/"

urlpatterns = [
    path("customers/resolve/", views.ResolveView.as_view(), name="customer-resolve"),
    path("customers/lookup/", views.LookupView.as_view(), name="customer-lookup"),
    path("customers/duplicates/", views.DuplicatesView.as_view(), name="customer-duplicates"),
    path("customers/sms-replies/", views.SmsReplyView.as_view(), name="customer-sms-replies"),
    path(
        "customers/merges/<int:pk>/unmerge/", views.UnmergeView.as_view(), name="customer-unmerge"
    ),
    path(f"{customer}identities/", views.IdentityListView.as_view(), name="customer-identities"),
    path(
        f"{customer}identities/<str:kind>/<path:value>/",
        views.IdentityDetailView.as_view(),
        name="customer-identity",
    ),
    path(f"{customer}consent/", views.ConsentView.as_view(), name="customer-consent"),
    path(f"{customer}preferences/", views.PreferencesView.as_view(), name="customer-preferences"),
    path(f"{customer}addresses/", views.AddressListView.as_view(), name="customer-addresses"),
    path(
        f"{customer}addresses/<int:pk>/",
        views.AddressDetailView.as_view(),
        name="customer-address",
    ),
    path(f"{customer}export/", views.ExportView.as_view(), name="customer-export"),
    path(f"{customer}erase/", views.EraseView.as_view(), name="customer-erase"),
    path(f"{customer}merge/", views.MergeView.as_view(), name="customer-merge-into"),
    *router.urls,
]

# engagement routes
from customers.api.engagement_urls import engagement_urlpatterns  # noqa: E402

urlpatterns += engagement_urlpatterns
