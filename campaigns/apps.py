from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from campaigns import journey_hooks, merging
        from omni.services import register_schedule

        merging.register()
        journey_hooks.connect()

        from campaigns.services.attribution import on_purchase_recorded
        from orders import signals as order_signals

        # Orders on every channel, the till included, are credited to the message that
        # earned them (orders does not import campaigns).
        order_signals.purchase_recorded.connect(
            on_purchase_recorded, dispatch_uid="campaigns.attribution"
        )

        # Deferred deliveries wait in PostgreSQL; this sweep sends them when due.
        register_schedule(
            name="Release due campaign deliveries",
            task="campaigns.release_due_deliveries",
            every_seconds=60,
        )
        # Journey waits live in PostgreSQL too: this tick enrols idle carts and lapsed
        # customers and advances every enrolment whose wait is over.
        register_schedule(
            name="Advance campaign journeys",
            task="campaigns.run_journeys",
            every_seconds=60,
        )
        register_schedule(
            name="Enrol lapsed customers in win-back journeys",
            task="campaigns.enrol_lapsed_customers",
            crontab="7 * * * *",
        )
        register_schedule(
            name="Recompute campaign attribution",
            task="campaigns.recompute_attribution",
            crontab="30 3 * * *",
        )
