"""Backups: the demo data dumped with `pg_dump` and restored with `pg_restore` into an empty
database has the same rows in every table."""

import subprocess

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from omni import embedded

pytestmark = pytest.mark.django_db(transaction=True)

RESTORED = "omni_restore_check"


def row_counts(conn) -> dict[str, int]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    return {
        table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        for table in tables
    }


def test_a_dump_of_the_demo_data_restores_to_the_same_row_counts(tmp_path):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    db = connection.settings_dict
    server = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"]}
    dump = tmp_path / "omni.dump"
    client = ["--host", db["HOST"], "--port", str(db["PORT"]), "--username", db["USER"]]

    subprocess.run(  # noqa: S603 - the embedded server's own client
        [
            str(embedded.postgres_binary("pg_dump")),
            *client,
            "--format=custom",
            "--no-owner",
            f"--file={dump}",
            db["NAME"],
        ],
        check=True,
    )
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{RESTORED}"')
        admin.execute(f'CREATE DATABASE "{RESTORED}"')
    try:
        subprocess.run(  # noqa: S603 - the embedded server's own client
            [
                str(embedded.postgres_binary("pg_restore")),
                *client,
                "--no-owner",
                "--exit-on-error",
                f"--dbname={RESTORED}",
                str(dump),
            ],
            check=True,
        )
        with psycopg.connect(**server, dbname=db["NAME"]) as original:
            before = row_counts(original)
        with psycopg.connect(**server, dbname=RESTORED) as restored:
            after = row_counts(restored)
    finally:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{RESTORED}"')

    assert after == before
    assert before["orders_order"] > 0
    assert before["customers_customer"] > 0
    assert before["inventory_stockmovement"] > 0
    assert sum(before.values()) > 1000
