"""Lifecycle messaging: the outbox, its rules, templates, the sender, links, NPS and attribution."""
