"""From a campaign and an audience to messages that left, exactly once.

Rules kept here:
- Deliveries are materialised in one set-based `INSERT ... SELECT ... ON CONFLICT DO
  NOTHING` per campaign step: running it twice, or for overlapping audiences, adds nothing
  twice (the unique constraint on (campaign, step, customer, channel) decides).
- Batches are claimed with `SELECT ... FOR UPDATE SKIP LOCKED` and a conditional state
  change queued → sending, so two workers given the same batch send each message once.
- The send rules (`rules.plan_delivery`) run per delivery under a transaction-scoped
  advisory lock on (customer, channel), and a delivery allowed to go gets `sent_at` before
  the provider is called: concurrent campaigns cannot both slip under a frequency cap, and a
  row with `sent_at` is never handed to a provider again.
- Deferred deliveries wait in PostgreSQL (`deferred_until`) and a periodic task puts them
  back in the queue when due; nothing relies on Celery countdowns.
"""

from __future__ import annotations

import datetime
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from campaigns import audience, conf
from campaigns.backends import BackendUnavailable, SendFailed, get_backend
from campaigns.errors import CampaignClosed, UnknownCustomers
from campaigns.models import Assignment, Campaign, Delivery, Message
from campaigns.rendering import InvalidTemplate
from campaigns.services import experiments
from campaigns.services.messages import (
    base_step,
    build_outgoing,
    check_variants,
    message_for,
    variant_of,
)
from campaigns.services.rules import DEFER, SKIP, plan_delivery
from customers.models import Customer
from omni import audit

# Advisory lock namespaces, one per channel: (namespace, customer id) serialises the cap
# check of one customer on one channel across workers. Arbitrary but fixed numbers.
CHANNEL_LOCK_KEYS = {"email": 710_401, "sms": 710_402, "push": 710_403}
SENDABLE_FROM = [
    Campaign.Status.DRAFT,
    Campaign.Status.SCHEDULED,
    Campaign.Status.SENDING,
    Campaign.Status.SENT,
]


# --- Materialisation ------------------------------------------------------------------------


@dataclass
class SendResult:
    queued: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    batches: int = 0


