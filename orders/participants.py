"""Orders' part in customer merges: everything a customer bought, returned, kept in a
cart or was given moves with them (and back on unmerge)."""

from customers.hooks import MergeParticipant, register_merge_participant, rows_participant
from orders.models import Cart, CreditAccount, DiscountCode, Notification, Order, Redemption, Return


def _move_carts(source, target) -> dict:
    """One open cart per customer: if both have one, the merged-away cart is closed as
    merged (its lines stay on it, visible in history) rather than breaking that rule."""
    closed = []
    if Cart.objects.filter(customer=target, status=Cart.Status.OPEN).exists():
        closed = list(
            Cart.objects.filter(customer=source, status=Cart.Status.OPEN).values_list(
                "pk", flat=True
            )
        )
        Cart.objects.filter(pk__in=closed).update(status=Cart.Status.MERGED)
    ids = list(Cart.objects.filter(customer=source).values_list("pk", flat=True))
    Cart.objects.filter(pk__in=ids).update(customer=target)
    return {"ids": ids, "closed": closed}


def _move_carts_back(record: dict, source, target) -> None:
    Cart.objects.filter(pk__in=record.get("ids", [])).update(customer=source)
    Cart.objects.filter(pk__in=record.get("closed", [])).update(status=Cart.Status.OPEN)


def _move_credit(source, target) -> dict:
    """Store credit is one account per customer and currency: an account moves unless the
    survivor already has one in that currency, whose balance then stays where it is (staff
    can transfer it with an adjustment); gift cards simply follow the customer."""
    taken = set(
        CreditAccount.objects.filter(
            customer=target, kind=CreditAccount.Kind.STORE_CREDIT
        ).values_list("currency", flat=True)
    )
    movable = CreditAccount.objects.filter(customer=source).exclude(
        kind=CreditAccount.Kind.STORE_CREDIT, currency__in=taken
    )
    ids = list(movable.values_list("pk", flat=True))
    CreditAccount.objects.filter(pk__in=ids).update(customer=target)
    return {"ids": ids}


def _move_credit_back(record: dict, source, target) -> None:
    CreditAccount.objects.filter(pk__in=record.get("ids", [])).update(customer=source)


for participant in [
    rows_participant("orders.orders", Order),
    rows_participant("orders.returns", Return),
    rows_participant("orders.redemptions", Redemption),
    rows_participant("orders.codes", DiscountCode, field="issued_to"),
    rows_participant("orders.notifications", Notification),
    MergeParticipant(name="orders.carts", move=_move_carts, move_back=_move_carts_back),
    MergeParticipant(name="orders.credit", move=_move_credit, move_back=_move_credit_back),
]:
    register_merge_participant(participant)
