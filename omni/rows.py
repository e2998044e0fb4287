"""Writing a few linked rows in one statement, for the hot paths.

A till sale writes an order, its fulfilment, lines, payments and event: five ORM inserts,
each compiled by Django and sent on its own, although the rows are known together. The
only thing a row waits for is the id of the row it points at. `insert_linked` writes
them all in one statement of data-modifying CTEs, one per row, a row taking its parent's
id from the parent's CTE, and sets every object's primary key and links afterwards.

It writes what `save()` would (field defaults, `auto_now_add`, JSON and decimals as the
fields prepare them) but sends no model signals and calls no `save()` override: use it
only for models that have neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from django.db import connection, models

Row = tuple[models.Model, Mapping[str, models.Model]]


@lru_cache(maxsize=256)
def _statement(shape: tuple[tuple[type[models.Model], tuple[tuple[str, int], ...]], ...]) -> str:
    """The statement for rows of these models with these links (attname, parent index);
    the same shape gives the same text, built once."""
    # Only identifiers from the models' own meta are interpolated; values are parameters.
    quote = connection.ops.quote_name
    parts = []
    for index, (model, links) in enumerate(shape):
        linked = dict(links)
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        values = [
            f"(SELECT {quote(model._meta.pk.column)} FROM r{linked[field.attname]})"  # noqa: S608
            if field.attname in linked
            else "%s"
            for field in fields
        ]
        parts.append(
            f"r{index} AS (INSERT INTO {quote(model._meta.db_table)}"  # noqa: S608
            f" ({', '.join(quote(field.column) for field in fields)})"
            f" VALUES ({', '.join(values)}) RETURNING {quote(model._meta.pk.column)})"
        )
    ids = " UNION ALL ".join(
        f"SELECT {index}, * FROM r{index}"  # noqa: S608
        for index in range(len(shape))
    )
    return f"WITH {', '.join(parts)} {ids}"


def insert_linked(rows: Sequence[Row]) -> None:
    """Insert `rows` (object, {foreign key name: an earlier object of `rows`}) in one
    statement, in their order, and set each object's primary key and links (the linked
    objects stay cached on it, as assigning them does)."""
    position = {id(obj): index for index, (obj, _) in enumerate(rows)}
    shape = []
    params = []
    for obj, links in rows:
        linked = {
            obj._meta.get_field(name).attname: position[id(parent)]
            for name, parent in links.items()
        }
        shape.append((type(obj), tuple(sorted(linked.items()))))
        for field in obj._meta.concrete_fields:
            if not field.primary_key and field.attname not in linked:
                params.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    with connection.cursor() as cursor:
        cursor.execute(_statement(tuple(shape)), params)
        ids = dict(cursor.fetchall())
    for index, (obj, links) in enumerate(rows):
        obj.pk = ids[index]
        for name, parent in links.items():
            setattr(obj, name, parent)
        obj._state.adding = False
        obj._state.db = connection.alias
