from rest_framework.routers import SimpleRouter

from inventory.api.availability import availability_urlpatterns
from inventory.api.catalog import catalog_urlpatterns
from inventory.api.transfers import transfer_urlpatterns

router = SimpleRouter()

urlpatterns = router.urls
urlpatterns += catalog_urlpatterns + transfer_urlpatterns + availability_urlpatterns
