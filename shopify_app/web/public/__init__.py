"""Public pages reached from emails, with no login: unsubscribe and NPS answers."""
