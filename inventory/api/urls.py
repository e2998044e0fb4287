from rest_framework.routers import SimpleRouter

from inventory.api.availability import availability_urlpatterns
from inventory.api.catalog import catalog_urlpatterns
from inventory.api.stock import stock_urlpatterns
from inventory.api.transfers import transfer_urlpatterns

router = SimpleRouter()

urlpatterns = router.urls
urlpatterns += stock_urlpatterns
urlpatterns += catalog_urlpatterns + transfer_urlpatterns + availability_urlpatterns
