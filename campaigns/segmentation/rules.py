"""A segment's rule tree, checked and compiled into one query on customers.

The tree is data: a group is `{"all": [...]}` or `{"any": [...]}` with an optional
`"not": true`; a leaf is `{"field": ..., "op": ..., "value": ...}`, and behaviour leaves
take an optional `"within_days"`. `validate_rules` refuses a bad tree with `InvalidRules`
naming the path of the first bad part (`all[2].value`); `compile_rules` turns a valid tree
into a single `Q` on `Customer`: related tables are reached with `Exists` subqueries,
never by loading customers into Python.

Every leaf compiles to a condition that is true or false, never SQL NULL (a missing birth
date, metrics row or loyalty account counts as the field's default or as "does not
match"), so a negated group means exactly "not this", as a marketer reads it.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns import audience
from campaigns.segmentation.errors import InvalidRules
from customers.models import (
    ActivityEvent,
    Channel,
    ConsentChannel,
    Customer,
    CustomerMetrics,
    Identity,
    LoyaltyAccount,
    LoyaltyTier,
)
from inventory.models import Category, Location, Product
from orders.models import Cart, CartLine, Order, OrderLine, Return, SalesChannel

MAX_DEPTH = 6
MAX_LEAVES = 60
MAX_DAYS = 36_500
# A cart counts as abandoned once nobody touched it for this long.
ABANDONED_AFTER = datetime.timedelta(hours=1)

NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
CHOICE_OPS = ("eq", "ne", "in", "not_in")
BOOL_OPS = ("is",)
EVENT_OPS = ("has", "has_not")
DATE_OPS = ("before", "after", "within_last_days", "not_within_last_days", "is_set", "is_not_set")
NO_VALUE_OPS = ("is_set", "is_not_set")
NEGATIVE_OPS = {"ne": "eq", "not_in": "in", "has_not": "has"}


@dataclass(frozen=True)
class FieldSpec:
    """What a rule field is, for validation, the admin's builder and the API docs."""

    name: str
    label: str
    group: str
    type: str  # number, choice, text, bool, event, date
    ops: tuple[str, ...]
    choices: tuple[tuple[str, str], ...] = ()
    # For event fields: what the value names (product, category, store, channel) or None.
    refers_to: str | None = None
    windowed: bool = False
    integer: bool = False
    help: str = ""

    def describe(self) -> dict:
        return {
            "field": self.name,
            "label": self.label,
            "group": self.group,
            "type": self.type,
            "ops": list(self.ops),
            "choices": [{"value": v, "label": label} for v, label in self.choices],
            "refers_to": self.refers_to,
            "within_days": self.windowed,
            "help": self.help,
        }


def _choices(enum) -> tuple[tuple[str, str], ...]:
    return tuple((value, str(label)) for value, label in enum.choices)


