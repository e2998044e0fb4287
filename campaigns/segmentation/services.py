"""Creating, editing, counting and listing segments.

Rules kept here:
- A dynamic segment's rules are valid when saved (a bad tree writes nothing and names
  the path of what is wrong); a static segment has no rules, only members.
- A segment's customers are one query: merged-away and erased customers never appear.
- A segment a campaign targets cannot be deleted.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from campaigns import audience
from campaigns.segment_models import Segment, everyone
from campaigns.segmentation.errors import (
    InvalidRules,
    SegmentInUse,
    SegmentNameTaken,
    SegmentNotFound,
)
from campaigns.segmentation.rules import (
    compile_rules,
    live_customers,
    segment_filter,
    validate_rules,
)

EDITABLE = ("name", "description", "kind", "rules")


def find_segment(public_id) -> Segment:
    segment = Segment.objects.filter(public_id=public_id).first()
    if segment is None:
        raise SegmentNotFound(segment=str(public_id))
    return segment


def _check(*, kind: str, rules: Any, segment_id: int | None) -> Any:
    if kind == Segment.Kind.STATIC:
        if rules not in (None, everyone()):
            raise InvalidRules("A static segment has members, not rules.", path="$")
        return everyone()
    rules = everyone() if rules is None else rules
    validate_rules(rules, segment_id=segment_id)
    return rules


def create_segment(
    *,
    name: str,
    kind: str = Segment.Kind.DYNAMIC,
    rules: Any = None,
    description: str = "",
    created_by=None,
) -> Segment:
    """A segment with valid rules (dynamic) or an empty list (static)."""
    rules = _check(kind=kind, rules=rules, segment_id=None)
    try:
        with transaction.atomic():
            return Segment.objects.create(
                name=name, kind=kind, rules=rules, description=description, created_by=created_by
            )
    except IntegrityError:
        raise SegmentNameTaken(name=name) from None


def update_segment(*, segment: Segment, **changes: Any) -> Segment:
    """Change name, description, kind or rules. A segment that campaigns target keeps
    its kind (their audience would change under them); a list switched to rules drops
    its members."""
    changes = {key: value for key, value in changes.items() if key in EDITABLE}
    kind = changes.get("kind", segment.kind)
    if kind != segment.kind and segment.campaigns.exists():
        raise SegmentInUse("Campaigns target this segment; its kind cannot change.")
    rules = changes.get("rules", segment.rules if kind == segment.kind else None)
    changes["rules"] = _check(kind=kind, rules=rules, segment_id=segment.pk)
    try:
        with transaction.atomic():
            for key, value in changes.items():
                setattr(segment, key, value)
            segment.save()
            if kind == Segment.Kind.DYNAMIC:
                segment.members.all().delete()
    except IntegrityError:
        raise SegmentNameTaken(name=changes.get("name")) from None
    return segment


def including_segments(segment: Segment) -> list[str]:
    """Names of the segments whose rules include this one (`in_segment`)."""
    return list(
        Segment.objects.exclude(pk=segment.pk)
        .annotate(text=Cast("rules", TextField()))
        .filter(text__contains=str(segment.public_id))
        .values_list("name", flat=True)[:20]
    )


def delete_segment(*, segment: Segment) -> None:
    """Delete a segment nothing depends on: no campaign targets it, no segment includes
    it."""
    if segment.campaigns.exists():
        raise SegmentInUse(campaigns=list(segment.campaigns.values_list("name", flat=True)[:20]))
    including = including_segments(segment)
    if including:
        raise SegmentInUse(
            "Other segments include this one; change them first.", segments=including
        )
    with transaction.atomic():
        segment.delete()


def customers_matching(
    rules: Any,
    *,
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
    segment_id: int | None = None,
) -> QuerySet:
    """The customers an unsaved rule tree selects (validated first). `segment_id`: the
    segment being edited, which its own rules may not include."""
    return live_customers().filter(
        compile_rules(rules, now=now, policy=policy, segment_id=segment_id)
    )


def segment_customers(
    segment: Segment,
    *,
    now: datetime.datetime | None = None,
    policy: audience.AudiencePolicy | None = None,
) -> QuerySet:
    """The segment's customers now: its rules compiled, or its list."""
    return live_customers().filter(segment_filter(segment, now=now, policy=policy))
