from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from omni.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("omni.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("t/", include("campaigns.public")),
    path("favicon.ico", RedirectView.as_view(url=static("omni/favicon.svg"), permanent=True)),
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("", include("customers.public")),
]

handler400 = "omni.errors.handler400"
handler403 = "omni.errors.handler403"
handler404 = "omni.errors.handler404"
handler500 = "omni.errors.handler500"
