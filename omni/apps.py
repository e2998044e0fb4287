from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OmniConfig(AppConfig):
    default = True
    name = "omni"
    verbose_name = "Omni"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from omni import (
            auth,  # noqa: F401 - forgets cached tokens when they change
            schema,  # noqa: F401 - registers the OpenAPI auth extension
            tasks,  # noqa: F401 - registers the periodic schedules
        )

        # Each app's background job kinds and CSV importers, for the web and the worker.
        autodiscover_modules("jobs")


class OmniAdminConfig(admin_apps.AdminConfig):
    """Django's admin with Omni's site: the role dashboard as home page, the store
    switcher and the global search in every page's header."""

    default = False
    default_site = "omni.site.OmniAdminSite"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        super().ready()
        # Each app's dashboard panels and search finders.
        autodiscover_modules("dashboard")
