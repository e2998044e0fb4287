from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api import credit, returns, views

router = SimpleRouter()
router.register("carts", views.CartViewSet, basename="cart")
router.register("orders", views.OrderViewSet, basename="order")
router.register("returns", returns.ReturnViewSet, basename="return")

part = "orders/<str:number>/fulfilments/<int:pk>/"

urlpatterns = [
    path("checkout/", views.CheckoutView.as_view(), name="checkout"),
    path("sales/", returns.PosSaleView.as_view(), name="pos-order-sale"),
    path(f"{part}ready/", views.ReadyForPickupView.as_view(), name="fulfilment-ready"),
    path(f"{part}check-in/", views.CheckInView.as_view(), name="fulfilment-check-in"),
    path(f"{part}collect/", views.CollectView.as_view(), name="fulfilment-collect"),
    path(f"{part}pick/", views.PickView.as_view(), name="fulfilment-pick"),
    path(f"{part}pack/", views.PackView.as_view(), name="fulfilment-pack"),
    path(f"{part}ship/", views.ShipView.as_view(), name="fulfilment-ship"),
    path(f"{part}deliver/", views.DeliverView.as_view(), name="fulfilment-deliver"),
    path(
        f"{part}transfer/ship/", views.TransferShipView.as_view(), name="fulfilment-transfer-ship"
    ),
    path(
        f"{part}transfer/receive/",
        views.TransferReceiveView.as_view(),
        name="fulfilment-transfer-receive",
    ),
    path("discount-codes/validate/", credit.DiscountQuoteView.as_view(), name="discount-validate"),
    path(
        "customers/<uuid:public_id>/store-credit/",
        credit.StoreCreditView.as_view(),
        name="store-credit",
    ),
    path("gift-cards/<str:number>/", credit.GiftCardView.as_view(), name="gift-card"),
    path("credit/spend/", credit.CreditSpendView.as_view(), name="credit-spend"),
    *router.urls,
]
