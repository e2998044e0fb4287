"""The customers app's domain errors: each has its own code and status."""

from omni.errors import BadRequest, Conflict, NotFound


class InvalidEmail(BadRequest):
    code = "invalid_email"
    message = "That is not a valid email address."


class InvalidPhone(BadRequest):
    code = "invalid_phone"
    message = "That is not a valid phone number (give it with its country code, e.g. +351...)."


class InvalidIdentity(BadRequest):
    code = "invalid_identity"
    message = "That identity is not valid."


class NoIdentities(BadRequest):
    code = "no_identities"
    message = "Give at least one identity (email, phone, loyalty card, ...)."


class UnknownConsentChannel(BadRequest):
    code = "unknown_consent_channel"
    message = "Unknown consent channel."


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    message = "No customer has that identity or ID."


class UnknownPhone(NotFound):
    code = "unknown_phone"
    message = "No customer has that phone number."


class IdentityTaken(Conflict):
    code = "identity_taken"
    message = "Another customer already has this identity; merge the two instead."


class ResolveContention(Conflict):
    code = "resolve_contention"
    message = "Other requests are creating the same customer right now; retry shortly."
    headers = {"Retry-After": "1"}


class MergeRefused(Conflict):
    code = "merge_refused"
    message = "These customers cannot be merged."


class UnmergeRefused(Conflict):
    code = "unmerge_refused"
    message = "This merge cannot be undone."


class CustomerErased(Conflict):
    code = "customer_erased"
    message = "This customer was erased."


class EraseRefused(Conflict):
    code = "erase_refused"
    message = "The customer cannot be erased right now."


class InvalidUnsubscribeLink(BadRequest):
    code = "invalid_unsubscribe_link"
    message = "This unsubscribe link is not valid."


class AmbiguousLookup(Conflict):
    code = "ambiguous_lookup"
    message = "What was typed matches more than one customer; ask for another identity."
