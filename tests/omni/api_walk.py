"""Every operation under /api/v1/, from the URL configuration itself."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLE_UUID = str(uuid.UUID(int=7))
SAMPLES = {"pk": "1", "public_id": SAMPLE_UUID, "number": "OM-404", "code": "NOPE", "slug": "nope"}
_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Operation:
    method: str
    route: str
    url: str
    view: type
    action: str | None = None

    def view_instance(self):
        """The view as DRF sets it up for this operation (some views pick their scopes
        per action in `get_permissions`)."""
        view = self.view(action=self.action) if self.action else self.view()
        view.get_permissions()
        return view

    def __str__(self) -> str:
        return f"{self.method} /{self.route}"


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _sample(name: str, kind: str | None = None) -> str:
    if kind == "uuid":
        return SAMPLE_UUID
    if kind == "int":
        return "1"
    return SAMPLES.get(name, "x")


def _concrete(route: str) -> str:
    url = _GROUP.sub(lambda m: _sample(m["name"]), route)
    url = _CONVERTER.sub(lambda m: _sample(m["name"], m["kind"]), url)
    return "/" + url.replace("^", "").replace("$", "")


def api_operations(prefix: str = "api/v1/") -> list[Operation]:
    operations = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith(prefix) or "(?P<format>" in route:
            continue
        callback = pattern.callback
        view = getattr(callback, "cls", None)
        if view is None:
            continue
        actions = getattr(callback, "actions", None)
        if actions:
            methods = set(actions)
        else:
            methods = {m for m in view.http_method_names if hasattr(view, m)}
        for method in sorted(methods - {"options", "head"}):
            action = actions.get(method) if actions else None
            operations.append(Operation(method.upper(), route, _concrete(route), view, action))
    return operations
