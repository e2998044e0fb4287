"""A mid-size retailer in its own database: the dataset the benchmarks and the load test use.

At `--scale 1` (the default): 50 stores and 3 warehouses, 20,000 SKUs (5,000 products in
four sizes), a stock level for every SKU at every location (1,060,000), about 20,000,000
stock movements, 1,000,000 customers (an email each, a phone for 60%), 5,000,000 orders
(1-3 lines, one fulfilment and one payment each). `--scale 0.01` gives a hundredth of the
SKUs, customers, orders and movements for development; the 53 locations stay.

Everything is written with set-based SQL (`INSERT ... SELECT generate_series`) into a
migrated database of the embedded PostgreSQL (or the server of DATABASE_URL), named after
the scale (`omni_bench_retail` at scale 1, `omni_bench_retail_0_01` at 0.01). Secondary
indexes of the big tables are dropped while filling and built afterwards. The data obey
the schema: every stock level's on hand is the sum of its ledger's deltas, every ledger
row's balance_after is the running sum, order totals are the sums of their lines.

A finished dataset leaves a row in `bench_dataset`; later runs find it and reuse the
database at once (`--rebuild` starts again).

    .venv/bin/python bench/dataset.py [--scale 1] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database  # noqa: E402

STORES = 50
WAREHOUSES = 3
SIZES = ("XS", "S", "M", "L")
FULL = {"skus": 20_000, "customers": 1_000_000, "orders": 5_000_000, "movements": 20_000_000}
OPENING = 200  # units the first receipt brings to a store; warehouses hold ten times more


def database_name(scale: float) -> str:
    if scale == 1:
        return "omni_bench_retail"
    return "omni_bench_retail_" + f"{scale:g}".replace(".", "_").replace("-", "_")


def counts(scale: float) -> dict[str, int]:
    wanted = {name: max(1, round(value * scale)) for name, value in FULL.items()}
    wanted["skus"] = max(len(SIZES), wanted["skus"] - wanted["skus"] % len(SIZES))
    wanted["locations"] = STORES + WAREHOUSES
    wanted["levels"] = wanted["skus"] * wanted["locations"]
    # Every level gets the same number of movements (at least the opening receipt).
    wanted["per_level"] = max(2, round(wanted["movements"] / wanted["levels"]))
    wanted["movements"] = wanted["per_level"] * wanted["levels"]
    return wanted


def price_sql(index: str) -> str:
    """The price of the SKU with 0-based number `index`: 5.99 to 204.99."""
    return f"(5 + (({index}) * 37) %% 200 + 0.99)::numeric(12,2)"


# --- Filling helpers --------------------------------------------------------------------


def required_columns(cursor, table: str) -> dict[str, str]:
    """NOT NULL columns without a database default, with their types."""
    cursor.execute(
        """
        SELECT column_name, data_type FROM information_schema.columns
         WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
           AND is_identity = 'NO'
        """,
        [table],
    )
    return dict(cursor.fetchall())


FALLBACK = {
    "character varying": "''",
    "text": "''",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "numeric": "0",
    "boolean": "false",
    "timestamp with time zone": "now()",
    "date": "current_date",
    "jsonb": "'{}'::jsonb",
    "uuid": "gen_random_uuid()",
}


def insert_select(cursor, table: str, given: dict[str, str], source: str, params=()) -> int:
    """INSERT INTO table (given columns + any other required column) SELECT the given
    expressions (others get an empty value of their type) FROM source. Columns other
    apps add later keep working as long as an empty value is valid for them."""
    columns = dict(given)
    for name, kind in required_columns(cursor, table).items():
        if name not in columns:
            if kind not in FALLBACK:
                raise SystemExit(f"{table}.{name} ({kind}) needs a value in bench/dataset.py")
            columns[name] = FALLBACK[kind]
    names = ", ".join(columns)
    values = ",\n       ".join(columns.values())
    cursor.execute(f"INSERT INTO {table} ({names})\nSELECT {values}\n{source}", params)  # noqa: S608
    return cursor.rowcount


@contextmanager
def indexes_dropped(cursor, tables: list[str]):
    """Drop the plain secondary indexes of `tables`, give them back afterwards (built once
    on the full table instead of maintained row by row)."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.tablename = ANY(%s) AND i.schemaname = current_schema()
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [tables],
    )
    kept = cursor.fetchall()
    for name, _ in kept:
        cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        started = time.perf_counter()
        for _, definition in kept:
            cursor.execute(definition)
    print(f"  {len(kept)} indexes rebuilt in {time.perf_counter() - started:.1f} s")


