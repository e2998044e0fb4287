from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from inventory import tasks  # noqa: F401 - registers the periodic schedules
        from inventory.models import Location
        from inventory.selectors import forget_locations

        def location_changed(sender, instance, **kwargs) -> None:
            forget_locations()

        post_save.connect(location_changed, sender=Location, weak=False)
        post_delete.connect(location_changed, sender=Location, weak=False)
