"""Personalisation: message templates rendered against a small, plain context.

Templates are written by marketers, so they get a restricted engine: no template loaders
(nothing to `include` or `extend`), no `{% load %}`, `{% debug %}`, `{% include %}` or
`{% extends %}`, and a context of plain strings and the caller's JSON-like `context` dict —
never model instances, whose attributes would let a template walk the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.utils.html import strip_tags

from omni.errors import BadRequest

_FORBIDDEN_TAGS = re.compile(r"{%-?\s*(load|include|extends|debug|ssi)\b")

_ENGINES = {
    True: Engine(dirs=[], app_dirs=False, loaders=[], autoescape=True, string_if_invalid=""),
    False: Engine(dirs=[], app_dirs=False, loaders=[], autoescape=False, string_if_invalid=""),
}


class InvalidTemplate(BadRequest):
    code = "invalid_template"
    message = "The message template cannot be rendered."


def compile_template(source: str, *, html: bool = False):
    match = _FORBIDDEN_TAGS.search(source or "")
    if match:
        raise InvalidTemplate(
            f"The tag '{match.group(1)}' is not allowed in messages.", tag=match.group(1)
        )
    try:
        return _ENGINES[html].from_string(source or "")
    except TemplateSyntaxError as error:
        raise InvalidTemplate(f"Template error: {error}") from None


def render_template(source: str, context: dict[str, Any], *, html: bool = False) -> str:
    return compile_template(source, html=html).render(Context(context, autoescape=html))


def customer_context(customer, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a message may say about its reader."""
    store = getattr(customer, "preferred_store", None) if customer is not None else None
    return {
        "first_name": (customer.first_name if customer else "") or "there",
        "full_name": customer.full_name if customer else "",
        "preferred_store": store.name if store else "",
        "context": extra or {},
    }


@dataclass
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str


@dataclass
class RenderedSms:
    text: str
    segments: dict = field(default_factory=dict)


@dataclass
class RenderedPush:
    title: str
    body: str
    deep_link: str


def render_email(variant, context: dict[str, Any]) -> RenderedEmail:
    html = render_template(variant.html, context, html=True)
    text = (
        render_template(variant.text, context) if variant.text.strip() else strip_tags(html).strip()
    )
    return RenderedEmail(
        subject=render_template(variant.subject, context).strip(),
        preheader=render_template(variant.preheader, context).strip(),
        html=html,
        text=text,
    )


def render_sms(variant, context: dict[str, Any]) -> RenderedSms:
    text = render_template(variant.text, context).strip()
    return RenderedSms(text=text, segments=count_sms_segments(text))


def render_push(variant, context: dict[str, Any]) -> RenderedPush:
    return RenderedPush(
        title=render_template(variant.title, context).strip(),
        body=render_template(variant.body, context).strip(),
        deep_link=render_template(variant.deep_link, context).strip(),
    )


# --- SMS segments (GSM 03.38) ---------------------------------------------------------------

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table cost two septets (escape + character).
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def count_sms_segments(text: str) -> dict:
    """How an SMS will travel: GSM-7 fits 160 septets in one message and 153 per part when
    concatenated; anything outside GSM-7 makes the whole text UCS-2, 70 and 67 (counted in
    UTF-16 code units, so an emoji counts twice)."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        encoding, single, multi = "gsm7", 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        encoding, single, multi = "ucs2", 70, 67
    if units <= single:
        segments = 1 if units else 0
    else:
        segments = -(-units // multi)
    per_segment = single if segments <= 1 else multi
    return {
        "encoding": encoding,
        "units": units,
        "segments": segments,
        "remaining": max(segments, 1) * per_segment - units,
    }
