"""The local model of a shop: shops, customers, checkouts, orders, refunds, fulfillments, tokens."""
