"""A/B/n experiments and holdouts.

Rules kept here:
- Arms have split percentages that sum to 100 and unique keys; a bad experiment writes
  nothing.
- Every customer a marketing campaign reaches for is assigned once, in one set-based
  `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, by stable hashes of (campaign, customer):
  first the global holdout (a hash of the customer alone, the same for every campaign),
  then the campaign's holdout (`holdout_percent`), then the test share and the arm. The
  same customer always lands in the same group and arm; held-out customers get no delivery
  but keep their assignment row, so uplift is measured against them.
- A winner is declared only when it beats every other arm with significance (two-sided
  p-value under the level divided by the number of comparisons, Bonferroni); otherwise no
  winner, and the rest of the audience is not sent anything by the experiment.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns import conf, stats
from campaigns.errors import CampaignClosed, InvalidExperiment, NoWinner
from campaigns.models import Arm, Assignment, Campaign, Experiment
from campaigns.services.messages import check_variants, message_for

# Hash buckets are 0..9999, so percentages can have two decimals.
BUCKETS = 10_000
REACHED = ("sent", "delivered", "opened", "clicked")


def _bucket_sql(salt_param: str) -> str:
    """A stable bucket in [0, 10000) from md5(salt || customer public id)."""
    return (
        f"(('x' || substr(md5({salt_param} || c.public_id::text), 1, 8))::bit(32)::bigint"
        f" %% {BUCKETS})"
    )


# --- Configuration --------------------------------------------------------------------------


def set_experiment(
    *,
    campaign: Campaign,
    arms: list[dict[str, Any]],
    metric: str = Experiment.Metric.CONVERSION,
    significance_level: Decimal | float | str = "0.05",
    test_percent: int = 100,
) -> Experiment:
    """Create or replace a campaign's experiment. Refused once anything was sent."""
    cleaned = _clean_arms(arms)
    if metric not in Experiment.Metric.values:
        raise InvalidExperiment(
            "Unknown metric.", field="metric", known=list(Experiment.Metric.values)
        )
    try:
        level = Decimal(str(significance_level))
    except ArithmeticError:
        raise InvalidExperiment(
            "The significance level is a number.", field="significance_level"
        ) from None
    if not (Decimal(0) < level < Decimal("0.5")):
        raise InvalidExperiment(
            "The significance level is between 0 and 0.5 (e.g. 0.05).",
            field="significance_level",
        )
    if isinstance(test_percent, bool) or not isinstance(test_percent, int):
        raise InvalidExperiment("The test share is a whole percentage.", field="test_percent")
    if not 1 <= test_percent <= 100:
        raise InvalidExperiment("The test share is from 1 to 100 percent.", field="test_percent")
    if test_percent < 100 and campaign.kind != Campaign.Kind.ONE_OFF:
        raise InvalidExperiment(
            "Only one-off campaigns can test on a share and then send the winner.",
            field="test_percent",
        )
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status in (Campaign.Status.CANCELLED, Campaign.Status.SENT):
            raise CampaignClosed(status=locked.status)
        if Assignment.objects.filter(campaign=locked).exists():
            raise CampaignClosed(
                "The campaign has started; its experiment can no longer change.",
                status=locked.status,
            )
        Experiment.objects.filter(campaign=locked).delete()
        experiment = Experiment.objects.create(
            campaign=locked,
            metric=metric,
            significance_level=level,
            test_percent=test_percent,
        )
        Arm.objects.bulk_create(
            Arm(experiment=experiment, position=index, **arm) for index, arm in enumerate(cleaned)
        )
    return experiment


