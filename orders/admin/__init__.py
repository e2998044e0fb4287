"""The orders admin is a product for store staff: the pickup queue, order detail across
channels, the returns desk and a daily store summary, each for the staff member's own
store. Administrators choose a store with `?location=<code>`."""

from orders.admin import desks, orders, returns  # noqa: F401 - registers the admin pages