def reset_sequence(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
        f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
    )


def step(label: str):
    started = time.perf_counter()

    def done(rows: int) -> None:
        print(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)

    return done


# --- The dataset ------------------------------------------------------------------------


def fill_catalogue(cursor, n: dict) -> None:
    done = step("locations")
    rows = insert_select(
        cursor,
        "inventory_location",
        {
            "id": "g",
            "code": "CASE WHEN g <= %s THEN 'store-' || lpad(g::text, 2, '0')"
            " ELSE 'warehouse-' || (g - %s) END",
            "name": "CASE WHEN g <= %s THEN 'Store ' || g ELSE 'Warehouse ' || (g - %s) END",
            "kind": "CASE WHEN g <= %s THEN 'store' ELSE 'warehouse' END",
            "is_active": "true",
            "city": "(ARRAY['Lisboa','Porto','Braga','Coimbra','Faro','Madrid','Sevilla'])"
            "[1 + g %% 7]",
            "country": "CASE WHEN g %% 7 < 5 THEN 'PT' ELSE 'ES' END",
            "latitude": "(37 + (g * 13) %% 5 + (g %% 10) / 10.0)::numeric(9,6)",
            "longitude": "(-9 + (g * 7) %% 5 + (g %% 10) / 10.0)::numeric(9,6)",
            "time_zone": "'Europe/Lisbon'",
            "opening_hours": "'{}'::jsonb",
            "sells_in_store": "g <= %s",
            "offers_click_and_collect": "g <= %s",
            "ships_to_customers": "true",
            "accepts_returns": "g <= %s",
            "pickup_hold_days": "7",
        },
        "FROM generate_series(1, %s) AS g",
        [STORES] * 8 + [n["locations"]],
    )
    reset_sequence(cursor, "inventory_location")
    done(rows)

    done = step("products and SKUs")
    products = n["skus"] // len(SIZES)
    insert_select(
        cursor,
        "inventory_product",
        {
            "id": "g",
            "name": "(ARRAY['Tee','Hoodie','Jeans','Sneaker','Jacket','Dress','Cap'])[1 + g %% 7]"
            " || ' ' || g",
            "slug": "'product-' || g",
            "is_active": "true",
            "created_at": "now()",
            "updated_at": "now()",
        },
        "FROM generate_series(1, %s) AS g",
        [products],
    )
    reset_sequence(cursor, "inventory_product")
    sizes = "ARRAY[" + ",".join(f"'{size}'" for size in SIZES) + "]"
    rows = insert_select(
        cursor,
        "inventory_sku",
        {
            "id": "g + 1",
            "product_id": f"1 + g / {len(SIZES)}",
            "code": "'SKU-' || lpad((g + 1)::text, 6, '0')",
            "barcode": "'560' || lpad((g + 1)::text, 10, '0')",
            "name": "''",
            "attributes": f"jsonb_build_object('size', ({sizes})[1 + g %% {len(SIZES)}])",
            "price": price_sql("g"),
            "currency": "'EUR'",
            "cost": f"round({price_sql('g')} * 0.4, 2)",
            "is_active": "true",
            "created_at": "now()",
            "updated_at": "now()",
        },
        "FROM generate_series(0, %s - 1) AS g",
        [n["skus"]],
    )
    reset_sequence(cursor, "inventory_sku")
    done(products + rows)


