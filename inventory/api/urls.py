from rest_framework.routers import SimpleRouter

from inventory.api.stock import stock_urlpatterns

router = SimpleRouter()

urlpatterns = router.urls
urlpatterns += stock_urlpatterns
