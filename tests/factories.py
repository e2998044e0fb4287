"""Factories shared by every app's tests. Apps add their own in tests/<app>/factories.py."""

import factory
from django.contrib.auth import get_user_model

from inventory.models import Location
from omni import services
from omni.models import Role


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"store-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    kind = Location.Kind.STORE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@omni.test")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_staff(username: str, role: str = Role.STORE_ASSOCIATE, locations=()):
    """A staff user in a role, working in the given stores."""
    user = UserFactory(username=username)
    services.grant_staff_access(user=user, role=role, locations=locations)
    return user


def make_token(scopes, locations=(), rate_limit_per_minute=None, name="Register"):
    """An API token and its plain bearer value."""
    return services.create_api_token(
        name=name, scopes=scopes, locations=locations, rate_limit_per_minute=rate_limit_per_minute
    )