_SPECS = [
    # --- Profile
    FieldSpec("age", "Age", "Profile", "number", NUMBER_OPS, integer=True),
    FieldSpec("gender", "Gender", "Profile", "choice", CHOICE_OPS, _choices(Customer.Gender)),
    FieldSpec("city", "City", "Profile", "text", CHOICE_OPS, help="Case does not matter."),
    FieldSpec("region", "Region", "Profile", "text", CHOICE_OPS),
    FieldSpec("country", "Country", "Profile", "text", CHOICE_OPS, help="ISO code, e.g. PT"),
    FieldSpec("time_zone", "Time zone", "Profile", "text", CHOICE_OPS, help="e.g. Europe/Lisbon"),
    FieldSpec("language", "Language", "Profile", "text", CHOICE_OPS, help="e.g. pt-PT"),
    FieldSpec(
        "preferred_store",
        "Preferred store",
        "Profile",
        "choice",
        CHOICE_OPS,
        refers_to="store",
        help="Store code",
    ),
    FieldSpec(
        "acquisition_channel",
        "Acquisition channel",
        "Profile",
        "choice",
        CHOICE_OPS,
        _choices(Channel),
    ),
    FieldSpec(
        "lifecycle_stage",
        "Lifecycle stage",
        "Profile",
        "choice",
        CHOICE_OPS,
        _choices(CustomerMetrics.Stage),
    ),
    FieldSpec(
        "rfm_segment",
        "RFM segment",
        "Profile",
        "choice",
        CHOICE_OPS,
        _choices(CustomerMetrics.Segment),
    ),
    FieldSpec(
        "loyalty_tier", "Loyalty tier", "Profile", "choice", CHOICE_OPS, _choices(LoyaltyTier)
    ),
    # --- Devices and channels
    FieldSpec("app_installed", "Has the app installed", "Devices and channels", "bool", BOOL_OPS),
    FieldSpec("has_email", "Has an email address", "Devices and channels", "bool", BOOL_OPS),
    FieldSpec("has_phone", "Has a phone number", "Devices and channels", "bool", BOOL_OPS),
    FieldSpec(
        "multichannel_buyer",
        "Buys on more than one channel",
        "Devices and channels",
        "bool",
        BOOL_OPS,
    ),
    FieldSpec(
        "purchase_channel",
        "Bought through channel",
        "Devices and channels",
        "event",
        EVENT_OPS,
        _choices(SalesChannel),
        refers_to="channel",
        windowed=True,
    ),
    # --- Behaviour
    FieldSpec(
        "bought_product",
        "Bought product",
        "Behaviour",
        "event",
        EVENT_OPS,
        refers_to="product",
        windowed=True,
        help="Product slug(s)",
    ),
    FieldSpec(
        "bought_category",
        "Bought in category",
        "Behaviour",
        "event",
        EVENT_OPS,
        refers_to="category",
        windowed=True,
        help="Category slug(s); subcategories included",
    ),
    FieldSpec(
        "viewed_product",
        "Viewed product",
        "Behaviour",
        "event",
        EVENT_OPS,
        refers_to="product",
        windowed=True,
        help="Product slug(s)",
    ),
    FieldSpec(
        "visited_store",
        "Visited store",
        "Behaviour",
        "event",
        EVENT_OPS,
        refers_to="store",
        windowed=True,
        help="Store code(s); a visit or a purchase at the till",
    ),
    FieldSpec("returned", "Returned something", "Behaviour", "event", EVENT_OPS, windowed=True),
    FieldSpec(
        "abandoned_cart",
        "Has an abandoned cart",
        "Behaviour",
        "event",
        EVENT_OPS,
        windowed=True,
        help="An open cart with items, idle for an hour or more",
    ),
    FieldSpec("order_count", "Number of orders", "Behaviour", "number", NUMBER_OPS, integer=True),
    FieldSpec(
        "spend", "Net spend (lifetime)", "Behaviour", "number", NUMBER_OPS, help="After returns"
    ),
    FieldSpec("spend_12_months", "Net spend (last 12 months)", "Behaviour", "number", NUMBER_OPS),
    FieldSpec("average_order_value", "Average order value", "Behaviour", "number", NUMBER_OPS),
    FieldSpec("return_count", "Number of returns", "Behaviour", "number", NUMBER_OPS, integer=True),
    FieldSpec("last_order_date", "Last order", "Behaviour", "date", DATE_OPS),
    # --- Consent and lists
    FieldSpec(
        "consent",
        "Marketing consent on",
        "Consent",
        "event",
        EVENT_OPS,
        _choices(ConsentChannel),
        refers_to="consent_channel",
    ),
    FieldSpec(
        "in_segment",
        "In segment",
        "Lists",
        "event",
        EVENT_OPS,
        refers_to="segment",
        help="Another segment's ID",
    ),
]
FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}

# Values a missing metrics row or loyalty account stands for.
METRICS_COLUMNS = {
    "lifecycle_stage": ("lifecycle_stage", CustomerMetrics.Stage.PROSPECT.value),
    "rfm_segment": ("rfm_segment", ""),
    "order_count": ("order_count", Decimal(0)),
    "spend": ("lifetime_value", Decimal(0)),
    "spend_12_months": ("monetary", Decimal(0)),
    "average_order_value": ("average_order_value", Decimal(0)),
    "return_count": ("return_count", Decimal(0)),
    "multichannel_buyer": ("channel_count", 0),
    "last_order_date": ("last_order_at", None),
}
CUSTOMER_TEXT_COLUMNS = ("city", "region", "country", "time_zone", "language")
IDENTITY_KINDS = {
    "app_installed": Identity.Kind.APP_INSTALL,
    "has_email": Identity.Kind.EMAIL,
    "has_phone": Identity.Kind.PHONE,
}


