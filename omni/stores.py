"""The store a staff member is working in now.

Staff who work in several stores switch between them in the admin header; the choice is
kept in their session, so two tabs on two tablets can work two stores. Every
store-scoped page follows it, and it never reaches beyond the stores the user may see
(`omni.auth.visible_location_ids`)."""

from __future__ import annotations

from django.db.models import QuerySet

from omni.auth import visible_location_ids

SESSION_KEY = "omni_store_id"


def staff_locations(user) -> QuerySet:
    """The active locations this user may work in, by name."""
    from inventory.models import Location

    locations = Location.objects.filter(is_active=True).order_by("name")
    ids = visible_location_ids(user)
    if ids is not None:
        locations = locations.filter(pk__in=ids)
    return locations


def switchable_locations(user) -> QuerySet:
    """What the header's switcher offers: the user's own stores for store staff, every
    store and warehouse for roles that see all locations."""
    return staff_locations(user)


def current_location(request):
    """The store chosen in the switcher, else the one on the staff record, else the user's
    first store; None for users who see every location and have not chosen one."""
    cached = getattr(request, "_omni_current_location", False)
    if cached is not False:
        return cached
    user = request.user
    choices = staff_locations(user)
    chosen = None
    session = getattr(request, "session", None)
    stored = session.get(SESSION_KEY) if session is not None else None
    if stored:
        chosen = choices.filter(pk=stored).first()
    if chosen is None:
        access = getattr(user, "staff_access", None) if user.is_authenticated else None
        if access is not None and access.current_location_id:
            chosen = choices.filter(pk=access.current_location_id).first()
    if chosen is None and visible_location_ids(user) is not None:
        chosen = choices.first()
    request._omni_current_location = chosen
    return chosen


def switch_location(request, location_id: int | None):
    """Work in this store from now on (None: no store, for roles that see them all).
    Returns the location, or raises LookupError if it is not one of the user's."""
    if location_id is None:
        if visible_location_ids(request.user) is not None:
            raise LookupError("Store staff always work in one of their stores.")
        request.session.pop(SESSION_KEY, None)
        request._omni_current_location = None
        return None
    location = staff_locations(request.user).filter(pk=location_id).first()
    if location is None:
        raise LookupError("No such store among yours.")
    request.session[SESSION_KEY] = location.pk
    request._omni_current_location = location
    return location
