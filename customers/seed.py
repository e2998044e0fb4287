"""Demo customers: a few thousand people from Portugal, Spain, Germany and the UK with
emails, E.164 phones, some loyalty cards and app installs, consents, preferences,
addresses, preferred stores, and a few planted duplicates for the merge screen.
Bulk inserts only, so it takes seconds."""

from __future__ import annotations

import datetime
import random
import unicodedata

import phonenumbers
from django.db import transaction
from django.utils import timezone

from customers.models import (
    Address,
    ConsentEvent,
    ConsentState,
    Customer,
    Identity,
    Preferences,
)
from inventory.models import Location

CUSTOMER_COUNT = 3000

PEOPLE = {
    "PT": {
        "first": [
            "Ana",
            "João",
            "Maria",
            "Pedro",
            "Inês",
            "Tiago",
            "Beatriz",
            "Rui",
            "Carolina",
            "Miguel",
            "Sofia",
            "Diogo",
            "Mariana",
            "Nuno",
            "Catarina",
            "Francisco",
            "Rita",
            "Gonçalo",
            "Leonor",
            "André",
        ],
        "last": [
            "Silva",
            "Santos",
            "Ferreira",
            "Pereira",
            "Oliveira",
            "Costa",
            "Rodrigues",
            "Martins",
            "Sousa",
            "Fernandes",
            "Gonçalves",
            "Gomes",
            "Lopes",
            "Marques",
            "Almeida",
            "Ribeiro",
            "Carvalho",
            "Teixeira",
        ],
        "cities": [
            ("Lisboa", "1200-{:03d}", "lisbon-chiado"),
            ("Porto", "4000-{:03d}", "porto-baixa"),
            ("Braga", "4700-{:03d}", "porto-baixa"),
            ("Setúbal", "2900-{:03d}", "lisbon-chiado"),
        ],
        "mobile": "+3519{}{:07d}",
        "mobile_prefixes": "1236",
        "language": "pt-PT",
        "time_zone": "Europe/Lisbon",
        "domains": ["sapo.pt", "gmail.com", "outlook.pt"],
        "streets": ["Rua Garrett", "Rua Augusta", "Avenida da Liberdade", "Rua de Santa Catarina"],
    },
    "ES": {
        "first": [
            "Lucía",
            "Hugo",
            "Martina",
            "Pablo",
            "Sofía",
            "Daniel",
            "Paula",
            "Alejandro",
            "Carmen",
            "Javier",
            "Elena",
            "Sergio",
            "Laura",
            "David",
            "Marta",
            "Álvaro",
        ],
        "last": [
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Martín",
            "Jiménez",
            "Ruiz",
            "Hernández",
            "Díaz",
            "Moreno",
        ],
        "cities": [
            ("Madrid", "280{:02d}", "madrid-salamanca"),
            ("Alcalá de Henares", "288{:02d}", "madrid-salamanca"),
        ],
        "mobile": "+346{}{:07d}",
        "mobile_prefixes": "0123456789",
        "language": "es-ES",
        "time_zone": "Europe/Madrid",
        "domains": ["gmail.com", "hotmail.es", "yahoo.es"],
        "streets": ["Calle de Serrano", "Calle de Goya", "Calle de Velázquez", "Gran Vía"],
    },
    "DE": {
        "first": [
            "Lena",
            "Jonas",
            "Anna",
            "Lukas",
            "Mia",
            "Felix",
            "Emma",
            "Paul",
            "Hannah",
            "Leon",
            "Laura",
            "Maximilian",
            "Sophie",
            "Niklas",
            "Marie",
            "Tim",
        ],
        "last": [
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Koch",
            "Richter",
            "Klein",
            "Wolf",
            "Neumann",
        ],
        "cities": [
            ("Berlin", "101{:02d}", "berlin-mitte"),
            ("Potsdam", "144{:02d}", "berlin-mitte"),
        ],
        "mobile": "+4915{}{:08d}",
        "mobile_prefixes": "1257",
        "language": "de-DE",
        "time_zone": "Europe/Berlin",
        "domains": ["gmx.de", "web.de", "t-online.de"],
        "streets": ["Friedrichstraße", "Torstraße", "Invalidenstraße", "Auguststraße"],
    },
    "GB": {
        "first": [
            "Oliver",
            "Amelia",
            "George",
            "Isla",
            "Harry",
            "Ava",
            "Jack",
            "Emily",
            "Charlie",
            "Grace",
            "Thomas",
            "Lily",
            "James",
            "Freya",
        ],
        "last": [
            "Smith",
            "Jones",
            "Taylor",
            "Brown",
            "Williams",
            "Wilson",
            "Johnson",
            "Davies",
            "Evans",
            "Walker",
            "Wright",
            "Thompson",
            "Roberts",
        ],
        "cities": [("London", "SW1A {}AA", "lisbon-chiado")],
        "mobile": "+447{}{:08d}",
        "mobile_prefixes": "45789",
        "language": "en-GB",
        "time_zone": "Europe/London",
        "domains": ["gmail.com", "outlook.com", "btinternet.com"],
        "streets": ["Baker Street", "King's Road", "Oxford Street"],
    },
}
COUNTRY_WEIGHTS = [("PT", 45), ("ES", 25), ("DE", 20), ("GB", 10)]
CHANNELS = [("web", 40), ("store", 35), ("app", 20), ("phone", 3), ("social", 2)]
INTERESTS = ["running", "outdoor", "kids", "home", "tech", "fashion", "beauty", "sustainability"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _pick(rng: random.Random, weighted):
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def _phone(rng: random.Random, country: str) -> str | None:
    spec = PEOPLE[country]
    number = spec["mobile"].format(rng.choice(spec["mobile_prefixes"]), rng.randrange(10**7))
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def seed(*, stdout, force: bool = False, count: int = CUSTOMER_COUNT) -> None:
    if Customer.objects.exists() and not force:
        stdout.write("customers: already seeded, skipped")
        return
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    stores = Location.objects.in_bulk(
        ["lisbon-chiado", "porto-baixa", "madrid-salamanca", "berlin-mitte"], field_name="code"
    )
    now = timezone.now()
    run = now.strftime("%H%M%S") if force else ""

    with transaction.atomic():
        people = []
        for n in range(count):
            country = _pick(rng, COUNTRY_WEIGHTS)
            spec = PEOPLE[country]
            city, postcode, store_code = rng.choice(spec["cities"])
            channel = _pick(rng, CHANNELS)
            store = stores.get(store_code)
            people.append(
                {
                    "n": n,
                    "country": country,
                    "channel": channel,
                    "customer": Customer(
                        first_name=rng.choice(spec["first"]),
                        last_name=rng.choice(spec["last"]),
                        birth_date=datetime.date(1950, 1, 1)
                        + datetime.timedelta(days=rng.randrange(365 * 55)),
                        gender=rng.choice(["female", "male", "", "undisclosed"]),
                        language=spec["language"],
                        time_zone=spec["time_zone"],
                        city=city,
                        postcode=postcode.format(rng.randrange(1, 99)),
                        country=country,
                        preferred_store=store if rng.random() < 0.6 else None,
                        acquisition_channel=channel,
                        first_seen_channel=channel,
                        first_seen_location=store if channel == "store" else None,
                    ),
                }
            )
        # A few planted duplicates: the same person signed up twice (same name, same
        # postcode; or their email typed in as a web account id).
        for person in rng.sample(people, 12):
            twin = Customer(
                **{
                    name: getattr(person["customer"], name)
                    for name in (
                        "first_name",
                        "last_name",
                        "language",
                        "time_zone",
                        "city",
                        "postcode",
                        "country",
                    )
                },
                acquisition_channel="store",
                first_seen_channel="store",
            )
            people.append(
                {
                    "n": len(people),
                    "country": person["country"],
                    "channel": "store",
                    "customer": twin,
                    "twin_of": person,
                }
            )
        Customer.objects.bulk_create([person["customer"] for person in people], batch_size=2000)
        # Customers joined over the last three years, not all this minute.
        for person in people:
            person["customer"].created_at = now - datetime.timedelta(
                days=rng.randrange(0, 1100), minutes=rng.randrange(0, 1440)
            )
        Customer.objects.bulk_update(
            [person["customer"] for person in people], ["created_at"], batch_size=2000
        )

        identities, phones_seen = [], set()
        for person in people:
            customer = person["customer"]
            local = f"{_ascii(customer.first_name)}.{_ascii(customer.last_name)}{person['n']}{run}"
            domain = rng.choice(PEOPLE[person["country"]]["domains"])
            if "twin_of" in person:
                original = person["twin_of"]["email"]
                if person["n"] % 2:
                    identities.append(
                        Identity(customer=customer, kind="web_account", value=original)
                    )
                person["email"] = None
                continue
            person["email"] = f"{local}@{domain}"
            identities.append(
                Identity(
                    customer=customer,
                    kind="email",
                    value=person["email"],
                    verified=rng.random() < 0.7,
                    source_channel=person["channel"],
                )
            )
            if rng.random() < 0.8:
                phone = _phone(rng, person["country"])
                if phone and phone not in phones_seen:
                    phones_seen.add(phone)
                    identities.append(Identity(customer=customer, kind="phone", value=phone))
            if rng.random() < 0.35:
                identities.append(
                    Identity(
                        customer=customer, kind="loyalty_card", value=f"OMN{run}{person['n']:08d}"
                    )
                )
            if person["channel"] == "app" or rng.random() < 0.1:
                identities.append(
                    Identity(
                        customer=customer, kind="app_install", value=f"{rng.getrandbits(128):032x}"
                    )
                )
            if person["channel"] == "web":
                identities.append(
                    Identity(
                        customer=customer, kind="web_account", value=f"web-{run}{person['n']:07d}"
                    )
                )
        Identity.objects.bulk_create(identities, batch_size=5000, ignore_conflicts=True)

        events, preferences, addresses = [], [], []
        for person in people:
            customer = person["customer"]
            if person.get("email") is None:
                continue
            signup = customer.created_at
            for channel, odds in (("email", 0.7), ("sms", 0.4), ("push", 0.3), ("post", 0.1)):
                if rng.random() < odds:
                    events.append(
                        ConsentEvent(
                            customer=customer,
                            channel=channel,
                            status="granted",
                            occurred_at=signup,
                            source_channel=person["channel"],
                            form="signup",
                            evidence="ticked the opt-in box",
                        )
                    )
                    if rng.random() < 0.1:
                        events.append(
                            ConsentEvent(
                                customer=customer,
                                channel=channel,
                                status="withdrawn",
                                # Some time between signing up and today.
                                occurred_at=signup + (now - signup) * rng.uniform(0.05, 0.95),
                                source_channel=channel if channel != "post" else "",
                                form="unsubscribe link",
                            )
                        )
            if rng.random() < 0.4:
                preferences.append(
                    Preferences(
                        customer=customer,
                        email_frequency=rng.choice(["daily", "weekly", "weekly", "monthly"]),
                        preferred_channel=rng.choice(["email", "sms", "push", ""]),
                        interests=rng.sample(INTERESTS, rng.randrange(0, 4)),
                        language=customer.language,
                    )
                )
            if rng.random() < 0.5:
                spec = PEOPLE[person["country"]]
                addresses.append(
                    Address(
                        customer=customer,
                        kind="shipping",
                        is_default=True,
                        recipient=customer.full_name,
                        line1=f"{rng.choice(spec['streets'])} {rng.randrange(1, 200)}",
                        city=customer.city,
                        postcode=customer.postcode,
                        country=customer.country,
                    )
                )
        ConsentEvent.objects.bulk_create(events, batch_size=5000)
        latest: dict[tuple[int, str], ConsentEvent] = {}
        for event in events:
            key = (event.customer_id, event.channel)
            if key not in latest or event.occurred_at >= latest[key].occurred_at:
                latest[key] = event
        ConsentState.objects.bulk_create(
            [
                ConsentState(
                    customer_id=event.customer_id,
                    channel=event.channel,
                    status=event.status,
                    changed_at=event.occurred_at,
                    event=event,
                )
                for event in latest.values()
            ],
            batch_size=5000,
        )
        Preferences.objects.bulk_create(preferences, batch_size=5000)
        Address.objects.bulk_create(addresses, batch_size=5000)
    stdout.write(
        f"customers: {len(people)} customers ({len(people) - count} planted duplicates), "
        f"{len(identities)} identities, {len(events)} consent events"
    )
