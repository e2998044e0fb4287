"""What the bench server adds to Omni: a bare DRF endpoint that touches no database, to
measure the framework's own cost per request (`GET /bench/bare/`)."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from omni.urls import urlpatterns as omni_urlpatterns


class BareView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("bench/bare/", BareView.as_view()), *omni_urlpatterns]
