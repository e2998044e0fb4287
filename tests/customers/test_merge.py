"""Merging two customers moves everything (through every participant) and unmerging
moves exactly that back."""

import pytest

from customers import hooks
from customers.errors import MergeRefused, UnmergeRefused
from customers.hooks import MergeParticipant
from customers.models import (
    Address,
    ConsentEvent,
    ConsentState,
    Customer,
    CustomerMerge,
    DuplicateSuggestion,
    Identity,
    Preferences,
)
from customers.services.consent import current_consent, has_marketing_consent, record_consent
from customers.services.identity import lookup_customer, resolve_customer, resolve_or_create
from customers.services.merge import merge_customers, unmerge_customers
from tests.customers.factories import (
    AddressFactory,
    CustomerFactory,
    IdentityFactory,
    PhoneFactory,
    PreferencesFactory,
)
from tests.factories import UserFactory


class Notebook:
    """A stand-in for another app's rows (think support cases): a dict of row → owner."""

    def __init__(self):
        self.rows = {}

    def move(self, source, target):
        moved = sorted(row for row, owner in self.rows.items() if owner == source.pk)
        for row in moved:
            self.rows[row] = target.pk
        return {"rows": moved}

    def move_back(self, record, source, target):
        for row in record["rows"]:
            self.rows[row] = source.pk


@pytest.fixture
def notebook():
    book = Notebook()
    hooks.register_merge_participant(MergeParticipant("tests.notebook", book.move, book.move_back))
    yield book
    hooks._merge_participants.pop("tests.notebook")


@pytest.fixture
def ana_twice(db):
    """Ana signed up on the web and, separately, at the Lisbon till."""
    web = CustomerFactory(first_name="Ana", last_name="Silva", birth_date=None, city="")
    store = CustomerFactory(first_name="Ana", last_name="Silva", city="Lisboa")
    store.birth_date = "1990-04-02"
    store.save()
    IdentityFactory(customer=web, value="ana@example.com")
    IdentityFactory(customer=web, kind="web_account", value="acct-1")
    PhoneFactory(customer=store, value="+351912345678")
    IdentityFactory(customer=store, kind="loyalty_card", value="OMN0001")
    return web, store


@pytest.mark.django_db
def test_merge_moves_identities_own_rows_and_every_participants_rows_and_unmerge_moves_them_back(
    ana_twice, notebook
):
    web, store = ana_twice
    clerk = UserFactory(username="rui")
    AddressFactory(customer=web, kind="shipping", is_default=True, line1="Rua A")
    store_address = AddressFactory(customer=store, kind="shipping", is_default=True, line1="Rua B")
    PreferencesFactory(customer=store, email_frequency="monthly")
    record_consent(customer=store, channel="post", status="granted")
    notebook.rows = {"case-1": store.pk, "case-2": store.pk, "case-3": web.pk}

    merge = merge_customers(survivor=web, merged=store, reason="same person", user=clerk)

    assert set(Identity.objects.values_list("customer_id", flat=True)) == {web.pk}
    assert Address.objects.filter(customer=web).count() == 2
    # The survivor's default stays the default.
    assert Address.objects.get(customer=web, is_default=True).line1 == "Rua A"
    assert Preferences.objects.get().customer == web
    assert has_marketing_consent(web, "post")
    assert set(notebook.rows.values()) == {web.pk}
    web.refresh_from_db()
    assert web.city == "Lisboa"
    assert str(web.birth_date) == "1990-04-02"
    assert lookup_customer(kind="loyalty_card", value="OMN0001") == web
    assert resolve_customer(store.public_id) == web
    assert merge.merged_by == clerk
    assert merge.reason == "same person"
    assert merge.moved["tests.notebook"] == {"rows": ["case-1", "case-2"]}

    unmerge_customers(merge=merge, reason="two different Anas", user=clerk)

    store.refresh_from_db()
    web.refresh_from_db()
    assert store.merged_into is None
    assert resolve_customer(store.public_id) == store
    assert sorted(store.identities.values_list("value", flat=True)) == ["+351912345678", "OMN0001"]
    assert sorted(web.identities.values_list("value", flat=True)) == ["acct-1", "ana@example.com"]
    assert Address.objects.get(pk=store_address.pk).customer == store
    assert Address.objects.get(pk=store_address.pk).is_default
    assert Preferences.objects.get().customer == store
    assert has_marketing_consent(store, "post")
    assert not has_marketing_consent(web, "post")
    assert notebook.rows == {"case-1": store.pk, "case-2": store.pk, "case-3": web.pk}
    assert web.city == ""
    assert web.birth_date is None
    assert CustomerMerge.objects.get().unmerged_at is not None


