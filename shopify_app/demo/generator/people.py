"""Who buys: new customers with a name, an address, a phone now and then, and a consent state.

About half subscribe to email marketing as they sign up, a few confirm later (double opt-in);
three in ten make an account. Each customer also draws how loyal they are and how fast they use
things up, which the shopping habits read when they plan the next purchase.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from shopify_app.demo.generator.facts import Customer
from shopify_app.demo.generator.ids import IdSource

_FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Ethan",
    "Harper",
    "Benjamin",
    "Evelyn",
    "Henry",
    "Abigail",
    "Leo",
    "Emily",
    "Daniel",
    "Ella",
    "Samuel",
    "Grace",
    "Owen",
    "Chloe",
    "Jack",
    "Nora",
    "Wyatt",
    "Lily",
    "Julian",
    "Zoe",
    "Isaac",
    "Hannah",
    "Gabriel",
    "Aria",
    "Caleb",
    "Layla",
    "Ryan",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Fatima",
    "Omar",
    "Sofia",
    "Diego",
    "Ingrid",
    "Kwame",
)
_LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Patel",
    "Kim",
    "Chen",
    "Okafor",
    "Larsen",
)
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
_STREETS = (
    "Maple Ave",
    "Oak St",
    "Cedar Ln",
    "Pine St",
    "Elm St",
    "Washington Blvd",
    "Lake Dr",
    "Hillcrest Rd",
    "Sunset Blvd",
    "Park Ave",
    "River Rd",
    "Highland Ave",
    "Church St",
)
# (city, province, province code, zip prefix)
_CITIES = (
    ("New York", "New York", "NY", "100"),
    ("Brooklyn", "New York", "NY", "112"),
    ("Boston", "Massachusetts", "MA", "021"),
    ("Philadelphia", "Pennsylvania", "PA", "191"),
    ("Chicago", "Illinois", "IL", "606"),
    ("Austin", "Texas", "TX", "787"),
    ("Houston", "Texas", "TX", "770"),
    ("Denver", "Colorado", "CO", "802"),
    ("Seattle", "Washington", "WA", "981"),
    ("Portland", "Oregon", "OR", "972"),
    ("San Francisco", "California", "CA", "941"),
    ("Los Angeles", "California", "CA", "900"),
    ("San Diego", "California", "CA", "921"),
    ("Atlanta", "Georgia", "GA", "303"),
    ("Miami", "Florida", "FL", "331"),
    ("Minneapolis", "Minnesota", "MN", "554"),
    ("Nashville", "Tennessee", "TN", "372"),
    ("Phoenix", "Arizona", "AZ", "850"),
    ("Raleigh", "North Carolina", "NC", "276"),
    ("Madison", "Wisconsin", "WI", "537"),
)


class NewCustomers:
    """Make up customers, each with an email address no earlier customer had."""

    def __init__(self, rng: random.Random, ids: IdSource) -> None:
        self._rng = rng
        self._ids = ids
        self._emails: set[str] = set()

    def new_customer(
        self,
        at: datetime,
        *,
        first: str | None = None,
        last: str | None = None,
        email: str | None = None,
    ) -> Customer:
        """Return a customer who signs up at *at*; a name or email given is used as it is."""
        rng = self._rng
        first = first or rng.choice(_FIRST_NAMES)
        last = last or rng.choice(_LAST_NAMES)
        if email is None:
            email = self._unique_email(first, last)
        self._emails.add(email)
        address = self._address(first, last)
        state, level = self._consent()
        return Customer(
            id=self._ids.new_id("customer"),
            address_id=self._ids.new_id("address"),
            first_name=first,
            last_name=last,
            email=email,
            phone=address["phone"],
            address=address,
            created_at=at,
            updated_at=at,
            has_account=rng.random() < 0.3,
            consent_state=state,
            consent_level=level,
            consent_updated_at=at,
            is_repeater=rng.random() < 0.62,
            loyalty=rng.uniform(0.7, 0.93),
            pace=rng.lognormvariate(0.0, 0.15),
        )

    def _unique_email(self, first: str, last: str) -> str:
        rng = self._rng
        local = f"{first}.{last}".lower()
        email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
        while email in self._emails:
            email = f"{local}{rng.randint(2, 9999)}@{rng.choice(_EMAIL_DOMAINS)}"
        return email

    def _address(self, first: str, last: str) -> dict[str, Any]:
        rng = self._rng
        city, province, province_code, zip_prefix = rng.choice(_CITIES)
        phone = None
        if rng.random() < 0.6:
            phone = f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}"
        return {
            "first_name": first,
            "address1": f"{rng.randint(1, 9899)} {rng.choice(_STREETS)}",
            "phone": phone,
            "city": city,
            "zip": f"{zip_prefix}{rng.randint(0, 99):02d}",
            "province": province,
            "country": "United States",
            "last_name": last,
            "address2": f"Apt {rng.randint(1, 40)}" if rng.random() < 0.25 else None,
            "company": None,
            "latitude": None,
            "longitude": None,
            "name": f"{first} {last}",
            "country_code": "US",
            "province_code": province_code,
        }

    def _consent(self) -> tuple[str, str]:
        """Return the email marketing consent given at sign-up: (state, opt-in level)."""
        roll = self._rng.random()
        if roll < 0.46:
            return "subscribed", "single_opt_in"
        if roll < 0.5:
            return "pending", "confirmed_opt_in"
        return "not_subscribed", "single_opt_in"
