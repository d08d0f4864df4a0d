"""The only code that talks to Shopify: signatures, shop domains, tokens and the GraphQL API."""

API_VERSION = "2026-07"
"""The Admin API and webhook payload version this app is built and tested against."""