def materialise_deliveries(
    *,
    campaign: Campaign,
    customers: QuerySet,
    step_key: str = "main",
    context: dict[str, Any] | None = None,
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
) -> SendResult:
    """Insert one delivery per customer (priority strategy: on the first channel where they
    have an address and, for marketing, consent; else the first with an address, to be
    skipped with its reason) or one per customer and selected channel ('all'). Customers
    without an address are recorded as skipped (`no_address`). One statement, no loop over
    customers; existing deliveries are left alone. `context` (JSON) is stored with each
    delivery and rendered into its message."""
    now = now or timezone.now()
    policy = policy or audience.get_policy()
    channels = list(campaign.channels)
    annotations: dict[str, Any] = {}
    for channel in channels:
        annotations[f"addr_{channel}"] = audience.address_subquery(channel)
        if campaign.transactional:
            annotations[f"ok_{channel}"] = Value(True)
        else:
            # Case rather than a bare boolean: an empty filter (nobody consents) compiles to
            # the default instead of an invalid expression.
            annotations[f"ok_{channel}"] = Case(
                When(policy.consent_filter(channel), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
    audience_query = (
        Customer.objects.filter(
            pk__in=customers.order_by().values("pk"),
            merged_into__isnull=True,
            erased_at__isnull=True,
        )
        .order_by()
        .annotate(**annotations)
        .values("id", *annotations)
    )
    inner_sql, inner_params = audience_query.query.sql_with_params()
    rows = ", ".join(
        f"({rank}, %s, c.addr_{channel}, c.ok_{channel})" for rank, channel in enumerate(channels)
    )
    choose = (
        " ORDER BY (v.address IS NOT NULL AND v.ok) DESC, (v.address IS NOT NULL) DESC,"
        " v.rank LIMIT 1"
        if campaign.channel_strategy == Campaign.Strategy.PRIORITY
        else ""
    )
    sql = f"""
        WITH inserted AS (
            INSERT INTO campaigns_delivery (
                campaign_id, step_key, customer_id, channel, transactional, context, address,
                state, skip_reason, provider_message_id, error, queued_at, skipped_at
            )
            SELECT %s, %s, c.id, x.channel, %s, %s::jsonb, COALESCE(x.address, ''),
                   CASE WHEN x.address IS NULL THEN 'skipped' ELSE 'queued' END,
                   CASE WHEN x.address IS NULL THEN 'no_address' ELSE '' END,
                   '', '', %s,
                   CASE WHEN x.address IS NULL THEN %s::timestamptz END
            FROM ({inner_sql}) AS c
            CROSS JOIN LATERAL (
                SELECT v.channel, v.address FROM (VALUES {rows}) AS v(rank, channel, address, ok)
                {choose}
            ) AS x
            ON CONFLICT (campaign_id, step_key, customer_id, channel) DO NOTHING
            RETURNING state, skip_reason
        )
        SELECT state, skip_reason, count(*) FROM inserted GROUP BY state, skip_reason
    """  # noqa: S608 - identifiers come from our own channel list; values are parameters
    # The VALUES rows' channel names are parameters too; they come after the inner query
    # in the statement, so they go last.
    params = [
        campaign.pk,
        step_key,
        campaign.transactional,
        json.dumps(context or {}, cls=DjangoJSONEncoder),
        now,
        now,
        *inner_params,
        *channels,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = cursor.fetchall()
    result = SendResult()
    # Rows the unique constraint turned away: the customer already has this step.
    expected = audience_query.count() * (
        1 if campaign.channel_strategy == Campaign.Strategy.PRIORITY else len(channels)
    )
    already = expected - sum(count for _, _, count in counts)
    if already > 0:
        result.skipped[Delivery.SkipReason.ALREADY_SENT.value] = already
    for state, reason, count in counts:
        if state == Delivery.State.QUEUED:
            result.queued += count
        else:
            result.skipped[reason] = result.skipped.get(reason, 0) + count
    return result


def enqueue_queued(
    *, campaign: Campaign, step_key: str = "main", at: datetime.datetime | None = None
) -> int:
    """Hand every queued delivery of the step to the workers in batches, after commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE campaigns_delivery SET enqueued_at = %s"
            " WHERE campaign_id = %s AND step_key = %s AND state = 'queued' RETURNING id",
            [timezone.now(), campaign.pk, step_key],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    return _enqueue(ids, at=at)


def enqueue_batches(ids: list[int], *, at: datetime.datetime | None = None) -> int:
    """Hand these deliveries to the workers in batches, after commit."""
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    return _enqueue(ids, at=at)


def _enqueue(ids: list[int], *, at: datetime.datetime | None) -> int:
    from campaigns.tasks import send_delivery_batch

    size = conf.get("OMNI_SEND_BATCH_SIZE")
    when = at.isoformat() if at else None
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    for batch in batches:
        transaction.on_commit(partial(send_delivery_batch.delay, delivery_ids=batch, at=when))
    return len(batches)


def resolve_audience(
    *,
    campaign: Campaign,
    customer_ids: list | None,
    all_with_consent: bool,
    policy: audience.AudiencePolicy,
) -> QuerySet:
    if customer_ids is not None:
        wanted = {str(value) for value in customer_ids}
        # A merged-away ID answers for the customer it was merged into.
        found = Customer.objects.filter(
            Q(public_id__in=wanted, merged_into__isnull=True) | Q(merged_from__public_id__in=wanted)
        )
        known = {
            str(value)
            for value in Customer.objects.filter(public_id__in=wanted).values_list(
                "public_id", flat=True
            )
        }
        unknown = sorted(wanted - known)
        if unknown:
            raise UnknownCustomers(customers=unknown)
        return found
    if not all_with_consent:
        raise UnknownCustomers("Give customers or ask for all customers with consent.")
    everyone = Customer.objects.all()
    if campaign.segment_id is not None:
        # The campaign's segment, compiled now; marketing still needs consent below.
        from campaigns.segmentation.services import segment_customers

        everyone = segment_customers(campaign.segment, policy=policy)
    if campaign.transactional:
        return everyone
    reachable = Q(pk__in=[])
    for channel in campaign.channels:
        reachable |= policy.consent_filter(channel)
    return everyone.filter(reachable)


def send_campaign(
    *,
    campaign: Campaign,
    customer_ids: list | None = None,
    all_with_consent: bool = False,
    step_key: str = "main",
    context: dict[str, Any] | None = None,
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
    local_at: tuple[datetime.date, datetime.time] | None = None,
    rest: bool = False,
    audience_query: QuerySet | None = None,
) -> SendResult:
    """Send a step now to a list of customers or to everyone with consent on one of the
    campaign's channels (within its segment, if it has one), or to `audience_query`, a
    Customer queryset already resolved. A cancelled campaign or a missing variant refuses
    and writes nothing; customers already sent this step are not sent again. A `now` given
    by the caller is also the clock the workers judge the send rules by.

    Marketing sends first assign the audience (holdouts, experiment arms; see
    `experiments.assign`): held-out customers get no delivery and are counted under
    `skipped`. `local_at` (date, time) holds each delivery until that wall-clock time in
    the customer's own time zone."""
    pass_on = now
    now = now or timezone.now()
    policy = policy or audience.get_policy()
    message = message_for(campaign, step_key)
    check_variants(campaign, message)
    experiments.check_arm_messages(campaign, step_key)
    customers = audience_query
    if customers is None:
        customers = resolve_audience(
            campaign=campaign,
            customer_ids=customer_ids,
            all_with_consent=all_with_consent,
            policy=policy,
        )
    with transaction.atomic():
        moved = Campaign.objects.filter(pk=campaign.pk, status__in=SENDABLE_FROM).update(
            status=Campaign.Status.SENDING, started_at=campaign.started_at or now
        )
        if not moved:
            campaign.refresh_from_db()
            raise CampaignClosed(status=campaign.status)
        customers, held = experiments.assign(
            campaign=campaign, customers=customers, now=now, rest=rest
        )
        result = materialise_deliveries(
            campaign=campaign,
            customers=customers,
            step_key=step_key,
            context=context,
            now=now,
            policy=policy,
        )
        result.skipped.update(held)
        if local_at is not None:
            defer_to_local_time(campaign=campaign, step_key=step_key, local_at=local_at, now=now)
        result.batches = enqueue_queued(campaign=campaign, step_key=step_key, at=pass_on)
        audit.record(
            "campaign.sent",
            campaign,
            after={
                "step": step_key,
                "audience": "all_with_consent" if all_with_consent else len(customer_ids or []),
            },
        )
    campaign.refresh_from_db()
    return result


def defer_to_local_time(
    *,
    campaign: Campaign,
    step_key: str,
    local_at: tuple[datetime.date, datetime.time],
    now: datetime.datetime,
) -> int:
    """Queued deliveries of the step wait until the given wall-clock time in each
    customer's time zone (one UPDATE; an unknown zone counts as UTC). Where that time has
    already passed they stay queued and go now. The sweep releases them when due."""
    day, at = local_at
    local = "(%s::date + %s::time) AT TIME ZONE z.name"
    sql = f"""
        UPDATE campaigns_delivery d
        SET state = 'deferred', deferred_until = {local}
        FROM customers_customer c
        CROSS JOIN LATERAL (
            SELECT CASE WHEN c.time_zone IN (SELECT name FROM pg_timezone_names)
                        THEN c.time_zone ELSE 'UTC' END AS name
        ) AS z
        WHERE d.customer_id = c.id AND d.campaign_id = %s AND d.step_key = %s
          AND d.state = 'queued' AND {local} > %s
    """  # noqa: S608 - a fixed expression; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, at, campaign.pk, step_key, day, at, now])
        return cursor.rowcount


def send_to_customer(
    *,
    campaign: Campaign,
    customer: Customer,
    context: dict[str, Any] | None = None,
    step_key: str = "main",
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
) -> list[Delivery]:
    """One customer, one step, with its own context (an order number, cart lines, a
    code): what order notifications and journey steps call. Calling it again for the same
    step returns the deliveries already made and sends nothing more."""
    while customer.merged_into_id:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    send_campaign(
        campaign=campaign,
        # By primary key: one customer needs no search through merged-away IDs.
        audience_query=Customer.objects.filter(pk=customer.pk),
        step_key=step_key,
        context=context,
        now=now,
        policy=policy,
    )
    return list(Delivery.objects.filter(campaign=campaign, step_key=step_key, customer=customer))


# --- Sending a batch ------------------------------------------------------------------------


def claim_batch(delivery_ids: list[int]) -> tuple[list[int], datetime.datetime]:
    """queued → sending for the rows nobody else holds; returns what this caller owns and
    its claim stamp (real time, whatever clock the rules use), which every later update
    checks: a claim the sweep gave away as stale is no longer this caller's to send."""
    claimed_at = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(pk__in=delivery_ids, state=Delivery.State.QUEUED)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=ids, state=Delivery.State.QUEUED).update(
            state=Delivery.State.SENDING, claimed_at=claimed_at
        )
    return ids, claimed_at


def _owned(delivery: Delivery):
    return Delivery.objects.filter(
        pk=delivery.pk, state=Delivery.State.SENDING, claimed_at=delivery.claimed_at
    )


def _lock_customer_channel(customer_id: int, channel: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [CHANNEL_LOCK_KEYS[channel], customer_id % 2_147_483_647],
        )


def _decide(delivery: Delivery, *, now, policy) -> str:
    """Run the rules for one claimed delivery and record the outcome. Returns the action."""
    with transaction.atomic():
        _lock_customer_channel(delivery.customer_id, delivery.channel)
        plan = plan_delivery(
            campaign=delivery.campaign,
            customer=delivery.customer,
            channel=delivery.channel,
            address=delivery.address,
            now=now,
            policy=policy,
            exclude_delivery_id=delivery.pk,
        )
        mine = _owned(delivery)
        if plan.action == SKIP:
            changed = mine.update(
                state=Delivery.State.SKIPPED, skip_reason=plan.reason, skipped_at=now
            )
        elif plan.action == DEFER:
            changed = mine.update(
                state=Delivery.State.DEFERRED,
                skip_reason=plan.reason,
                deferred_until=plan.until,
            )
        else:
            changed = mine.update(sent_at=now)
    # Not ours any more (the sweep handed a stale claim to another worker): hands off.
    return plan.action if changed else "lost"


class Pacer:
    """Spaces this process's sends to at most `rate` a second (no cap at 0): each send
    waits until 1/rate after the one before, across batches."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep) -> None:
        self.clock = clock
        self.sleep = sleep
        self.next_at = 0.0

    def wait(self, rate: float) -> None:
        if rate <= 0:
            return
        now = self.clock()
        if self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + 1.0 / rate


pacer = Pacer()


def send_batch(
    *,
    delivery_ids: list[int],
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
) -> Counter:
    """Claim, check and send a batch of deliveries. Safe to run twice, concurrently too."""
    now = now or timezone.now()
    policy = policy or audience.get_policy()
    outcome: Counter = Counter()
    claimed, claimed_at = claim_batch(delivery_ids)
    if not claimed:
        return outcome
    deliveries = (
        Delivery.objects.filter(pk__in=claimed)
        .select_related("campaign", "customer", "customer__preferred_store")
        .order_by("pk")
    )
    messages: dict[tuple[int, str, str | None], Message | None] = {}
    backends: dict[str, Any] = {}
    arms = arms_of(deliveries)
    try:
        for delivery in deliveries:
            action = _decide(delivery, now=now, policy=policy)
            if action != "send":
                outcome[action] += 1
                continue
            arm = arms.get((delivery.campaign_id, delivery.customer_id))
            key = (delivery.campaign_id, base_step(delivery.step_key), arm)
            if key not in messages:
                messages[key] = message_for(delivery.campaign, delivery.step_key, arm=arm)
            pacer.wait(conf.get("OMNI_SEND_RATE_PER_WORKER"))
            outcome[_hand_over(delivery, messages[key], backends, now=now, policy=policy)] += 1
    except BackendUnavailable:
        # Nothing left this batch for the rows still in hand: give them back to the queue
        # (clearing the cap slot) so the retried task, or another worker, sends them.
        Delivery.objects.filter(
            pk__in=claimed, state=Delivery.State.SENDING, claimed_at=claimed_at
        ).update(state=Delivery.State.QUEUED, sent_at=None, claimed_at=None)
        raise
    finally:
        for backend in backends.values():
            backend.close()
    return outcome


def arms_of(deliveries) -> dict[tuple[int, int], str]:
    """(campaign, customer) → the experiment arm key, for a batch, in one query."""
    pairs = {(delivery.campaign_id, delivery.customer_id) for delivery in deliveries}
    if not pairs:
        return {}
    rows = Assignment.objects.filter(
        campaign_id__in={campaign for campaign, _ in pairs},
        customer_id__in={customer for _, customer in pairs},
        arm__isnull=False,
    ).values_list("campaign_id", "customer_id", "arm__key")
    return {(campaign, customer): key for campaign, customer, key in rows}


def _hand_over(delivery: Delivery, message, backends: dict, *, now, policy) -> str:
    mine = _owned(delivery)
    try:
        if variant_of(message, delivery.channel) is None:
            raise SendFailed(f"no {delivery.channel} variant")
        outgoing = build_outgoing(
            campaign=delivery.campaign,
            message=message,
            channel=delivery.channel,
            customer=delivery.customer,
            to=delivery.address,
            reference=str(delivery.pk),
            delivery_id=delivery.pk,
            context=delivery.context,
            policy=policy,
        )
        if delivery.channel not in backends:
            backend = get_backend(delivery.channel)
            backend.open()
            backends[delivery.channel] = backend
        provider_id = backends[delivery.channel].send(outgoing)
    except (SendFailed, InvalidTemplate) as error:
        mine.update(state=Delivery.State.FAILED, failed_at=timezone.now(), error=str(error)[:2000])
        return "failed"
    mine.update(state=Delivery.State.SENT, provider_message_id=provider_id[:200])
    return "sent"


# --- The periodic sweep ---------------------------------------------------------------------


def release_due_deliveries(*, now: datetime.datetime | None = None) -> int:
    """Put deferred deliveries whose time has come, and batches whose worker died before
    deciding, back in the queue and hand them to the workers; hand out again queued rows
    whose task was lost (a worker killed between receiving and claiming it, a broker that
    dropped it); close campaigns with nothing left to send. Returns how many deliveries
    were handed out."""
    # Only a clock given by the caller travels with the batches; otherwise each batch
    # judges by the time it actually runs.
    pass_on = now
    now = now or timezone.now()
    stale = timezone.now() - conf.get("OMNI_STALE_CLAIM_AFTER")
    with transaction.atomic():
        due = list(
            Delivery.objects.filter(state=Delivery.State.DEFERRED, deferred_until__lte=now)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=due, state=Delivery.State.DEFERRED).update(
            state=Delivery.State.QUEUED, skip_reason=""
        )
        # A claim with no decision (sent_at empty) never reached a provider: safe to redo.
        orphans = list(
            Delivery.objects.filter(
                state=Delivery.State.SENDING, sent_at__isnull=True, claimed_at__lt=stale
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=orphans, state=Delivery.State.SENDING).update(
            state=Delivery.State.QUEUED, claimed_at=None
        )
        # Long enough that the broker's own redelivery (Redis visibility timeout) comes
        # first; claims are conditional, so a second copy of a task sends nothing twice.
        lost = list(
            Delivery.objects.filter(
                state=Delivery.State.QUEUED,
                enqueued_at__lt=timezone.now() - conf.get("OMNI_STALE_QUEUE_AFTER"),
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        ids = sorted(due + orphans + lost)
        enqueue_batches(ids, at=pass_on)
        finish_campaigns(now=now)
    return len(ids)


def finish_campaigns(*, now: datetime.datetime) -> int:
    """One-off campaigns with nothing queued, in flight or deferred are sent."""
    pending = Delivery.objects.filter(
        campaign_id=OuterRef("pk"),
        state__in=[Delivery.State.QUEUED, Delivery.State.SENDING, Delivery.State.DEFERRED],
    )
    return (
        Campaign.objects.filter(status=Campaign.Status.SENDING, kind=Campaign.Kind.ONE_OFF)
        .exclude(Exists(pending))
        .update(status=Campaign.Status.SENT, finished_at=now)
    )


def now_or(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(value)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed
