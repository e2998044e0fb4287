"""Small views that exercise the foundation's mechanisms in tests, apart from any app."""

import time

from django.urls import path
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import Location
from omni.auth import scope_to_locations
from omni.errors import Conflict, PreconditionFailed
from omni.idempotency import idempotent


class LocationIn(serializers.Serializer):
    code = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=120)
    pause = serializers.FloatField(required=False, default=0, min_value=0, max_value=5)


class CreateLocationView(APIView):
    """Writes one row; `pause` keeps the request running to test concurrency."""

    scope = "catalog"

    @idempotent(required=True)
    def post(self, request):
        data = LocationIn(data=request.data)
        data.is_valid(raise_exception=True)
        location = Location.objects.create(
            code=data.validated_data["code"], name=data.validated_data["name"]
        )
        time.sleep(data.validated_data["pause"])
        return Response({"id": location.pk, "code": location.code}, status=201)


class OptionalKeyView(APIView):
    scope = "catalog"

    @idempotent()
    def post(self, request):
        location = Location.objects.create(code=request.data["code"], name="x")
        return Response({"id": location.pk}, status=201)


class FailingWriteView(APIView):
    """Writes, then a rule refuses: the write must not survive."""

    scope = "catalog"

    @idempotent(required=True)
    def post(self, request):
        Location.objects.create(code=request.data["code"], name="half-done")
        raise Conflict("The shelf is already full.", shelf="A1")


class ScopedLocationsView(APIView):
    scope = "stock"

    def get(self, request, pk=None):
        queryset = scope_to_locations(Location.objects.all(), request.user, field="pk")
        if pk is not None:
            location = get_object_or_404(queryset, pk=pk)
            return Response({"id": location.pk, "code": location.code})
        return Response({"results": sorted(queryset.values_list("code", flat=True))})


class ErrorsView(APIView):
    """Raises whatever `kind` names, to check the error shape of each status."""

    def get(self, request, kind):
        if kind == "stale":
            raise PreconditionFailed(etag='"3"')
        if kind == "boom":
            raise RuntimeError("secret internals: password=hunter2")
        return Response(status=status.HTTP_204_NO_CONTENT)

    def post(self, request, kind):
        serializer = LocationIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("test/locations/", CreateLocationView.as_view()),
    path("test/optional/", OptionalKeyView.as_view()),
    path("test/failing/", FailingWriteView.as_view()),
    path("test/scoped/", ScopedLocationsView.as_view()),
    path("test/scoped/<int:pk>/", ScopedLocationsView.as_view()),
    path("test/errors/<str:kind>/", ErrorsView.as_view()),
]