@pytest.mark.django_db
def test_an_opt_out_is_never_lost_in_a_merge_even_when_the_other_opted_in_later(ana_twice):
    web, store = ana_twice
    record_consent(customer=web, channel="email", status="withdrawn")
    record_consent(customer=store, channel="email", status="granted")  # later
    record_consent(customer=store, channel="sms", status="withdrawn")
    record_consent(customer=web, channel="sms", status="granted")  # later

    merge = merge_customers(survivor=web, merged=store, reason="same person")

    state = current_consent(web)
    assert state["email"].status == "withdrawn"
    assert state["sms"].status == "withdrawn"
    assert not has_marketing_consent(web, "email")
    assert not has_marketing_consent(store, "email")  # answers for the survivor
    assert ConsentState.objects.get(customer=web, channel="sms").status == "withdrawn"
    assert not ConsentState.objects.filter(customer=store).exists()
    # The decision is itself an event in the history, with why.
    assert web.consent_events.filter(form="customer merge").count() == 2

    unmerge_customers(merge=merge, reason="mistake")
    assert current_consent(web)["sms"].status == "granted"
    assert current_consent(store)["email"].status == "granted"


@pytest.mark.django_db
def test_merge_refuses_the_same_customer_and_an_already_merged_one(ana_twice):
    web, store = ana_twice
    with pytest.raises(MergeRefused):
        merge_customers(survivor=web, merged=web)
    merge_customers(survivor=web, merged=store)
    with pytest.raises(MergeRefused):
        merge_customers(survivor=CustomerFactory(), merged=store)
    with pytest.raises(MergeRefused):
        merge_customers(survivor=store, merged=CustomerFactory())


@pytest.mark.django_db
def test_unmerge_is_refused_twice_and_while_the_survivor_was_merged_again(ana_twice):
    web, store = ana_twice
    third = CustomerFactory()
    first = merge_customers(survivor=web, merged=store)
    second = merge_customers(survivor=third, merged=web)
    with pytest.raises(UnmergeRefused):
        unmerge_customers(merge=first)
    assert resolve_customer(store.public_id) == third
    unmerge_customers(merge=second)
    unmerge_customers(merge=first)
    with pytest.raises(UnmergeRefused):
        unmerge_customers(merge=first)
    assert Customer.objects.filter(merged_into__isnull=True).count() == 3


@pytest.mark.django_db
def test_merging_a_suggested_pair_closes_the_suggestion_and_unmerging_dismisses_it(ana_twice):
    web, store = ana_twice
    resolution = resolve_or_create(
        identities=[
            {"kind": "email", "value": "ana@example.com"},
            {"kind": "phone", "value": "+351912345678"},
        ]
    )
    assert resolution.suggestions
    merge = merge_customers(survivor=web, merged=store)
    assert DuplicateSuggestion.objects.get().status == "merged"
    unmerge_customers(merge=merge, reason="two people")
    assert DuplicateSuggestion.objects.get().status == "dismissed"


