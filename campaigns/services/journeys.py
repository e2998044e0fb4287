"""Journeys: enrol customers when something happens, and walk them through the steps.

Rules kept here:
- One enrolment per (journey, customer, trigger instance): a unique constraint, so the same
  cart, order or signup enrols once however often it is reported. Timed triggers (idle
  carts, lapsed customers) are found by one set-based `INSERT ... SELECT ... ON CONFLICT DO
  NOTHING` per journey, never a loop over customers.
- Waits are rows: an active enrolment has a `due_at`; `advance_due_enrollments` takes due
  ones in batches with `SELECT ... FOR UPDATE SKIP LOCKED` (two ticks never work the same
  enrolment) and runs their steps until the next wait or the end. No Celery countdown.
- A wait counts from the end of the previous wait (the first from the trigger), so a late
  tick does not push the rest of the journey back.
- Exit rules (`exit_when` steps) hold from their position on. They are checked before every
  step, and at once when orders report a purchase (any channel, the till included) or a
  cart change, so a customer who bought is not messaged about it.
- Sends go through `send_to_customer`: consent, quiet hours, caps and one delivery per
  (campaign, step, customer, channel) apply; the step key carries the enrolment
  (`reminder#41`), so each trigger instance gets its own message.
- A step that fails rolls back alone (a savepoint) and is tried again later; after
  `OMNI_JOURNEY_MAX_ATTEMPTS` the enrolment is marked failed with the error.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns import conf
from campaigns.errors import CampaignClosed
from campaigns.journey_models import Enrollment, Journey, JourneyStep
from campaigns.personalisation import personalise
from campaigns.services.rules import skus_bought_since
from campaigns.services.sending import send_to_customer
from omni.errors import BadRequest, NotFound

logger = logging.getLogger(__name__)

E = Enrollment.State


class UnknownJourneyRule(BadRequest):
    code = "unknown_journey_rule"
    message = "Unknown journey rule."


class InvalidJourneyStep(BadRequest):
    code = "invalid_journey_step"
    message = "The journey step is incomplete."


class JourneyNotFound(NotFound):
    code = "journey_not_found"
    message = "No such journey."


# --- Rules (conditions and exit rules) -------------------------------------------------------


def _cart(enrollment: Enrollment):
    from orders.models import Cart

    cart_id = (enrollment.subject or {}).get("cart_id")
    return Cart.objects.filter(pk=cart_id).first() if cart_id else None


def cart_items_bought(enrollment: Enrollment, now: datetime.datetime) -> bool:
    """Every item of the cart was bought since it was put in, on any channel."""
    cart = _cart(enrollment)
    if cart is None:
        return False
    since = dict(cart.lines.values_list("sku_id", "added_at"))
    if not since:
        return False
    bought = skus_bought_since(customer_id=enrollment.customer_id, since=since)
    return set(since) <= bought


def cart_closed(enrollment: Enrollment, now: datetime.datetime) -> bool:
    """The cart was emptied, checked out or merged, or has no lines left."""
    from orders.models import Cart

    cart = _cart(enrollment)
    return cart is None or cart.status != Cart.Status.OPEN or not cart.lines.exists()


def cart_active_again(enrollment: Enrollment, now: datetime.datetime) -> bool:
    """The customer came back to the cart after it went idle (a later idle spell is a new
    trigger instance)."""
    cart = _cart(enrollment)
    return cart is not None and cart.last_activity_at > enrollment.triggered_at


def cart_open(enrollment: Enrollment, now: datetime.datetime) -> bool:
    return not cart_closed(enrollment, now)


def purchased_since_trigger(enrollment: Enrollment, now: datetime.datetime) -> bool:
    """An order on any channel after the trigger (for win-back and welcome)."""
    from orders.models import Order

    orders = Order.objects.filter(
        customer_id=enrollment.customer_id, placed_at__gt=enrollment.triggered_at
    ).exclude(status=Order.Status.CANCELLED)
    order_id = (enrollment.subject or {}).get("order_id")
    if order_id:
        orders = orders.exclude(pk=order_id)
    return orders.exists()


def no_purchase_since_trigger(enrollment: Enrollment, now: datetime.datetime) -> bool:
    return not purchased_since_trigger(enrollment, now)


def order_cancelled(enrollment: Enrollment, now: datetime.datetime) -> bool:
    from orders.models import Order

    order_id = (enrollment.subject or {}).get("order_id")
    return bool(
        order_id and Order.objects.filter(pk=order_id, status=Order.Status.CANCELLED).exists()
    )


def order_not_cancelled(enrollment: Enrollment, now: datetime.datetime) -> bool:
    return not order_cancelled(enrollment, now)


RULES: dict[str, tuple[str, Callable[[Enrollment, datetime.datetime], bool]]] = {
    "cart_items_bought": ("Every cart item was bought (any channel)", cart_items_bought),
    "cart_closed": ("The cart was emptied or checked out", cart_closed),
    "cart_active_again": ("The customer came back to the cart", cart_active_again),
    "cart_open": ("The cart still holds items", cart_open),
    "purchased_since_trigger": ("Bought something since the trigger", purchased_since_trigger),
    "no_purchase_since_trigger": ("Bought nothing since the trigger", no_purchase_since_trigger),
    "order_cancelled": ("The order was cancelled", order_cancelled),
    "order_not_cancelled": ("The order was not cancelled", order_not_cancelled),
}
RULE_CHOICES = [(name, label) for name, (label, _) in RULES.items()]


def rule_holds(name: str, enrollment: Enrollment, now: datetime.datetime) -> bool:
    return RULES[name][1](enrollment, now)


# --- Editing --------------------------------------------------------------------------------


def check_step(
    *,
    kind: str,
    wait=None,
    rule: str = "",
    message_key: str = "",
    promotion=None,
    code_valid_days: int = 7,
) -> None:
    """A step says what it needs: a wait its duration, a rule a known rule, a send its
    message (and the message must exist in the journey's campaign when it runs)."""
    if kind not in JourneyStep.Kind.values:
        raise InvalidJourneyStep("Unknown step kind.", kind=kind, known=JourneyStep.Kind.values)
    if kind == JourneyStep.Kind.WAIT and (wait is None or wait < datetime.timedelta(0)):
        raise InvalidJourneyStep("A wait needs a duration of zero or more.", field="wait")
    if kind in (JourneyStep.Kind.CONDITION, JourneyStep.Kind.EXIT_WHEN) and rule not in RULES:
        raise UnknownJourneyRule(rule=rule, known=sorted(RULES))
    if kind == JourneyStep.Kind.SEND and not (message_key or "").strip():
        raise InvalidJourneyStep("A send step names its message.", field="message_key")
    if not isinstance(code_valid_days, int) or not 1 <= code_valid_days <= 365:
        raise InvalidJourneyStep("A code is valid 1 to 365 days.", field="code_valid_days")


def check_trigger_after(*, trigger: str, trigger_after) -> None:
    """Idle carts and lapsed customers need a positive threshold."""
    timed = trigger in (Journey.Trigger.CART_IDLE, Journey.Trigger.NO_PURCHASE_FOR_DAYS)
    if timed and (trigger_after is None or trigger_after <= datetime.timedelta(0)):
        raise InvalidJourneyStep(
            "This trigger needs a positive duration.", field="trigger_after", trigger=trigger
        )


def set_steps(*, journey: Journey, steps: list[dict[str, Any]]) -> list[JourneyStep]:
    """Replace a journey's steps with this ordered list (positions 1..n). All or nothing;
    active enrolments carry on from the position they reached. A send step names a message
    of the journey's campaign."""
    from campaigns.models import Message

    messages = set(
        Message.objects.filter(campaign_id=journey.campaign_id).values_list("step_key", flat=True)
    )
    for index, data in enumerate(steps):
        try:
            check_step(**data)
            if data["kind"] == JourneyStep.Kind.SEND and data["message_key"] not in messages:
                raise InvalidJourneyStep(
                    "The journey's campaign has no such message.",
                    field="message_key",
                    message_key=data["message_key"],
                    known=sorted(messages),
                )
        except BadRequest as error:
            error.details["step"] = index
            raise
    with transaction.atomic():
        Journey.objects.select_for_update().filter(pk=journey.pk).first()
        journey.steps.all().delete()
        made = JourneyStep.objects.bulk_create(
            JourneyStep(journey=journey, position=index + 1, **data)
            for index, data in enumerate(steps)
        )
    return made


# --- Enrolling ------------------------------------------------------------------------------


def enrol(
    *,
    journey: Journey,
    customer,
    trigger_key: str,
    triggered_at: datetime.datetime | None = None,
    subject: dict | None = None,
    now: datetime.datetime | None = None,
) -> tuple[Enrollment, bool]:
    """Put a customer on a journey for one trigger instance; (enrolment, created). The same
    instance again returns the first enrolment and changes nothing."""
    now = now or timezone.now()
    triggered_at = triggered_at or now
    enrollment, created = Enrollment.objects.get_or_create(
        journey=journey,
        customer=customer,
        trigger_key=trigger_key[:120],
        defaults={
            "subject": subject or {},
            "triggered_at": triggered_at,
            "reference_at": triggered_at,
            # Due from the trigger on: the first step (often a wait) decides when it runs.
            "due_at": min(now, triggered_at),
        },
    )
    return enrollment, created


def enrol_on_trigger(
    *,
    trigger: str,
    customer,
    trigger_key: str,
    triggered_at: datetime.datetime | None = None,
    subject: dict | None = None,
) -> list[Enrollment]:
    """Enrol the customer in every active journey with this trigger."""
    if customer is None or customer.merged_into_id or customer.erased_at:
        return []
    made = []
    for journey in Journey.objects.filter(trigger=trigger, active=True):
        enrollment, created = enrol(
            journey=journey,
            customer=customer,
            trigger_key=trigger_key,
            triggered_at=triggered_at,
            subject=subject,
        )
        if created:
            made.append(enrollment)
    return made


_ENROL_SQL = """
    INSERT INTO campaigns_enrollment (
        journey_id, customer_id, trigger_key, subject, state, step_position, triggered_at,
        reference_at, due_at, history, exit_reason, attempts, last_error, created_at
    )
    SELECT %s, t.customer_id, t.trigger_key, t.subject, 'active', 0, t.triggered_at,
           t.triggered_at, %s, '[]'::jsonb, '', 0, '', %s
    FROM ({source}) AS t
    JOIN customers_customer c ON c.id = t.customer_id
    WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
    ON CONFLICT (journey_id, customer_id, trigger_key) DO NOTHING
"""

# Open carts with items, idle for at least the journey's threshold but not for ages (a
# journey switched on today does not chase last year's carts). Each idle spell of a cart is
# its own trigger instance (the key carries the time of the last activity).
_IDLE_CARTS = """
    SELECT cart.customer_id,
           'cart:' || cart.id || ':' || floor(extract(epoch FROM cart.last_activity_at))::bigint
           AS trigger_key,
           jsonb_build_object('cart_id', cart.id) AS subject,
           cart.last_activity_at AS triggered_at
    FROM orders_cart cart
    WHERE cart.status = 'open' AND cart.customer_id IS NOT NULL
      AND cart.last_activity_at <= %s AND cart.last_activity_at > %s
      AND EXISTS (SELECT 1 FROM orders_cartline line WHERE line.cart_id = cart.id)
"""

# Customers whose last purchase (any channel) is older than the threshold; one enrolment
# per lapse (the key is the last purchase), so buying and lapsing again enrols again.
_LAPSED = """
    SELECT o.customer_id, 'lapsed:' || max(o.id) AS trigger_key,
           '{}'::jsonb AS subject, max(o.placed_at) + %s AS triggered_at
    FROM orders_order o
    WHERE o.customer_id IS NOT NULL AND o.status <> 'cancelled'
    GROUP BY o.customer_id
    HAVING max(o.placed_at) <= %s
"""

CART_LOOKBACK = datetime.timedelta(days=2)


TIMED_TRIGGERS = (Journey.Trigger.CART_IDLE, Journey.Trigger.NO_PURCHASE_FOR_DAYS)


def enrol_timed_triggers(
    *, now: datetime.datetime | None = None, triggers: tuple[str, ...] = TIMED_TRIGGERS
) -> int:
    """Find idle carts and lapsed customers for every active timed journey, set-based.
    Returns how many enrolments were made."""
    now = now or timezone.now()
    made = 0
    for journey in Journey.objects.filter(active=True, trigger__in=triggers):
        after = journey.trigger_after
        if journey.trigger == Journey.Trigger.CART_IDLE:
            source, params = _IDLE_CARTS, [now - after, now - after - CART_LOOKBACK]
        else:
            source, params = _LAPSED, [after, now - after]
        sql = _ENROL_SQL.format(source=source)
        with connection.cursor() as cursor:
            cursor.execute(sql, [journey.pk, now, now, *params])
            made += cursor.rowcount
    return made


# --- Exits ----------------------------------------------------------------------------------


def _steps(journey_id: int, cache: dict) -> list[JourneyStep]:
    if journey_id not in cache:
        cache[journey_id] = list(
            JourneyStep.objects.filter(journey_id=journey_id)
            .select_related("promotion")
            .order_by("position")
        )
    return cache[journey_id]


def _exit_rules_at(steps: list[JourneyStep], position: int) -> list[str]:
    return [
        step.rule
        for step in steps
        if step.kind == JourneyStep.Kind.EXIT_WHEN and step.position <= max(position, 1)
    ]


def _finish(enrollment: Enrollment, state: str, reason: str, now: datetime.datetime) -> bool:
    moved = Enrollment.objects.filter(pk=enrollment.pk, state=E.ACTIVE).update(
        state=state, exit_reason=reason[:80], finished_at=now, history=enrollment.history
    )
    enrollment.state, enrollment.exit_reason, enrollment.finished_at = state, reason, now
    return bool(moved)


def check_exits(*, customer_id: int, now: datetime.datetime | None = None) -> int:
    """Exit the customer's active enrolments whose exit rules now hold (called when
    orders report a purchase or a cart change). Returns how many exited."""
    now = now or timezone.now()
    cache: dict = {}
    exited = 0
    with transaction.atomic():
        # An enrolment a tick is working on right now is skipped: the tick checks the
        # same rules before its next step.
        enrollments = (
            Enrollment.objects.filter(customer_id=customer_id, state=E.ACTIVE)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("journey")
            .order_by("pk")
        )
        for enrollment in enrollments:
            steps = _steps(enrollment.journey_id, cache)
            for rule in _exit_rules_at(steps, _current_position(steps, enrollment)):
                if rule_holds(rule, enrollment, now):
                    enrollment.history = [
                        *enrollment.history,
                        {"at": now.isoformat(), "event": "exit", "rule": rule},
                    ]
                    exited += _finish(enrollment, E.EXITED, f"exit_when:{rule}", now)
                    break
    return exited


def _current_position(steps: list[JourneyStep], enrollment: Enrollment) -> int:
    upcoming = [step.position for step in steps if step.position >= enrollment.step_position]
    return upcoming[0] if upcoming else enrollment.step_position


# --- Advancing ------------------------------------------------------------------------------


def _send_step(enrollment: Enrollment, step: JourneyStep, now: datetime.datetime) -> dict:
    personalised = personalise(enrollment=enrollment, step=step, now=now)
    entry: dict[str, Any] = {
        "at": now.isoformat(),
        "step": step.position,
        "event": "send",
        "message": step.message_key,
    }
    if personalised.skip_reason:
        entry["skipped"] = personalised.skip_reason
        return entry
    deliveries = send_to_customer(
        campaign=enrollment.journey.campaign,
        customer=enrollment.customer,
        context=personalised.context,
        step_key=f"{step.message_key}#{enrollment.pk}",
        now=now,
    )
    entry["deliveries"] = [
        {"id": d.pk, "channel": d.channel, "state": d.state, "skip_reason": d.skip_reason}
        for d in deliveries
    ]
    if "discount" in personalised.context:
        entry["code"] = personalised.context["discount"]["code"]
    return entry


def _run(enrollment: Enrollment, steps: list[JourneyStep], now: datetime.datetime) -> None:
    """Run steps from where the enrolment stands until a wait that has not ended, an
    exit, or the end."""
    # Nothing the customer does can happen within one run: each rule is asked once.
    answers: dict[str, bool] = {}

    def holds(rule: str) -> bool:
        if rule not in answers:
            answers[rule] = rule_holds(rule, enrollment, now)
        return answers[rule]

    while True:
        step = next((s for s in steps if s.position >= enrollment.step_position), None)
        if step is None:
            _finish(enrollment, E.COMPLETED, "", now)
            return
        for rule in _exit_rules_at(steps, step.position):
            if holds(rule):
                enrollment.history.append({"at": now.isoformat(), "event": "exit", "rule": rule})
                _finish(enrollment, E.EXITED, f"exit_when:{rule}", now)
                return
        if step.kind == JourneyStep.Kind.WAIT:
            due = enrollment.reference_at + step.wait
            if due > now:
                enrollment.step_position = step.position
                enrollment.due_at = due
                enrollment.save(update_fields=["step_position", "due_at", "history"])
                return
            enrollment.reference_at = due
        elif step.kind == JourneyStep.Kind.CONDITION:
            if not holds(step.rule):
                enrollment.history.append(
                    {"at": now.isoformat(), "event": "condition_failed", "rule": step.rule}
                )
                _finish(enrollment, E.EXITED, f"condition:{step.rule}", now)
                return
        elif step.kind == JourneyStep.Kind.SEND:
            enrollment.history.append(_send_step(enrollment, step, now))
        enrollment.step_position = step.position + 1
        Enrollment.objects.filter(pk=enrollment.pk).update(
            step_position=enrollment.step_position,
            reference_at=enrollment.reference_at,
            history=enrollment.history,
        )


def _failed(enrollment: Enrollment, error: Exception, now: datetime.datetime) -> None:
    attempts = enrollment.attempts + 1
    give_up = attempts >= conf.get("OMNI_JOURNEY_MAX_ATTEMPTS") or isinstance(error, CampaignClosed)
    Enrollment.objects.filter(pk=enrollment.pk, state=E.ACTIVE).update(
        attempts=attempts,
        last_error=f"{type(error).__name__}: {error}"[:2000],
        due_at=now + conf.get("OMNI_JOURNEY_RETRY_AFTER"),
        **({"state": E.FAILED, "finished_at": now} if give_up else {}),
    )


def advance_enrollment(
    enrollment: Enrollment, *, now: datetime.datetime, cache: dict | None = None
) -> str:
    """Run one (locked) enrolment as far as it goes now; returns its state after."""
    steps = _steps(enrollment.journey_id, {} if cache is None else cache)
    try:
        with transaction.atomic():
            _run(enrollment, steps, now)
    except Exception as error:
        logger.exception("journey enrolment %s failed", enrollment.pk)
        _failed(enrollment, error, now)
        return "retry"
    return enrollment.state


def advance_due_enrollments(
    *, now: datetime.datetime | None = None, batch_size: int | None = None
) -> dict[str, int]:
    """Advance every due enrolment of active journeys, a batch per transaction; rows
    another tick holds are skipped (SKIP LOCKED), not waited for."""
    now = now or timezone.now()
    size = batch_size or conf.get("OMNI_JOURNEY_BATCH_SIZE")
    outcome: dict[str, int] = {}
    seen: set[int] = set()
    cache: dict = {}
    while True:
        with transaction.atomic():
            batch = list(
                Enrollment.objects.filter(state=E.ACTIVE, due_at__lte=now, journey__active=True)
                .exclude(pk__in=seen)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("journey__campaign", "customer__preferred_store")
                .order_by("due_at", "pk")[:size]
            )
            for enrollment in batch:
                seen.add(enrollment.pk)
                state = advance_enrollment(enrollment, now=now, cache=cache)
                outcome[state] = outcome.get(state, 0) + 1
        if len(batch) < size:
            return outcome


def run_journeys(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """The tick, every minute: enrol idle carts, then advance what is due. Lapsed customers
    are found by `enrol_lapsed_customers`, hourly: that scan reads every customer's last
    order, and a lapse measured in days does not need minute precision."""
    now = now or timezone.now()
    enrolled = enrol_timed_triggers(now=now, triggers=(Journey.Trigger.CART_IDLE,))
    outcome = advance_due_enrollments(now=now)
    return {"enrolled": enrolled, **outcome}


def enrol_lapsed_customers(*, now: datetime.datetime | None = None) -> int:
    return enrol_timed_triggers(now=now, triggers=(Journey.Trigger.NO_PURCHASE_FOR_DAYS,))