# --- Validation -----------------------------------------------------------------------------


@dataclass
class Leaf:
    field: str
    op: str
    value: Any
    within_days: int | None
    # Database ids the value names (products, categories with their subcategories, stores,
    # a segment), looked up once while validating.
    ids: list[int] = field(default_factory=list)


@dataclass
class Group:
    kind: str  # "all" or "any"
    negate: bool
    children: list[Group | Leaf]


class _Checker:
    def __init__(self, *, segment_stack: tuple[int, ...]) -> None:
        self.leaves = 0
        self.segment_stack = segment_stack

    def fail(self, path: str, message: str, **details: Any) -> InvalidRules:
        return InvalidRules(message, path=path or "$", **details)

    def group(self, node: Any, path: str, depth: int) -> Group:
        if not isinstance(node, dict):
            raise self.fail(path, "A group is an object with `all` or `any`.")
        kinds = [key for key in ("all", "any") if key in node]
        unknown = sorted(set(node) - {"all", "any", "not"})
        if unknown:
            raise self.fail(_join(path, unknown[0]), f"Unknown key `{unknown[0]}` in a group.")
        if len(kinds) != 1:
            raise self.fail(path, "A group has exactly one of `all` or `any`.")
        if depth > MAX_DEPTH:
            raise self.fail(path, f"Groups nest at most {MAX_DEPTH} deep.")
        kind = kinds[0]
        negate = node.get("not", False)
        if not isinstance(negate, bool):
            raise self.fail(_join(path, "not"), "`not` is true or false.")
        items = node[kind]
        if not isinstance(items, list):
            raise self.fail(_join(path, kind), f"`{kind}` is a list of rules and groups.")
        children: list[Group | Leaf] = []
        for index, item in enumerate(items):
            child_path = f"{_join(path, kind)}[{index}]"
            if isinstance(item, dict) and ("all" in item or "any" in item):
                children.append(self.group(item, child_path, depth + 1))
            else:
                children.append(self.leaf(item, child_path))
        return Group(kind=kind, negate=negate, children=children)

    def leaf(self, node: Any, path: str) -> Leaf:
        if not isinstance(node, dict) or "field" not in node:
            raise self.fail(path, "A rule is an object with `field`, `op` and `value`.")
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            raise self.fail(path, f"A segment has at most {MAX_LEAVES} rules.")
        unknown = sorted(set(node) - {"field", "op", "value", "within_days"})
        if unknown:
            raise self.fail(_join(path, unknown[0]), f"Unknown key `{unknown[0]}` in a rule.")
        name = node["field"]
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None:
            raise self.fail(_join(path, "field"), f"Unknown field `{name}`.", known=sorted(FIELDS))
        op = node.get("op")
        if op not in spec.ops:
            raise self.fail(
                _join(path, "op"),
                f"`{op}` is not an operator of `{name}`.",
                known=list(spec.ops),
            )
        within = node.get("within_days")
        if within is not None:
            if not spec.windowed:
                raise self.fail(_join(path, "within_days"), f"`{name}` takes no time window.")
            if not _is_int(within) or not 1 <= within <= MAX_DAYS:
                raise self.fail(
                    _join(path, "within_days"), f"`within_days` is a whole number, 1 to {MAX_DAYS}."
                )
        leaf = Leaf(field=name, op=op, value=node.get("value"), within_days=within)
        value_path = _join(path, "value")
        leaf.value = self.value(spec, op, node, value_path)
        leaf.ids = self.references(spec, leaf.value, value_path)
        return leaf

    def value(self, spec: FieldSpec, op: str, node: dict, path: str) -> Any:
        value = node.get("value")
        if op in NO_VALUE_OPS:
            if value is not None:
                raise self.fail(path, f"`{op}` takes no value.")
            return None
        if spec.type == "bool":
            if not isinstance(value, bool):
                raise self.fail(path, "The value is true or false.")
            return value
        if spec.type == "number":
            if op == "between":
                if not isinstance(value, list) or len(value) != 2:
                    raise self.fail(path, "`between` takes [low, high].")
                low, high = (
                    self.number(spec, item, f"{path}[{i}]") for i, item in enumerate(value)
                )
                if low > high:
                    raise self.fail(path, "The low end is above the high end.")
                return [low, high]
            return self.number(spec, value, path)
        if spec.type == "date":
            if op in ("within_last_days", "not_within_last_days"):
                if not _is_int(value) or not 0 <= value <= MAX_DAYS:
                    raise self.fail(path, f"A number of days, 0 to {MAX_DAYS}.")
                return value
            if not isinstance(value, str):
                raise self.fail(path, "A date, YYYY-MM-DD.")
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise self.fail(path, "A date, YYYY-MM-DD.") from None
        if spec.type in ("choice", "text"):
            many = op in ("in", "not_in")
            values = self.strings(value, path, many=many)
            if spec.choices:
                allowed = {choice for choice, _ in spec.choices}
                for index, item in enumerate(values):
                    if item not in allowed:
                        raise self.fail(
                            f"{path}[{index}]" if many else path,
                            f"`{item}` is not a {spec.label.lower()}.",
                            known=sorted(allowed),
                        )
            return values
        # Event fields: a name or a list of names, or nothing for the plain ones.
        if spec.refers_to is None:
            if value is not None:
                raise self.fail(path, f"`{spec.name}` takes no value.")
            return None
        values = self.strings(value, path, many=isinstance(value, list))
        if spec.choices:
            allowed = {choice for choice, _ in spec.choices}
            for index, item in enumerate(values):
                if item not in allowed:
                    raise self.fail(
                        f"{path}[{index}]" if isinstance(value, list) else path,
                        f"`{item}` is not a {spec.label.lower().split()[-1]} value.",
                        known=sorted(allowed),
                    )
        return values

    def number(self, spec: FieldSpec, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(path, "A number.")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(path, "A number.") from None
        if not number.is_finite() or abs(number) > Decimal("1e12"):
            raise self.fail(path, "A number.")
        if spec.integer and number != number.to_integral_value():
            raise self.fail(path, "A whole number.")
        if number < 0:
            raise self.fail(path, "Not below zero.")
        return number

    def strings(self, value: Any, path: str, *, many: bool) -> list[str]:
        if many:
            if not isinstance(value, list) or not value:
                raise self.fail(path, "Choose at least one value.")
            if len(value) > 500:
                raise self.fail(path, "At most 500 values.")
            for index, item in enumerate(value):
                if not isinstance(item, str) or not item.strip():
                    raise self.fail(f"{path}[{index}]", "Enter a value.")
            return [item.strip() for item in value]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "Enter a value.")
        return [value.strip()]

    def references(self, spec: FieldSpec, values: Any, path: str) -> list[int]:
        kind = spec.refers_to
        if kind not in ("product", "category", "store", "segment"):
            return []
        if kind == "segment":
            return [self.segment(values, path)]
        model, key = {
            "product": (Product, "slug"),
            "category": (Category, "slug"),
            "store": (Location, "code"),
        }[kind]
        found = dict(model.objects.filter(**{f"{key}__in": values}).values_list(key, "pk"))
        for index, value in enumerate(values):
            if value not in found:
                where = f"{path}[{index}]" if len(values) > 1 else path
                raise self.fail(where, f"No {kind} `{value}`.", **{kind: value})
        ids = [found[value] for value in values]
        if kind == "category":
            ids = _with_subcategories(ids)
        return ids

    def segment(self, values: list[str], path: str) -> int:
        from campaigns.segment_models import Segment

        if len(values) != 1:
            raise self.fail(path, "One segment ID.")
        try:
            public_id = uuid.UUID(values[0])
        except ValueError:
            raise self.fail(path, "A segment ID.") from None
        segment = Segment.objects.filter(public_id=public_id).first()
        if segment is None:
            raise self.fail(path, "No such segment.", segment=values[0])
        if segment.pk in self.segment_stack or _includes(segment, set(self.segment_stack)):
            raise self.fail(path, "A segment cannot include itself.", segment=values[0])
        return segment.pk