def fill_stock(cursor, n: dict) -> None:
    """Each level's ledger follows one of three patterns (by level id mod 3): an opening
    receipt, then sales of 1-3 units, a restock of 12 every sixth movement and a -1
    adjustment every ninth. Warehouses move ten times the units. The running sum of a
    pattern is computed once on the small pattern table, so balance_after and on hand come
    out exact without a window over the whole ledger."""
    per_level = n["per_level"]
    cursor.execute(
        """
        CREATE TEMP TABLE bench_pattern AS
        SELECT r, k, kind, delta, reference_type,
               sum(delta) OVER (PARTITION BY r ORDER BY k) AS balance
          FROM (
            SELECT r, k,
                   CASE WHEN k = 0 OR k %% 6 = 0 THEN 'receipt'
                        WHEN k %% 9 = 0 THEN 'adjustment' ELSE 'sale' END AS kind,
                   CASE WHEN k = 0 THEN %s WHEN k %% 6 = 0 THEN 12
                        WHEN k %% 9 = 0 THEN -1 ELSE -(1 + (r + k) %% 3) END AS delta,
                   CASE WHEN k = 0 OR k %% 6 = 0 THEN 'receipt'
                        WHEN k %% 9 = 0 THEN 'count' ELSE 'pos_sale' END AS reference_type
              FROM generate_series(0, 2) AS r, generate_series(0, %s - 1) AS k
          ) AS steps
        """,
        [OPENING, per_level],
    )
    cursor.execute("SELECT min(balance) FROM bench_pattern")
    assert cursor.fetchone()[0] > 0, "a ledger pattern would go below zero"

    done = step("stock levels")
    # Level id = location * skus + sku (both 0-based) + 1.
    rows = insert_select(
        cursor,
        "inventory_stocklevel",
        {
            "id": "(loc.id - 1) * %s + sku.id",
            "location_id": "loc.id",
            "sku_id": "sku.id",
            "on_hand": "last.balance * CASE WHEN loc.kind = 'warehouse' THEN 10 ELSE 1 END",
            "reserved": "0",
            "safety_stock": "0",
            "reorder_point": "CASE WHEN loc.kind = 'warehouse' THEN 100 ELSE 10 END",
            "damaged": "0",
            "updated_at": "now()",
        },
        """
        FROM inventory_location AS loc
        CROSS JOIN inventory_sku AS sku
        JOIN bench_pattern AS last
          ON last.k = %s - 1 AND last.r = ((loc.id - 1) * %s + sku.id) %% 3
        """,
        [n["skus"], per_level, n["skus"]],
    )
    reset_sequence(cursor, "inventory_stocklevel")
    done(rows)

    done = step("stock movements")
    with indexes_dropped(cursor, ["inventory_stockmovement"]):
        rows = insert_select(
            cursor,
            "inventory_stockmovement",
            {
                "stock_level_id": "level.id",
                "location_id": "level.location_id",
                "sku_id": "level.sku_id",
                "kind": "p.kind",
                "delta": "p.delta * f.factor",
                "reserved_delta": "0",
                "balance_after": "p.balance * f.factor",
                "reason": "''",
                "reference_type": "p.reference_type",
                "reference_id": "CASE WHEN p.k = 0 THEN 'opening' ELSE level.id || '-' || p.k END",
                # Spread over two years, oldest first, a level's rows in order.
                "created_at": "now() - interval '730 days'"
                " + (p.k * interval '730 days') / %s + (level.id %% 86400) * interval '1 second'",
            },
            """
            FROM inventory_stocklevel AS level
            JOIN (SELECT id, CASE WHEN kind = 'warehouse' THEN 10 ELSE 1 END AS factor
                    FROM inventory_location) AS f ON f.id = level.location_id
            JOIN bench_pattern AS p ON p.r = level.id %% 3
            """,
            [per_level],
        )
    done(rows)


