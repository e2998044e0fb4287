from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from campaigns import merging
        from omni.services import register_schedule

        merging.register()

        # Deferred deliveries wait in PostgreSQL; this sweep sends them when due.
        register_schedule(
            name="Release due campaign deliveries",
            task="campaigns.release_due_deliveries",
            every_seconds=60,
        )
