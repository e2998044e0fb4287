"""The retail requests the endpoint benchmark and the load test send, on the dataset of
bench/dataset.py: availability and stock lookups, customer lookups, till sales, web
checkouts. Each builder takes a random generator and returns (method, path, body, headers)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from decimal import Decimal

from bench.dataset import STORES, WAREHOUSES


def sku_code(index: int) -> str:
    return f"SKU-{index + 1:06d}"


def sku_price(index: int) -> Decimal:
    """As bench/dataset.py prices SKU number `index` (0-based)."""
    return Decimal(5 + (index * 37) % 200) + Decimal("0.99")


def store_code(number: int) -> str:
    return f"store-{number:02d}"


@dataclass
class Tokens:
    stock: str
    customers: str
    web: str
    tills: dict[int, str]  # store number -> register token scoped to it


def make_tokens(stores: list[int]) -> Tokens:
    """Fresh tokens for a run (Django set up on the dataset)."""
    from inventory.models import Location
    from omni.services import create_api_token

    def token(name, scopes, locations=()):
        return create_api_token(
            name=name, scopes=scopes, locations=locations, rate_limit_per_minute=100_000_000
        )[1]

    places = {place.code: place for place in Location.objects.filter(kind="store")}
    return Tokens(
        stock=token("Bench availability", ["stock:read"]),
        customers=token("Bench CRM", ["customers:read"]),
        web=token("Bench web shop", ["orders:read", "orders:write"]),
        tills={
            number: token(f"Bench till {number}", ["sales:write"], [places[store_code(number)]])
            for number in stores
        },
    )


class Workload:
    def __init__(self, counts: dict, tokens: Tokens, run: str):
        self.skus = counts["skus"]
        self.customers = counts["customers"]
        self.tokens = tokens
        self.run = run

    def availability(self, rng: random.Random):
        """One SKU at one store (what the store can sell now), as a shop page asks."""
        code = sku_code(rng.randrange(self.skus))
        store = store_code(1 + rng.randrange(STORES))
        return "GET", f"/api/v1/availability/{code}/?location={store}", None, self.tokens.stock

    def stock_level(self, rng: random.Random):
        code = sku_code(rng.randrange(self.skus))
        store = store_code(1 + rng.randrange(STORES))
        return "GET", f"/api/v1/stock-levels/?sku={code}&location={store}", None, self.tokens.stock

    def customer_lookup(self, rng: random.Random):
        number = 1 + rng.randrange(self.customers)
        path = f"/api/v1/customers/lookup/?email=customer{number}%40example.com"
        return "GET", path, None, self.tokens.customers

    def pos_sale(self, rng: random.Random):
        store = rng.choice(list(self.tokens.tills))
        picks = rng.sample(range(self.skus), rng.randint(1, 3))
        lines = [{"sku": sku_code(index), "quantity": 1} for index in picks]
        total = sum(sku_price(index) for index in picks)
        reference = f"{self.run}-{uuid.uuid4().hex[:12]}"
        body = {
            "client_reference": reference,
            "lines": lines,
            "payments": [{"method": "card", "amount": str(total)}],
        }
        key = {"Idempotency-Key": reference}
        return "POST", "/api/v1/sales/", body, self.tokens.tills[store], key

    def checkout(self, rng: random.Random):
        number = 1 + rng.randrange(self.customers)
        picks = rng.sample(range(self.skus), rng.randint(1, 2))
        body = {
            "channel": "web",
            "email": f"customer{number}@example.com",
            "lines": [{"sku": sku_code(index), "quantity": 1} for index in picks],
            "delivery": {"method": "ship"},
        }
        key = {"Idempotency-Key": f"{self.run}-{uuid.uuid4().hex}"}
        return "POST", "/api/v1/checkout/", body, self.tokens.web, key


def call(clients: dict, port: int, request) -> tuple[int, bytes, float]:
    """Send `request` on this thread's keep-alive connection for its token."""
    from bench.harness import Client

    method, path, body, token, *rest = request
    headers = rest[0] if rest else None
    client = clients.get(token)
    if client is None:
        client = clients[token] = Client(port, token)
    return client.call(method, path, body, headers)


WAREHOUSE_CODES = [f"warehouse-{number}" for number in range(1, WAREHOUSES + 1)]
