from django.urls import include, path

from omni.urls import urlpatterns as omni_urlpatterns

urlpatterns = [path("api/v1/", include("tests.omni.views")), *omni_urlpatterns]

handler404 = "omni.errors.handler404"
handler500 = "omni.errors.handler500"