def _clean_arms(arms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(arms, list) or len(arms) < 2:
        raise InvalidExperiment("An experiment needs at least two arms.", field="arms")
    cleaned = []
    for index, arm in enumerate(arms):
        key = str(arm.get("key", "")).strip()
        split = arm.get("split_percent")
        if not key or len(key) > 8 or not key.replace("-", "").replace("_", "").isalnum():
            raise InvalidExperiment(
                "Arm keys are 1-8 letters or digits (A, B, C...).", field=f"arms[{index}].key"
            )
        if isinstance(split, bool) or not isinstance(split, int) or not 1 <= split <= 100:
            raise InvalidExperiment(
                "Splits are whole percentages from 1 to 100.",
                field=f"arms[{index}].split_percent",
            )
        cleaned.append(
            {"key": key, "name": str(arm.get("name", "")).strip()[:120], "split_percent": split}
        )
    keys = [arm["key"] for arm in cleaned]
    if len(set(keys)) != len(keys):
        raise InvalidExperiment("Arm keys are unique.", field="arms", keys=keys)
    total = sum(arm["split_percent"] for arm in cleaned)
    if total != 100:
        raise InvalidExperiment(
            f"The arms' splits sum to {total}, not 100.", field="arms", total=total
        )
    return cleaned


def experiment_of(campaign: Campaign) -> Experiment | None:
    return Experiment.objects.filter(campaign=campaign).prefetch_related("arms").first()


def check_arm_messages(campaign: Campaign, step_key: str) -> None:
    """Every arm has a variant on every channel (its own message, or the step's)."""
    experiment = experiment_of(campaign)
    if experiment is None:
        return
    for arm in experiment.arms.all():
        check_variants(campaign, message_for(campaign, step_key, arm=arm.key))


# --- Assignment -----------------------------------------------------------------------------


def assign(
    *, campaign: Campaign, customers: QuerySet, now: datetime.datetime, rest: bool = False
) -> tuple[QuerySet, dict[str, int]]:
    """Assign every customer of the audience not yet assigned (one statement), and return
    the customers to deliver to with the counts held out of this audience.

    Test phase (a test share under 100, no winner sent yet): only customers in the test
    share are delivered to. `rest=True`: the customers outside the test share, who get
    the winner."""
    if campaign.transactional:
        return customers, {}
    experiment = experiment_of(campaign)
    arms = list(experiment.arms.all()) if experiment else []
    global_share = int(round(float(conf.get("OMNI_GLOBAL_HOLDOUT_PERCENT")) * BUCKETS / 100))
    holdout_share = int(campaign.holdout_percent) * BUCKETS // 100
    test_share = (experiment.test_percent if experiment else 100) * BUCKETS // 100
    winner_id = experiment.winner_id if experiment and experiment.winner_sent_at else None
    ranges = []
    low = 0
    for arm in arms:
        high = low + arm.split_percent * BUCKETS // 100
        ranges.append((arm.pk, low, high))
        low = high
    audience = customers.order_by().values("pk")
    inner_sql, inner_params = audience.query.sql_with_params()
    salt = str(campaign.public_id)
    if ranges:
        values = ", ".join("(%s, %s, %s)" for _ in ranges)
        arm_sql = f"""(SELECT r.arm_id FROM (VALUES {values}) AS r(arm_id, low, high)
                       WHERE {_bucket_sql("%s")} >= r.low AND {_bucket_sql("%s")} < r.high)"""  # noqa: S608
        arm_params = [value for row in ranges for value in row] + [f"arm:{salt}:"] * 2
    else:
        arm_sql, arm_params = "NULL::bigint", []
    sql = f"""
        INSERT INTO campaigns_assignment
            (campaign_id, customer_id, "group", arm_id, in_test, assigned_at)
        SELECT %s, c.id, x.grp,
               CASE WHEN x.grp <> 'treatment' THEN NULL
                    WHEN x.in_test THEN x.arm_id
                    ELSE %s::bigint END,
               x.in_test, %s
        FROM customers_customer c
        CROSS JOIN LATERAL (
            SELECT CASE WHEN {_bucket_sql("%s")} < %s THEN 'global_holdout'
                        WHEN {_bucket_sql("%s")} < %s THEN 'holdout'
                        ELSE 'treatment' END AS grp,
                   {_bucket_sql("%s")} < %s AS in_test,
                   {arm_sql} AS arm_id
        ) AS x
        WHERE c.id IN ({inner_sql})
        ON CONFLICT (campaign_id, customer_id) DO NOTHING
    """  # noqa: S608 - only placeholders are interpolated; values are parameters
    params = [
        campaign.pk,
        winner_id,
        now,
        f"{conf.get('OMNI_GLOBAL_HOLDOUT_SALT')}:",
        global_share,
        f"holdout:{salt}:",
        holdout_share,
        f"test:{salt}:",
        test_share,
        *arm_params,
        *inner_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    mine = Assignment.objects.filter(campaign=campaign)
    held = {
        group: count
        for group, count in _held_counts(campaign, customers).items()
        if group != Assignment.Group.TREATMENT
    }
    deliverable = mine.filter(group=Assignment.Group.TREATMENT)
    if experiment is not None:
        deliverable = deliverable.filter(arm__isnull=False)
        if rest:
            deliverable = deliverable.filter(in_test=False)
        elif experiment.test_percent < 100 and experiment.winner_sent_at is None:
            deliverable = deliverable.filter(in_test=True)
    return customers.filter(pk__in=deliverable.values("customer_id")), held


def _held_counts(campaign: Campaign, customers: QuerySet) -> dict[str, int]:
    from django.db.models import Count

    rows = (
        Assignment.objects.filter(campaign=campaign, customer__in=customers.order_by().values("pk"))
        .values("group")
        .annotate(n=Count("pk"))
    )
    return {row["group"]: row["n"] for row in rows}


# --- Deciding -------------------------------------------------------------------------------


def arm_figures(experiment: Experiment) -> list[dict[str, Any]]:
    """Per arm, among the test share's customers reached: recipients, converters (credited
    orders to this campaign), revenue per recipient with its sample variance."""
    sql = """
        WITH reached AS (
            SELECT a.arm_id, a.customer_id
            FROM campaigns_assignment a
            WHERE a.campaign_id = %s AND a."group" = 'treatment' AND a.in_test
              AND a.arm_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM campaigns_delivery d
                          WHERE d.campaign_id = a.campaign_id AND d.customer_id = a.customer_id
                            AND d.state = ANY(%s))
        ), per_customer AS (
            SELECT r.arm_id, r.customer_id, COALESCE(SUM(t.revenue), 0) AS revenue,
                   COUNT(t.id) > 0 AS converted
            FROM reached r
            LEFT JOIN campaigns_attribution t
                   ON t.customer_id = r.customer_id AND t.campaign_id = %s
            GROUP BY r.arm_id, r.customer_id
        )
        SELECT arm_id, COUNT(*), SUM(converted::int), SUM(revenue), COALESCE(VAR_SAMP(revenue), 0)
        FROM per_customer GROUP BY arm_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [experiment.campaign_id, list(REACHED), experiment.campaign_id])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    figures = []
    for arm in experiment.arms.all():
        n, converters, revenue, variance = rows.get(arm.pk, (0, 0, Decimal(0), Decimal(0)))
        figures.append(
            {
                "arm": arm.key,
                "name": arm.name,
                "split_percent": arm.split_percent,
                "recipients": n,
                "converters": int(converters or 0),
                "conversion_rate": (converters or 0) / n if n else 0.0,
                "revenue": str(Decimal(revenue or 0).quantize(Decimal("0.01"))),
                "revenue_per_recipient": float(revenue or 0) / n if n else 0.0,
                "revenue_variance": float(variance or 0),
            }
        )
    return figures


def evaluate(experiment: Experiment) -> dict[str, Any]:
    """The figures and the comparisons of the best arm against each other arm."""
    figures = arm_figures(experiment)
    by_metric = "conversion_rate" if experiment.metric == "conversion" else "revenue_per_recipient"
    ranked = sorted(figures, key=lambda arm: arm[by_metric], reverse=True)
    best = ranked[0]
    comparisons = []
    level = float(experiment.significance_level)
    threshold = level / max(1, len(figures) - 1)
    for other in ranked[1:]:
        if experiment.metric == "conversion":
            test = stats.two_proportion_z_test(
                best["converters"], best["recipients"], other["converters"], other["recipients"]
            )
        else:
            test = stats.welch_t_test(
                best["revenue_per_recipient"],
                best["revenue_variance"],
                best["recipients"],
                other["revenue_per_recipient"],
                other["revenue_variance"],
                other["recipients"],
            )
        comparisons.append(
            {
                "arm": best["arm"],
                "against": other["arm"],
                "statistic": round(test.statistic, 6),
                "p_value": test.p_value,
                "df": round(test.df, 3) if test.df is not None else None,
                "significant": test.p_value < threshold and best[by_metric] > other[by_metric],
            }
        )
    significant = bool(comparisons) and all(c["significant"] for c in comparisons)
    return {
        "metric": experiment.metric,
        "significance_level": level,
        "threshold": threshold,
        "arms": figures,
        "comparisons": comparisons,
        "leader": best["arm"],
        "winner": best["arm"] if significant else None,
    }


def decide_experiment(*, campaign: Campaign, now: datetime.datetime | None = None) -> Experiment:
    """Evaluate the test; declare the winner only with significance. Once the winner was
    sent to the rest, the decision stands."""
    now = now or timezone.now()
    experiment = experiment_of(campaign)
    if experiment is None:
        raise InvalidExperiment("This campaign has no experiment.")
    if experiment.winner_sent_at is not None:
        return experiment
    result = evaluate(experiment)
    winner = next((arm for arm in experiment.arms.all() if arm.key == result["winner"]), None)
    Experiment.objects.filter(pk=experiment.pk, winner_sent_at__isnull=True).update(
        result=result, winner=winner, decided_at=now if winner else None
    )
    return experiment_of(campaign)


def send_winner(*, campaign: Campaign, now: datetime.datetime | None = None):
    """The rest of the audience (outside the test share) gets the winning arm's message."""
    from campaigns.services import sending

    now = now or timezone.now()
    experiment = experiment_of(campaign)
    if experiment is None:
        raise InvalidExperiment("This campaign has no experiment.")
    if experiment.test_percent >= 100:
        raise InvalidExperiment(
            "Every customer was in the test; there is no rest to send to.", field="test_percent"
        )
    if experiment.winner_id is None:
        raise NoWinner(result=experiment.result)
    with transaction.atomic():
        Experiment.objects.filter(pk=experiment.pk, winner_sent_at__isnull=True).update(
            winner_sent_at=now
        )
        Assignment.objects.filter(
            campaign=campaign, group=Assignment.Group.TREATMENT, in_test=False, arm__isnull=True
        ).update(arm_id=experiment.winner_id)
        return sending.send_campaign(campaign=campaign, all_with_consent=True, now=now, rest=True)
