"""Locations, categories, brands, products and SKUs. Integrations with `catalog:write`
create and update them; anyone with `catalog:read` or `stock:read` reads them."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from inventory.api.permissions import CatalogAccess
from inventory.models import Brand, Category, Location, Product, Sku
from inventory.services import catalog
from omni.concurrency import ConditionalUpdateMixin
from omni.idempotency import idempotent

# --- serializers ---------------------------------------------------------------------------


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "is_active",
            "address_line",
            "city",
            "region",
            "postcode",
            "country",
            "latitude",
            "longitude",
            "time_zone",
            "opening_hours",
            "sells_in_store",
            "offers_click_and_collect",
            "offers_curbside",
            "ships_to_customers",
            "accepts_returns",
            "pickup_hold_days",
        ]
        read_only_fields = ["id"]
        # Duplicates are the service's 409, not a 400 from DRF's unique validator.
        extra_kwargs = {
            "code": {"validators": []},
            "latitude": {"min_value": -90, "max_value": 90},
            "longitude": {"min_value": -180, "max_value": 180},
        }

    def validate_time_zone(self, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError("Unknown time zone.") from None
        return value


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent"]
        extra_kwargs = {"slug": {"validators": []}}


class BrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name"]
        extra_kwargs = {"name": {"validators": []}}


class SkuSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", queryset=Product.objects.all())
    product_name = serializers.CharField(source="product.name", read_only=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )

    class Meta:
        model = Sku
        fields = [
            "id",
            "code",
            "barcode",
            "product",
            "product_name",
            "name",
            "attributes",
            "price",
            "currency",
            "cost",
            "is_active",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {"code": {"validators": []}, "barcode": {"validators": []}}


class SkuUpdateSerializer(SkuSerializer):
    class Meta(SkuSerializer.Meta):
        read_only_fields = ["id", "code", "product"]


class ProductSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )
    brand = serializers.SlugRelatedField(
        slug_field="name", queryset=Brand.objects.all(), required=False, allow_null=True
    )
    skus = SkuSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "description", "category", "brand", "is_active", "skus"]
        read_only_fields = ["id"]
        extra_kwargs = {"slug": {"validators": []}}


# --- filters -------------------------------------------------------------------------------


class LocationFilter(django_filters.FilterSet):
    class Meta:
        model = Location
        fields = [
            "kind",
            "is_active",
            "city",
            "country",
            "ships_to_customers",
            "offers_click_and_collect",
            "offers_curbside",
        ]


class SkuFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="code, barcode or name contains")
    product = django_filters.CharFilter(field_name="product__slug")
    category = django_filters.CharFilter(field_name="product__category__slug")
    brand = django_filters.CharFilter(field_name="product__brand__name")

    class Meta:
        model = Sku
        fields = ["code", "barcode", "is_active", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(code__icontains=value)
            | Q(barcode=value)
            | Q(name__icontains=value)
            | Q(product__name__icontains=value)
        )


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(field_name="category__slug")
    brand = django_filters.CharFilter(field_name="brand__name")

    class Meta:
        model = Product
        fields = ["is_active"]


# --- views ---------------------------------------------------------------------------------


class _CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [CatalogAccess]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _respond(self, instance, status_code=status.HTTP_200_OK):
        return Response(self.get_serializer(instance).data, status=status_code)


class LocationViewSet(ConditionalUpdateMixin, _CatalogViewSet):
    """Stores, warehouses and dark stores with their address, hours and flags."""

    queryset = Location.objects.all().order_by("code")
    serializer_class = LocationSerializer
    filterset_class = LocationFilter
    lookup_field = "code"

    @idempotent()
    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = catalog.create_location(**data.validated_data)
        return self._respond(location, status.HTTP_201_CREATED)

    @idempotent()
    def partial_update(self, request, code=None):
        location = self.get_object()
        data = self.get_serializer(location, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        changes.pop("code", None)
        return self._respond(catalog.update_location(location=location, **changes))


class CategoryViewSet(_CatalogViewSet):
    queryset = Category.objects.select_related("parent").order_by("slug")
    serializer_class = CategorySerializer
    lookup_field = "slug"
    http_method_names = ["get", "post", "head", "options"]

    @idempotent()
    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(catalog.create_category(**data.validated_data), 201)


class BrandViewSet(_CatalogViewSet):
    queryset = Brand.objects.order_by("name")
    serializer_class = BrandSerializer
    http_method_names = ["get", "post", "head", "options"]

    @idempotent()
    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(catalog.create_brand(**data.validated_data), 201)


class ProductViewSet(ConditionalUpdateMixin, _CatalogViewSet):
    """Products with their SKUs."""

    queryset = (
        Product.objects.select_related("category", "brand")
        .prefetch_related("skus__product")
        .order_by("slug")
    )
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_field = "slug"

    @idempotent()
    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(catalog.create_product(**data.validated_data), 201)

    @idempotent()
    def partial_update(self, request, slug=None):
        product = self.get_object()
        data = self.get_serializer(product, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        changes.pop("slug", None)
        return self._respond(catalog.update_product(product=product, **changes))


class SkuViewSet(ConditionalUpdateMixin, _CatalogViewSet):
    """Sellable variants. Look one up by code (`/skus/{code}/`) or barcode (`?barcode=`)."""

    queryset = Sku.objects.select_related("product").order_by("code")
    serializer_class = SkuSerializer
    filterset_class = SkuFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        if self.action == "partial_update":
            return SkuUpdateSerializer
        return SkuSerializer

    @idempotent()
    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(catalog.create_sku(**data.validated_data), 201)

    @extend_schema(request=SkuUpdateSerializer, responses=SkuSerializer)
    @idempotent()
    def partial_update(self, request, code=None):
        sku = self.get_object()
        data = self.get_serializer(sku, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return self._respond(catalog.update_sku(sku=sku, **data.validated_data))


_router = SimpleRouter()
_router.register("locations", LocationViewSet, basename="location")
_router.register("categories", CategoryViewSet, basename="category")
_router.register("brands", BrandViewSet, basename="brand")
_router.register("products", ProductViewSet, basename="product")
_router.register("skus", SkuViewSet, basename="sku")
catalog_urlpatterns = _router.urls
