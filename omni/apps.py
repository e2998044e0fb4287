from django.apps import AppConfig


class OmniConfig(AppConfig):
    name = "omni"
    verbose_name = "Omni"

    def ready(self) -> None:
        from omni import (
            schema,  # noqa: F401 - registers the OpenAPI auth extension
            tasks,  # noqa: F401 - registers the periodic schedules
        )
