"""The embedded admin pages and their read-only JSON API."""
