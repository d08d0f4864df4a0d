"""Privacy: export what is stored about a customer, redact it, and answer compliance requests."""
