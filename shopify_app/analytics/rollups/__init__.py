"""Keep the KPI aggregates (shopify_app.models.rollups) in step with orders and refunds.

Every aggregate row is a pure function of one shop's orders, order lines and refunds:
`facts` derives each order's contribution and each customer's rows, `totals` adds customers up
into the shop-level counters, and `tables` writes both. `incremental` re-derives (through
`customers`) only the customers a set of changes touches and applies the difference; `rebuild`
derives everything from scratch with the same functions, so both arrive at identical rows (see
docs/kpis.md).
"""
