from rest_framework import permissions

from omni.auth import has_scope


class CatalogAccess(permissions.BasePermission):
    """Reads need `catalog:read` or `stock:read` (a register looks SKUs up to sell them);
    writes need `catalog:write`."""

    message = "Your credentials lack the scope this endpoint needs."
    read_scopes = ("catalog:read", "stock:read")
    write_scope = "catalog:write"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return any(has_scope(user, scope) for scope in self.read_scopes)
        return has_scope(user, self.write_scope)
