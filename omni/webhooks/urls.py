from rest_framework.routers import SimpleRouter

from omni.webhooks import api

router = SimpleRouter()
router.register("webhooks/endpoints", api.EndpointViewSet, basename="webhook-endpoint")
router.register("webhooks/deliveries", api.DeliveryViewSet, basename="webhook-delivery")

urlpatterns = router.urls
