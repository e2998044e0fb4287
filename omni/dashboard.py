"""The staff dashboard: small blocks ("panels") that each app registers for the roles that
need them. The dashboard shows the panels of the user's roles for the store they work in
now; an administrator sees every panel.

Each app keeps its panels in its own `dashboard.py` (discovered at start, like
`admin.py`)::

    register_panel(
        "pickups", "admin/omni/panels/pickups.html", pickups_panel,
        title="Today's pickups", roles={Role.STORE_ASSOCIATE, Role.STORE_MANAGER}, order=10,
    )

`context_fn(request, location)` returns the template's context, or None to leave the
block out (nothing to show yet). `needs_store` panels are skipped while no store is
chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.html import format_html

from omni.auth import roles_of
from omni.models import Role
from omni.stores import current_location


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context_fn: Callable
    title: str
    roles: frozenset[str]
    order: int
    needs_store: bool
    wide: bool


logger = logging.getLogger(__name__)

_PANELS: dict[str, Panel] = {}


def register_panel(
    name: str,
    template: str,
    context_fn: Callable,
    *,
    title: str,
    roles: Iterable[str],
    order: int = 50,
    needs_store: bool = False,
    wide: bool = False,
) -> None:
    """Add (or replace) a dashboard block."""
    _PANELS[name] = Panel(
        name=name,
        template=template,
        context_fn=context_fn,
        title=title,
        roles=frozenset(roles),
        order=order,
        needs_store=needs_store,
        wide=wide,
    )


def registered_panels() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.name))


def panels_for(user) -> list[Panel]:
    roles = roles_of(user)
    if Role.ADMINISTRATOR in roles:
        return registered_panels()
    return [panel for panel in registered_panels() if panel.roles & roles]


@dataclass
class RenderedPanel:
    name: str
    title: str
    html: str
    wide: bool


def render_dashboard(request) -> list[RenderedPanel]:
    """The user's panels for their current store, rendered; empty ones left out."""
    location = current_location(request)
    rendered = []
    for panel in panels_for(request.user):
        if panel.needs_store and location is None:
            continue
        try:
            context = panel.context_fn(request, location)
            if context is None:
                continue
            html = render_to_string(
                panel.template,
                {"location": location, "panel": panel, **context},
                request=request,
            )
        except Exception:  # noqa: BLE001 - one broken block must not take the page down
            logger.exception("Dashboard panel %s failed", panel.name)
            html = format_html(
                "<p class='omni-quiet'>{}</p>",
                "This block could not be loaded just now; the rest of the page is current.",
            )
        rendered.append(
            RenderedPanel(name=panel.name, title=panel.title, html=html, wide=panel.wide)
        )
    return rendered


STORE_ROLES = frozenset({Role.STORE_ASSOCIATE, Role.STORE_MANAGER})
PLANNER_ROLES = frozenset({Role.INVENTORY_PLANNER})
MARKETER_ROLES = frozenset({Role.MARKETER})
ADMIN_ROLES = frozenset({Role.ADMINISTRATOR})


# --- System health, for administrators ---------------------------------------------------

HEARTBEAT_STALE_AFTER_SECONDS = 180


def system_health_panel(request, location):
    from datetime import datetime

    from django.utils import timezone

    from omni.views import _check_broker, _check_cache, _check_database

    database, broker, cache = _check_database(), _check_broker(), _check_cache()
    stamp = cache.get("worker_heartbeat") if cache.get("ok") else None
    age = None
    if stamp:
        age = (timezone.now() - datetime.fromisoformat(stamp)).total_seconds()
    beating = age is not None and age < HEARTBEAT_STALE_AFTER_SECONDS
    checks = [
        {"label": "Database", "ok": database["ok"], "detail": database.get("error", "answers")},
        {"label": "Broker", "ok": broker["ok"], "detail": broker.get("error", "answers")},
        {
            "label": "Worker and beat",
            "ok": beating,
            "detail": (
                f"last heartbeat {age:.0f} s ago"
                if age is not None
                else "no heartbeat yet: is the worker running with beat?"
            ),
        },
    ]
    return {"checks": checks, "jobs": _job_counts()}


def _job_counts() -> list[tuple[str, int]]:
    from django.apps import apps

    try:
        job_model = apps.get_model("omni", "Job")
    except LookupError:
        return []
    from django.db.models import Count

    rows = job_model.objects.values("state").annotate(n=Count("pk")).order_by("state")
    return [(row["state"], row["n"]) for row in rows]


register_panel(
    "health",
    "admin/omni/panels/health.html",
    system_health_panel,
    title="System health",
    roles=ADMIN_ROLES,
    order=5,
)
