"""Helpers the tests share: signed Shopify requests, session tokens, installed shops."""
