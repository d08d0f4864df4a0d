"""The demo store: a seeded simulation of a Shopify shop and a player that sends its webhooks.

`generator` turns a seed into a time-ordered stream of real-shaped webhook events (two years of
history, then an endless future); `player` delivers that stream to a running app the way Shopify
would, signed, with duplicates and small reorderings, on a compressed clock once history is over.
"""

DEMO_SHOP_DOMAIN = "retention-demo.myshopify.com"
"""The demo shop's permanent `*.myshopify.com` domain, as Shopify would name it."""