def fill_customers(cursor, n: dict) -> None:
    done = step("customers")
    with indexes_dropped(cursor, ["customers_customer", "customers_identity"]):
        rows = insert_select(
            cursor,
            "customers_customer",
            {
                "id": "g",
                "public_id": "gen_random_uuid()",
                "first_name": "(ARRAY['Ana','João','Maria','Lucía','Lena','Jonas','Oliver','Inês'])"
                "[1 + g %% 8]",
                "last_name": "(ARRAY['Silva','Santos','García','Müller','Smith','Costa','Weber'])"
                "[1 + g %% 7] || ' ' || (g %% 9973)",
                "gender": "''",
                "language": "'pt-PT'",
                "time_zone": "'Europe/Lisbon'",
                "city": "(ARRAY['Lisboa','Porto','Braga','Coimbra','Faro'])[1 + g %% 5]",
                "country": "'PT'",
                "acquisition_channel": "(ARRAY['web','store','app'])[1 + g %% 3]",
                "first_seen_channel": "(ARRAY['web','store','app'])[1 + g %% 3]",
                "preferred_store_id": "CASE WHEN g %% 2 = 0 THEN 1 + g %% %s END",
                "created_at": "now() - (g %% 1500) * interval '1 day'",
                "updated_at": "now()",
            },
            "FROM generate_series(1, %s) AS g",
            [STORES, n["customers"]],
        )
        reset_sequence(cursor, "customers_customer")
        identities = insert_select(
            cursor,
            "customers_identity",
            {
                "customer_id": "g",
                "kind": "'email'",
                "namespace": "''",
                "value": "'customer' || g || '@example.com'",
                "verified": "g %% 3 = 0",
                "source_channel": "'web'",
                "created_at": "now()",
            },
            "FROM generate_series(1, %s) AS g",
            [n["customers"]],
        )
        identities += insert_select(
            cursor,
            "customers_identity",
            {
                "customer_id": "g",
                "kind": "'phone'",
                "namespace": "''",
                "value": "'+35191' || lpad(g::text, 7, '0')",
                "verified": "false",
                "source_channel": "'store'",
                "created_at": "now()",
            },
            "FROM generate_series(1, %s) AS g WHERE g %% 5 < 3",
            [n["customers"]],
        )
    done(rows + identities)


def fill_orders(cursor, n: dict) -> None:
    """Order g: 1 + g mod 3 lines; 60% in a store (completed, taken at the till), the rest
    on the web (fulfilled, shipped from a warehouse); 70% with a known customer."""
    skus, customers = n["skus"], n["customers"]
    line_sku = f"((g * 7919 + k * 104729) %% {skus})"
    line_quantity = "(1 + (g + k) %% 2)"
    line_total = f"{line_quantity} * {price_sql(line_sku)}"
    order_total = f"(SELECT sum({line_total}) FROM generate_series(1, 1 + g %% 3) AS k)"  # noqa: S608
    is_store = "g %% 5 < 3"
    done = step("orders, fulfilments, lines, payments")
    tables = ["orders_order", "orders_fulfilment", "orders_orderline", "orders_payment"]
    with indexes_dropped(cursor, tables):
        rows = insert_select(
            cursor,
            "orders_order",
            {
                "id": "g",
                "number": "'H' || lpad(g::text, 9, '0')",
                "public_id": "gen_random_uuid()",
                "channel": f"CASE WHEN {is_store} THEN 'store' ELSE 'web' END",
                "location_id": f"CASE WHEN {is_store} THEN 1 + g %% {STORES} END",
                "client_reference": "''",
                "customer_id": f"CASE WHEN g %% 10 < 7 THEN 1 + (g * 31) %% {customers} END",
                "email": "''",
                "phone": "''",
                "status": f"CASE WHEN {is_store} THEN 'completed' ELSE 'fulfilled' END",
                "currency": "'EUR'",
                "subtotal": order_total,
                "discount_total": "0",
                "tax_total": "0",
                "shipping_total": "0",
                "total": order_total,
                "campaign": "''",
                "notes": "''",
                "placed_at": "now() - (g %% 730) * interval '1 day'"
                " - (g %% 86400) * interval '1 second'",
                "created_at": "now()",
                "updated_at": "now()",
            },
            "FROM generate_series(1::bigint, %s::bigint) AS g",
            [n["orders"]],
        )
        reset_sequence(cursor, "orders_order")
        rows += insert_select(
            cursor,
            "orders_fulfilment",
            {
                "id": "g",
                "order_id": "g",
                "method": f"CASE WHEN {is_store} THEN 'in_store' ELSE 'ship' END",
                "location_id": f"CASE WHEN {is_store} THEN 1 + g %% {STORES}"
                f" ELSE {STORES + 1} + g %% {WAREHOUSES} END",
                "status": f"CASE WHEN {is_store} THEN 'collected' ELSE 'delivered' END",
                "sourcing_explanation": "'[]'::jsonb",
                "updated_at": "now()",
            },
            "FROM generate_series(1::bigint, %s::bigint) AS g",
            [n["orders"]],
        )
        reset_sequence(cursor, "orders_fulfilment")
        rows += insert_select(
            cursor,
            "orders_orderline",
            {
                "order_id": "g",
                "fulfilment_id": "g",
                "sku_id": f"1 + {line_sku}",
                "quantity": line_quantity,
                "unit_price": price_sql(line_sku),
                "discount": "0",
                "tax": "0",
                "total": line_total,
                "unit_cost": f"round({price_sql(line_sku)} * 0.4, 2)",
            },
            "FROM generate_series(1::bigint, %s::bigint) AS g CROSS JOIN LATERAL"
            " generate_series(1, 1 + g %% 3) AS k",
            [n["orders"]],
        )
        rows += insert_select(
            cursor,
            "orders_payment",
            {
                "order_id": "o.id",
                "method": "CASE WHEN o.id %% 4 = 0 THEN 'cash' ELSE 'card' END",
                "amount": "o.total",
                "currency": "'EUR'",
                "external_reference": "''",
                "captured": "true",
                "created_at": "o.placed_at",
            },
            "FROM orders_order AS o",
            [],
        )
    done(rows)


