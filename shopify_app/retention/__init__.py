"""The retention domain: local orders, checkouts and customers, flows, KPIs, privacy."""