@pytest.mark.django_db(transaction=True)
def test_two_clerks_merging_the_same_pair_opposite_ways_at_once_leave_one_merge():
    import threading

    from django.db import connection

    web, store = CustomerFactory(), CustomerFactory()
    IdentityFactory(customer=web, value="ana@example.com")
    PhoneFactory(customer=store, value="+351912345678")
    barrier = threading.Barrier(2)
    outcomes = []

    def merge(survivor, merged):
        try:
            barrier.wait()
            merge_customers(survivor=survivor, merged=merged, reason="clerk")
            outcomes.append("merged")
        except MergeRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=merge, args=(web, store)),
        threading.Thread(target=merge, args=(store, web)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["merged", "refused"]
    assert CustomerMerge.objects.count() == 1
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1
    assert Identity.objects.values("customer").distinct().count() == 1


def _merge_while(n, action, before=None):
    """One race: a clerk merges Ana's store account into her web account while `action`
    (store customer, n) runs in another thread."""
    import threading

    from django.db import connection

    web, store = CustomerFactory(), CustomerFactory()
    PhoneFactory(customer=store, value=f"+35191234500{n}")
    if before:
        before(web, store)
    barrier = threading.Barrier(2)
    errors = []

    def merge():
        try:
            barrier.wait()
            merge_customers(survivor=web, merged=store, reason="same person")
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connection.close()

    def resolve():
        try:
            barrier.wait()
            action(store, n)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=merge), threading.Thread(target=resolve)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return web, errors


@pytest.mark.django_db(transaction=True)
def test_identities_given_during_a_merge_never_land_on_the_merged_away_customer():
    def till_gives_phone_and_card(store, n):
        resolve_or_create(
            identities=[
                {"kind": "phone", "value": f"+35191234500{n}"},
                {"kind": "loyalty_card", "value": f"OMN9{n:04d}"},
            ]
        )

    for n in range(5):
        web, errors = _merge_while(n, till_gives_phone_and_card)
        assert errors == []
        assert not Identity.objects.filter(customer__merged_into__isnull=False).exists()
        assert Identity.objects.get(value=f"OMN9{n:04d}").customer == web


@pytest.mark.django_db(transaction=True)
def test_an_opt_out_recorded_during_a_merge_follows_the_person():
    def opt_out(store, n):
        record_consent(customer=store, channel="email", status="withdrawn")

    def both_opted_in(web, store):
        record_consent(customer=web, channel="email", status="granted")
        record_consent(customer=store, channel="email", status="granted")

    for n in range(5):
        web, errors = _merge_while(n, opt_out, before=both_opted_in)
        assert errors == []
        assert not ConsentEvent.objects.filter(customer__merged_into__isnull=False).exists()
        assert not has_marketing_consent(web, "email")


@pytest.mark.django_db
def test_unmerge_restores_default_addresses_even_after_the_survivor_reshuffled_them(ana_twice):
    from customers.services.profile import delete_address

    web, store = ana_twice
    web_home = AddressFactory(customer=web, kind="shipping", is_default=True, line1="Rua A")
    store_home = AddressFactory(customer=store, kind="shipping", is_default=True, line1="Rua B")
    store_work = AddressFactory(customer=store, kind="shipping", is_default=False, line1="Rua C")
    merge = merge_customers(survivor=web, merged=store)
    delete_address(address=web_home)  # a moved address becomes the survivor's default
    assert Address.objects.filter(customer=web, is_default=True).count() == 1

    unmerge_customers(merge=merge)

    store_home.refresh_from_db()
    store_work.refresh_from_db()
    assert (store_home.customer, store_home.is_default) == (store, True)
    assert (store_work.customer, store_work.is_default) == (store, False)


@pytest.mark.django_db
def test_the_nightly_job_records_detected_pairs_once_and_leaves_dismissed_ones(ana_twice):
    from customers.services.identity import dismiss_duplicate, record_detected_duplicates
    from customers.tasks import record_detected_duplicates as nightly_task

    web, store = ana_twice
    web.postcode = store.postcode = "1200-109"
    web.save()
    store.save()
    lena = CustomerFactory(first_name="Lena", last_name="Weber", postcode="10115")
    lena_again = CustomerFactory(first_name="lena", last_name="weber", postcode="10115")
    dismiss_duplicate(first=lena, second=lena_again)

    assert nightly_task() == 1
    assert record_detected_duplicates() == 0
    recorded = DuplicateSuggestion.objects.get(status="open")
    assert {recorded.first, recorded.second} == {web, store}
    assert DuplicateSuggestion.objects.get(first=lena).status == "dismissed"