def _includes(segment, targets: set[int], seen: set[int] | None = None) -> bool:
    """Whether a segment's rules reach one of `targets` through `in_segment`, at any
    depth (saved trees only; a cycle already stored stops the walk)."""
    from campaigns.segment_models import Segment

    seen = seen if seen is not None else set()
    if segment.pk in seen or segment.kind != Segment.Kind.DYNAMIC:
        return False
    seen.add(segment.pk)
    referenced = []
    todo = [segment.rules]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if node.get("field") == "in_segment" and isinstance(node.get("value"), str):
                referenced.append(node["value"])
            todo.extend(value for key, value in node.items() if key in ("all", "any"))
        elif isinstance(node, list):
            todo.extend(node)
    for other in Segment.objects.filter(public_id__in=_uuids(referenced)):
        if other.pk in targets or _includes(other, targets, seen):
            return True
    return False


def _uuids(values: list[str]) -> list[uuid.UUID]:
    result = []
    for value in values:
        try:
            result.append(uuid.UUID(value))
        except ValueError:
            continue
    return result


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _with_subcategories(ids: list[int]) -> list[int]:
    """The categories and every category below them (the tree is small; customers are not
    read here)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    seen: set[int] = set()
    todo = list(ids)
    while todo:
        pk = todo.pop()
        if pk in seen:
            continue
        seen.add(pk)
        todo.extend(children.get(pk, []))
    return sorted(seen)


def validate_rules(rules: Any, *, segment_id: int | None = None) -> Group:
    """Check a rule tree; return its parsed form or raise `InvalidRules` with the path."""
    stack = (segment_id,) if segment_id else ()
    return _Checker(segment_stack=stack).group(rules, "", 0)


# --- Compilation ----------------------------------------------------------------------------


@dataclass
class Context:
    now: datetime.datetime
    policy: audience.AudiencePolicy
    segment_stack: tuple[int, ...] = ()


NOBODY = Q(pk__in=[])


def compile_rules(
    rules: Any,
    *,
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
    segment_id: int | None = None,
) -> Q:
    """One filter on `Customer` for a rule tree (validated first)."""
    tree = validate_rules(rules, segment_id=segment_id)
    context = Context(
        now=now or timezone.now(),
        policy=policy or audience.get_policy(),
        segment_stack=(segment_id,) if segment_id else (),
    )
    return _as_q(_reduce(tree, context))


def _as_q(result: Q | bool) -> Q:
    if result is True:
        return Q()
    if result is False:
        return NOBODY
    return result


def _reduce(group: Group, context: Context) -> Q | bool:
    """A group as a filter, or True/False when it holds for everyone or nobody (an empty
    `all` is everyone, an empty `any` nobody), so negation and nesting stay exact."""
    identity = group.kind == "all"  # all(): True, any(): False
    parts: list[Q] = []
    result: Q | bool = identity
    for child in group.children:
        part = _compile(child, context)
        if part is (not identity):
            result = not identity
            parts = []
            break
        if part is identity:
            continue
        parts.append(part)
    if parts:
        result = parts[0]
        for part in parts[1:]:
            result = result & part if group.kind == "all" else result | part
    return _negate(result) if group.negate else result


def _compile(node: Group | Leaf, context: Context) -> Q | bool:
    if isinstance(node, Group):
        return _reduce(node, context)
    spec = FIELDS[node.field]
    compile_leaf = _LEAVES[spec.type]
    if node.op == "not_within_last_days":
        return _negate(compile_leaf(node, spec, "within_last_days", context))
    if node.op in NEGATIVE_OPS:
        return _negate(compile_leaf(node, spec, NEGATIVE_OPS[node.op], context))
    return compile_leaf(node, spec, node.op, context)


def _negate(result: Q | bool) -> Q | bool:
    return (not result) if isinstance(result, bool) else ~result


def _since(leaf: Leaf, context: Context) -> datetime.datetime | None:
    if leaf.within_days is None:
        return None
    return context.now - datetime.timedelta(days=leaf.within_days)


def _compare(column: str, op: str, value: Any) -> Q:
    if op == "between":
        return Q(**{f"{column}__gte": value[0], f"{column}__lte": value[1]})
    if op == "eq":
        return Q(**{column: value})
    return Q(**{f"{column}__{op}": value})


def _matches_default(default: Any, op: str, value: Any) -> bool:
    """Python's answer for a customer without the row (the column's default)."""
    if default is None:
        return False
    if op == "eq":
        return default == value
    if op == "in":
        return default in value
    if op == "between":
        return value[0] <= default <= value[1]
    return {
        "gt": default > value,
        "gte": default >= value,
        "lt": default < value,
        "lte": default <= value,
    }[op]


def _metrics(leaf: Leaf, column: str, default: Any, condition: Q, op: str, value: Any) -> Q:
    rows = CustomerMetrics.objects.filter(customer=OuterRef("pk"))
    matched = Q(Exists(rows.filter(condition)))
    if _matches_default(default, op, value):
        return matched | ~Q(Exists(rows))
    return matched


def _number(leaf: Leaf, spec: FieldSpec, op: str, context: Context) -> Q:
    if spec.name == "age":
        return _age(leaf.value, op, context)
    column, default = METRICS_COLUMNS[spec.name]
    return _metrics(leaf, column, default, _compare(column, op, leaf.value), op, leaf.value)


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age(value: Any, op: str, context: Context) -> Q:
    """Age in whole years today: age >= n means born on or before today n years ago."""
    today = timezone.localdate(context.now)

    def at_least(years: Decimal) -> Q:
        return Q(birth_date__lte=_years_before(today, int(years)))

    def below(years: Decimal) -> Q:
        return Q(birth_date__gt=_years_before(today, int(years)))

    known = Q(birth_date__isnull=False)
    conditions = {
        "eq": lambda: at_least(value) & below(value + 1),
        "gt": lambda: at_least(value + 1),
        "gte": lambda: at_least(value),
        "lt": lambda: below(value),
        "lte": lambda: below(value + 1),
        "between": lambda: at_least(value[0]) & below(value[1] + 1),
    }
    return known & conditions[op]()


def _choice(leaf: Leaf, spec: FieldSpec, op: str, context: Context) -> Q:
    values = leaf.value
    name = spec.name
    if name in METRICS_COLUMNS:
        column, default = METRICS_COLUMNS[name]
        condition = Q(**{f"{column}__in": values})
        return _metrics(leaf, column, default, condition, "in", values)
    if name == "loyalty_tier":
        accounts = LoyaltyAccount.objects.filter(customer=OuterRef("pk"))
        matched = Q(Exists(accounts.filter(tier__in=values)))
        if LoyaltyTier.BRONZE.value in values:
            return matched | ~Q(Exists(accounts))
        return matched
    if name == "preferred_store":
        return Q(preferred_store_id__in=leaf.ids, preferred_store__isnull=False)
    if name in CUSTOMER_TEXT_COLUMNS or name in ("gender", "acquisition_channel"):
        result = NOBODY
        for value in values:
            part = Q(**{f"{name}__iexact": value})
            result = part if result is NOBODY else result | part
        return result
    raise AssertionError(name)  # pragma: no cover - every choice field is handled above


def _bool(leaf: Leaf, spec: FieldSpec, op: str, context: Context) -> Q:
    if spec.name in IDENTITY_KINDS:
        has = Q(
            Exists(Identity.objects.filter(customer=OuterRef("pk"), kind=IDENTITY_KINDS[spec.name]))
        )
    else:  # multichannel_buyer
        has = _metrics(leaf, "channel_count", 0, Q(channel_count__gte=2), "gte", 2)
    return has if leaf.value else ~has


def _date(leaf: Leaf, spec: FieldSpec, op: str, context: Context) -> Q:
    column, _ = METRICS_COLUMNS[spec.name]
    rows = CustomerMetrics.objects.filter(customer=OuterRef("pk"), **{f"{column}__isnull": False})
    if op == "is_set":
        return Q(Exists(rows))
    if op == "is_not_set":
        return ~Q(Exists(rows))
    if op == "within_last_days":
        return Q(Exists(rows.filter(**{f"{column}__gte": context.now - _days(leaf.value)})))
    start = _start_of_day(leaf.value)
    if op == "before":
        return Q(Exists(rows.filter(**{f"{column}__lt": start})))
    # after: on a later day than the one given
    return Q(Exists(rows.filter(**{f"{column}__gte": start + datetime.timedelta(days=1)})))


def _days(value: int) -> datetime.timedelta:
    return datetime.timedelta(days=value)


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=timezone.get_current_timezone())


def _live_orders(since: datetime.datetime | None):
    orders = Order.objects.filter(customer=OuterRef("pk")).exclude(status=Order.Status.CANCELLED)
    return orders.filter(placed_at__gte=since) if since else orders


def _bought(since, **lines) -> Q:
    query = OrderLine.objects.filter(order__customer=OuterRef("pk"), **lines).exclude(
        order__status=Order.Status.CANCELLED
    )
    if since:
        query = query.filter(order__placed_at__gte=since)
    return Q(Exists(query))


def _event(leaf: Leaf, spec: FieldSpec, op: str, context: Context) -> Q:
    since = _since(leaf, context)
    name = spec.name
    if name == "bought_product":
        return _bought(since, sku__product_id__in=leaf.ids)
    if name == "bought_category":
        return _bought(since, sku__product__category_id__in=leaf.ids)
    if name == "purchase_channel":
        return Q(Exists(_live_orders(since).filter(channel__in=leaf.value)))
    if name == "viewed_product":
        slugs = list(leaf.value)
        codes = list(Product.objects.filter(pk__in=leaf.ids).values_list("skus__code", flat=True))
        events = ActivityEvent.objects.filter(
            customer=OuterRef("pk"), type=ActivityEvent.Type.PRODUCT_VIEWED
        ).filter(Q(properties__product__in=slugs) | Q(properties__sku__in=[c for c in codes if c]))
        if since:
            events = events.filter(occurred_at__gte=since)
        return Q(Exists(events))
    if name == "visited_store":
        visits = ActivityEvent.objects.filter(
            customer=OuterRef("pk"),
            type=ActivityEvent.Type.STORE_VISITED,
            location_id__in=leaf.ids,
        )
        if since:
            visits = visits.filter(occurred_at__gte=since)
        till = _live_orders(since).filter(location_id__in=leaf.ids)
        return Q(Exists(visits)) | Q(Exists(till))
    if name == "returned":
        returns = Return.objects.filter(customer=OuterRef("pk")).exclude(
            status=Return.Status.CANCELLED
        )
        if since:
            returns = returns.filter(requested_at__gte=since)
        return Q(Exists(returns))
    if name == "abandoned_cart":
        carts = Cart.objects.filter(
            customer=OuterRef("pk"),
            status=Cart.Status.OPEN,
            last_activity_at__lte=context.now - ABANDONED_AFTER,
        ).filter(Exists(CartLine.objects.filter(cart=OuterRef("pk"))))
        if since:
            carts = carts.filter(last_activity_at__gte=since)
        return Q(Exists(carts))
    if name == "consent":
        result = NOBODY
        for channel in leaf.value:
            part = context.policy.consent_filter(channel)
            result = part if result is NOBODY else result | part
        return result
    if name == "in_segment":
        from campaigns.segment_models import Segment

        segment = Segment.objects.get(pk=leaf.ids[0])
        return _segment_condition(
            segment,
            Context(
                now=context.now,
                policy=context.policy,
                segment_stack=(*context.segment_stack, segment.pk),
            ),
        )
    raise AssertionError(name)  # pragma: no cover


_LEAVES: dict[str, Callable[[Leaf, FieldSpec, str, Context], Q | bool]] = {
    "number": _number,
    "choice": _choice,
    "text": _choice,
    "bool": _bool,
    "date": _date,
    "event": _event,
}


# --- Segments -------------------------------------------------------------------------------


def live_customers():
    """Customers a segment can hold: never a merged-away record or an erased person."""
    return Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)


def segment_filter(
    segment,
    *,
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
) -> Q:
    """The filter for a saved segment: its rules, or membership of its list."""
    context = Context(
        now=now or timezone.now(),
        policy=policy or audience.get_policy(),
        segment_stack=(segment.pk,),
    )
    return _as_q(_segment_condition(segment, context))


def _segment_condition(segment, context: Context) -> Q | bool:
    from campaigns.segment_models import Segment, SegmentMember

    if segment.kind == Segment.Kind.STATIC:
        return Q(Exists(SegmentMember.objects.filter(segment=segment, customer=OuterRef("pk"))))
    tree = _Checker(segment_stack=context.segment_stack).group(segment.rules, "", 0)
    return _reduce(tree, context)
