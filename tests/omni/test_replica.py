"""The read-replica router: read-heavy work inside `replica_reads()` goes to the `replica`
alias, everything else to `default`, and nothing changes when no replica is configured."""

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from inventory.models import Location
from omni.replica import ReplicaRouter, read_alias, replica_reads
from tests.factories import LocationFactory

ROUTERS = ["omni.replica.ReplicaRouter"]


@pytest.fixture
def replica(transactional_db):
    """A second alias on the same test database, as a streaming replica would be."""
    config = {**connections.settings["default"], "TEST": {"MIRROR": "default"}}
    for databases in (connections.settings, settings.DATABASES):  # often the same dict
        databases["replica"] = config
    try:
        with override_settings(DATABASE_ROUTERS=ROUTERS):
            # Connected up front: the test case only admits aliases it knew when it began.
            connections["replica"].connect()
            yield connections["replica"]
    finally:
        connections["replica"].close()
        del connections["replica"]
        for databases in (connections.settings, settings.DATABASES):
            databases.pop("replica", None)


def test_without_a_replica_every_read_stays_on_default():
    assert "replica" not in settings.DATABASES
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(Location) == "default"
    assert router.db_for_write(Location) == "default"


def test_the_router_sends_only_reads_inside_the_block_to_the_replica(replica):
    router = ReplicaRouter()
    assert router.db_for_read(Location) == "default"
    with replica_reads():
        assert router.db_for_read(Location) == "replica"
        assert router.db_for_write(Location) == "default"
    assert router.db_for_read(Location) == "default"


def test_the_replica_is_never_migrated(replica):
    router = ReplicaRouter()
    assert router.allow_migrate("default", "inventory") is True
    assert router.allow_migrate("replica", "inventory") is False


def test_reads_in_an_open_transaction_stay_on_the_primary_to_see_its_own_writes(replica):
    with replica_reads():
        assert read_alias() == "replica"
        with transaction.atomic():
            assert read_alias() == "default"


def test_a_report_read_runs_on_the_replica_and_a_write_on_the_primary(replica):
    LocationFactory(code="lisbon-chiado")
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connection) as on_primary,
    ):
        with replica_reads():
            codes = list(Location.objects.values_list("code", flat=True))
            Location.objects.filter(code="lisbon-chiado").update(name="Chiado")
    assert codes == ["lisbon-chiado"]
    assert [query["sql"].split()[0] for query in on_replica] == ["SELECT"]
    assert [query["sql"].split()[0] for query in on_primary] == ["UPDATE"]
    assert Location.objects.get(code="lisbon-chiado").name == "Chiado"
