"""Who may use the store desks, and for which store.

Staff roles are not Django model permissions: what a role may do is its API scopes
(`omni.auth.ROLE_SCOPES`), so the admin asks the same question the API does."""

from __future__ import annotations

from django.http import Http404

from inventory.models import Location
from omni.auth import has_scope, visible_location_ids


class ScopedAdminPermissions:
    """Seeing needs `<read_scope>`; nothing is added or deleted by hand, and changes go
    through the services behind the desks' buttons."""

    read_scope = "orders:read"

    def has_module_permission(self, request) -> bool:
        return has_scope(request.user, self.read_scope)

    def has_view_permission(self, request, obj=None) -> bool:
        return has_scope(request.user, self.read_scope)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def desk_locations(user):
    """The stores this user may work a desk for."""
    locations = Location.objects.filter(is_active=True).order_by("name")
    ids = visible_location_ids(user)
    if ids is not None:
        locations = locations.filter(pk__in=ids)
    return locations


def desk_location(request) -> Location | None:
    """`?location=<code>` if the user may work there (404 otherwise), else the store the
    staff member is working in now, else None (the page asks to choose)."""
    choices = desk_locations(request.user)
    code = request.GET.get("location") or request.POST.get("location")
    if code:
        location = choices.filter(code=code).first()
        if location is None:
            raise Http404("No such store among yours.")
        return location
    access = getattr(request.user, "staff_access", None)
    current = access.current_location if access is not None else None
    if current is not None and choices.filter(pk=current.pk).exists():
        return current
    if visible_location_ids(request.user) is not None:
        return choices.first()
    return None
