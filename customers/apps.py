from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from customers import tasks  # noqa: F401 - registers the nightly schedule
        from customers.services.merge import register_own_participants

        register_own_participants()

        from customers import engagement_admin, engagement_tasks, panels, participants  # noqa: F401
