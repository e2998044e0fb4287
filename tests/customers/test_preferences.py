"""Quiet hours in the customer's own time zone."""

import datetime

import pytest

from customers.services.profile import in_quiet_hours, next_send_time, update_preferences
from tests.customers.factories import CustomerFactory

UTC = datetime.UTC


def at(hour, minute=0, day=10):
    return datetime.datetime(2026, 7, day, hour, minute, tzinfo=UTC)


@pytest.mark.django_db
def test_quiet_hours_default_to_night_in_the_customers_time_zone():
    lisbon = CustomerFactory(time_zone="Europe/Lisbon")  # UTC+1 in July
    berlin = CustomerFactory(time_zone="Europe/Berlin")  # UTC+2 in July
    # 19:30 UTC is 20:30 in Lisbon (awake) and 21:30 in Berlin (quiet).
    assert not in_quiet_hours(lisbon, at(19, 30))
    assert in_quiet_hours(berlin, at(19, 30))
    # 06:30 UTC is 07:30 in Lisbon (still quiet) and 08:30 in Berlin (awake).
    assert in_quiet_hours(lisbon, at(6, 30))
    assert not in_quiet_hours(berlin, at(6, 30))


@pytest.mark.django_db
def test_a_message_due_in_quiet_hours_waits_for_their_end():
    lisbon = CustomerFactory(time_zone="Europe/Lisbon")
    assert next_send_time(lisbon, at(22)) == at(7, day=11)  # 08:00 Lisbon next morning
    assert next_send_time(lisbon, at(12)) == at(12)


@pytest.mark.django_db
def test_daytime_quiet_hours_and_no_quiet_hours_are_respected():
    customer = CustomerFactory(time_zone="UTC")
    update_preferences(
        customer=customer,
        quiet_hours_start=datetime.time(12, 0),
        quiet_hours_end=datetime.time(14, 0),
    )
    assert in_quiet_hours(customer, at(13))
    assert not in_quiet_hours(customer, at(22))
    update_preferences(
        customer=customer,
        quiet_hours_start=datetime.time(0, 0),
        quiet_hours_end=datetime.time(0, 0),
    )
    assert not in_quiet_hours(customer, at(3))
