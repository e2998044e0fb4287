from rest_framework.routers import SimpleRouter

router = SimpleRouter()

urlpatterns = router.urls

from customers.api.engagement_urls import engagement_urlpatterns  # noqa: E402

urlpatterns += engagement_urlpatterns
