"""A seeded simulation of a coffee shop that yields the webhooks Shopify would send, in time order.

The simulation is a small discrete-event loop: customers arrive with weekly, yearly and holiday
seasonality, start checkouts (some abandoned, a share recovered later under the same token), pay,
get their parcels, sometimes cancel or ask for a refund, and come back for the consumables they use
up at about the product's interval. Every action emits the webhooks it would cause, built from
Shopify's own sample payloads (`samples/`) with ids, people, times, money and lines replaced.

One `random.Random(seed)` drives everything and actions run in (time, sequence) order, so a seed,
a customer count and a `now` always give the same stream, byte for byte.

The package has three layers: the demand model (`seasons`, `people`, `habits`: who buys what and
when), the simulation (`simulation`, `checkouts`, `order_lifecycle` on a `timeline`, changing the
records of `facts`), and the payload renderers (`*_payloads` on the tools of `rendering`).
"""

from shopify_app.demo.generator.events import CONSENT_TOPIC
from shopify_app.demo.generator.events import TOPICS
from shopify_app.demo.generator.events import DemoEvent
from shopify_app.demo.generator.events import event_from_json
from shopify_app.demo.generator.events import event_to_json
from shopify_app.demo.generator.events import read_events
from shopify_app.demo.generator.facts import ShopProfile
from shopify_app.demo.generator.simulation import ShopSimulation
from shopify_app.demo.generator.simulation import history

__all__ = [
    "CONSENT_TOPIC",
    "TOPICS",
    "DemoEvent",
    "ShopProfile",
    "ShopSimulation",
    "event_from_json",
    "event_to_json",
    "history",
    "read_events",
]
