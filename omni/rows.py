"""Reading and writing rows in plain SQL, for the hot paths.

`select_rows` reads instances of a model with one SELECT written by hand: compiling an
ORM query (its joins, lookups and ordering) cost more than running it.

A till sale writes an order, its fulfilment, lines, payments and event: five ORM inserts,
each compiled by Django and sent on its own, although the rows are known together. The
only thing a row waits for is the id of the row it points at. `insert_linked` writes
them all in one statement of data-modifying CTEs, a row taking its parent's id from the
parent's CTE, and sets every object's primary key and links afterwards.

Each CTE takes its rows as one JSON parameter (`jsonb_populate_recordset` of the table's
own row type), so the statement has a handful of parameters whatever the rows: the
database driver parses a statement's placeholders once and keeps the result only for
statements of at most 50 parameters, and parsing a long one again cost more than the
insert itself.

These run on `prepared_cursor()`: after a few runs on a connection the server has each of
these statements parsed and planned and only binds and runs it, where the ORM's cursors
send the text with the values written in, parsed and planned again on every call (a till
sale's statements cost the database a quarter to a third less CPU prepared).

It writes what `save()` would (field defaults, `auto_now_add`, values as the fields
prepare them) but sends no model signals and calls no `save()` override: use it only for
models that have neither.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache

from django.db import connection, models
from django.db.backends.postgresql.base import ServerBindingCursor

Row = tuple[models.Model, Mapping[str, models.Model]]
# (model, ((foreign key attname, index of the parent's group), ...)) per group of rows.
Shape = tuple[tuple[type[models.Model], tuple[tuple[str, int], ...]], ...]


def prepared_cursor():
    """A cursor of Django's connection (its queries logged and its errors wrapped as any
    other's) for hot statements whose text is the same on every call: values go apart
    from the text (`$1`, not literals), and a statement run a few times on a connection
    (the `prepare_threshold` database option) becomes a prepared statement, planned
    once, that later calls only bind. Placeholders must stand for values only (no
    tuple expanded into `IN %s`); give a parameter a type (`%s::bigint`) where the server
    cannot tell it from the statement."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))


@lru_cache(maxsize=64)
def _select(model: type[models.Model], where: str) -> tuple[str, list, list]:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    sql = (
        f"SELECT {', '.join(quote(field.column) for field in fields)}"  # noqa: S608
        f" FROM {quote(model._meta.db_table)} WHERE {where}"
    )
    converters = [
        (index, field) for index, field in enumerate(fields) if hasattr(field, "from_db_value")
    ]
    return sql, [field.attname for field in fields], converters


def select_rows(model: type[models.Model], where: str, params: Sequence) -> list:
    """Instances of `model` whose rows meet `where` (SQL on its table's columns, with
    %s placeholders for `params`), each value through its field's converter as the ORM
    reads it."""
    sql, names, converters = _select(model, where)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    objects = []
    for row in rows:
        if converters:
            row = list(row)
            for index, field in converters:
                row[index] = field.from_db_value(row[index], None, connection)
        objects.append(model.from_db(connection.alias, names, row))
    return objects


def _json_value(value):
    """What JSON cannot hold, as text the column's type reads back exactly (datetimes
    keep their microseconds)."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written by insert_linked")


def _insert(model: type[models.Model], linked: Mapping[str, str], after: str = "") -> str:
    """INSERT of the rows in one JSON parameter; `linked` maps a foreign key's attname to
    the SQL giving its value; `after` goes before RETURNING (an ON CONFLICT clause)."""
    # Only identifiers from the models' own meta are interpolated; values are parameters.
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    values = [linked.get(field.attname) or f"x.{quote(field.column)}" for field in fields]
    return (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)})"  # noqa: S608
        f" SELECT {', '.join(values)}"
        f" FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) WITH ORDINALITY AS x"
        f" ORDER BY x.ordinality {after} RETURNING {quote(model._meta.pk.column)}"
    )


def _json_rows(objects: Sequence[models.Model], linked: set[str] = frozenset()) -> str:
    """The objects' values as `_insert` takes them, prepared as `save()` prepares them."""
    fields = [
        field
        for field in objects[0]._meta.concrete_fields
        if not field.primary_key and field.attname not in linked
    ]
    rows = [
        {field.column: field.get_prep_value(field.pre_save(obj, True)) for field in fields}
        for obj in objects
    ]
    return json.dumps(rows, default=_json_value)


def _written(obj: models.Model, pk) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


@lru_cache(maxsize=256)
def _statement(shape: Shape) -> str:
    """The statement for groups of rows of these models with these links; the same shape
    gives the same text, built once."""
    quote = connection.ops.quote_name
    parts = []
    for index, (model, links) in enumerate(shape):
        parent_ids = {
            attname: f"(SELECT {quote(shape[parent][0]._meta.pk.column)} FROM r{parent})"  # noqa: S608
            for attname, parent in links
        }
        parts.append(f"r{index} AS ({_insert(model, parent_ids)})")
    ids = " UNION ALL ".join(
        f"(SELECT {index}, * FROM r{index})"  # noqa: S608
        for index in range(len(shape))
    )
    return f"WITH {', '.join(parts)} {ids}"


def insert_unless_taken(obj: models.Model, *unique: str) -> bool:
    """Insert `obj` unless a row already holds its values of the `unique` columns (one
    statement, `ON CONFLICT DO NOTHING`: no savepoint); True when written. A concurrent
    insert of the same values waits on the unique index until the first commits."""
    quote = connection.ops.quote_name
    conflict = f"ON CONFLICT ({', '.join(quote(column) for column in unique)}) DO NOTHING"
    with prepared_cursor() as cursor:
        cursor.execute(_insert(type(obj), {}, conflict), [_json_rows([obj])])
        row = cursor.fetchone()
    if row is None:
        return False
    _written(obj, row[0])
    return True


def insert_linked(rows: Sequence[Row]) -> None:
    """Insert `rows` (object, {foreign key name: an earlier object of `rows`}) in one
    statement, in their order, and set each object's primary key and links (the linked
    objects stay cached on it, as assigning them does). Consecutive rows of one model
    with the same links go in as one group; a row that others link to is a group of its
    own."""
    parents = {id(parent) for _, links in rows for parent in links.values()}
    group_of: dict[int, int] = {}
    shape: list = []
    groups: list[list[models.Model]] = []
    for obj, links in rows:
        key = (
            type(obj),
            tuple(
                sorted(
                    (obj._meta.get_field(name).attname, group_of[id(parent)])
                    for name, parent in links.items()
                )
            ),
        )
        if not groups or shape[-1] != key or id(obj) in parents or id(groups[-1][0]) in parents:
            shape.append(key)
            groups.append([])
        groups[-1].append(obj)
        group_of[id(obj)] = len(groups) - 1
    params = [
        _json_rows(objects, {attname for attname, _ in links})
        for (_, links), objects in zip(shape, groups, strict=True)
    ]
    with prepared_cursor() as cursor:
        cursor.execute(_statement(tuple(shape)), params)
        returned = cursor.fetchall()
    ids: dict[int, list] = {}
    for index, pk in returned:
        ids.setdefault(index, []).append(pk)
    for index, objects in enumerate(groups):
        for obj, pk in zip(objects, ids[index], strict=True):
            _written(obj, pk)
    for obj, links in rows:
        for name, parent in links.items():
            setattr(obj, name, parent)
