"""Outside services other than Shopify (SMTP); the domain reaches them only through these."""
