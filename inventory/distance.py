"""Great-circle distance between locations and customers (haversine, in kilometres).

The location network is small (tens of places), so distances are computed in Python over
the few candidate locations a query returns rather than in SQL.
"""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = radians(lat1), radians(lat2)
    dphi, dlambda = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(a)))


def distance_km(location, point: tuple[float, float] | None) -> float | None:
    """Distance from a location to a (latitude, longitude) point; None if either is unknown."""
    if point is None or location.latitude is None or location.longitude is None:
        return None
    return round(
        haversine_km(float(location.latitude), float(location.longitude), point[0], point[1]), 1
    )


def point_of(location) -> tuple[float, float] | None:
    if location is None or location.latitude is None or location.longitude is None:
        return None
    return float(location.latitude), float(location.longitude)
