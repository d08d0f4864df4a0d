"""Bring the local model level with Shopify: bulk backfill and reconciliation over GraphQL."""
