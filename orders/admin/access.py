"""Who may use the store desks, and for which store.

Staff roles are not Django model permissions: what a role may do is its API scopes
(`omni.auth.ROLE_SCOPES`), so the admin asks the same question the API does."""

from __future__ import annotations

from django.http import Http404

from inventory.models import Location
from omni.auth import has_scope
from omni.stores import current_location, staff_locations, switch_location


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
    return staff_locations(user)


def desk_location(request) -> Location | None:
    """`?location=<code>` if the user may work there (404 otherwise; choosing it also
    switches the header's store), else the store chosen in the header's switcher, else
    None for roles that see every store (the page asks to choose)."""
    code = request.GET.get("location") or request.POST.get("location")
    if code:
        location = desk_locations(request.user).filter(code=code).first()
        if location is None:
            raise Http404("No such store among yours.")
        if request.method == "GET":
            switch_location(request, location.pk)
        return location
    return current_location(request)
