"""Campaign domain errors; the API renders them in the one error shape."""

from omni.errors import BadRequest, Conflict, NotFound, RuleBroken


class UnknownChannel(BadRequest):
    code = "unknown_channel"
    message = "Unknown channel."


class InvalidAddress(BadRequest):
    code = "invalid_address"
    message = "The address is not valid for the channel."


class MissingVariant(RuleBroken):
    code = "missing_variant"
    message = "A selected channel has no message variant."


class InvalidVariant(BadRequest):
    code = "invalid_variant"
    message = "The message variant is incomplete."


class UnknownCustomers(BadRequest):
    code = "unknown_customers"
    message = "Some customers do not exist."


class CampaignClosed(Conflict):
    code = "campaign_closed"
    message = "The campaign is cancelled or no longer editable."


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    message = "No delivery has this provider message id."


class InvalidSchedule(BadRequest):
    code = "invalid_schedule"
    message = "The schedule is not valid."


class InvalidExperiment(BadRequest):
    code = "invalid_experiment"
    message = "The experiment is not valid."


class NoWinner(RuleBroken):
    code = "no_winner"
    message = "No arm has won with significance yet."