def build(scale: float) -> dict:
    from django.db import connection

    n = counts(scale)
    print(f"dataset at scale {scale:g}: {json.dumps(n)}", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '64MB'")
        # The rows are consistent by construction: skip the per-row foreign-key triggers
        # when the role may (a superuser, as on the embedded server).
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET session_replication_role = replica")
        phases = [
            (fill_catalogue, ["inventory_location", "inventory_product", "inventory_sku"]),
            (fill_stock, ["inventory_stocklevel", "inventory_stockmovement"]),
            (fill_customers, ["customers_customer", "customers_identity"]),
            (
                fill_orders,
                ["orders_order", "orders_fulfilment", "orders_orderline", "orders_payment"],
            ),
        ]
        for fill, tables in phases:
            # A phase finished by an interrupted run is kept; an unfinished one starts over.
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {tables[-1]})")  # noqa: S608
            if cursor.fetchone()[0]:
                print(f"  {fill.__name__}: already there")
                continue
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            fill(cursor, n)
        cursor.execute("RESET session_replication_role")
        done = step("ANALYZE")
        cursor.execute("ANALYZE")
        done(0)
        seconds = time.perf_counter() - started
        cursor.execute(
            "CREATE TABLE bench_dataset (scale float, counts jsonb, seconds float,"
            " built_at timestamptz DEFAULT now())"
        )
        cursor.execute(
            "INSERT INTO bench_dataset (scale, counts, seconds) VALUES (%s, %s, %s)",
            [scale, json.dumps(n), seconds],
        )
    print(f"dataset built in {seconds:.0f} s", flush=True)
    return n


def existing(url: str) -> dict | None:
    """The counts of a finished dataset in that database, or None."""
    import psycopg

    with psycopg.connect(url) as conn:
        if not conn.execute("SELECT 1 FROM pg_tables WHERE tablename = 'bench_dataset'").fetchone():
            return None
        row = conn.execute("SELECT counts FROM bench_dataset").fetchone()
    return row[0] if row else None


def drop_database(url: str, name: str) -> None:
    import psycopg

    admin = url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ensure(scale: float, rebuild: bool = False) -> tuple[str, dict]:
    """The URL of the dataset at `scale` and its counts; built unless already there.
    Sets DATABASE_URL and sets Django up on it."""
    name = database_name(scale)
    url = bench_database(name)
    found = None if rebuild else existing(url)
    if rebuild:
        drop_database(url, name)
        url = bench_database(name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    import django

    django.setup()
    if found is None:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        found = build(scale)
    else:
        print(f"dataset at scale {scale:g}: reusing {name}", flush=True)
    return url, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rebuild", action="store_true", help="drop and build again")
    args = parser.parse_args()
    _, found = ensure(args.scale, rebuild=args.rebuild)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM inventory_stocklevel AS level
             WHERE level.on_hand <> (SELECT coalesce(sum(delta), 0)
                                       FROM inventory_stockmovement AS m
                                      WHERE m.stock_level_id = level.id)
            """
        )
        wrong = cursor.fetchone()[0]
    print(f"stock levels where on hand differs from the ledger sum: {wrong}")
    if wrong:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
