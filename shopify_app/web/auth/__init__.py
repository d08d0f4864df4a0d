"""Install and authentication views: the embedded app home, legacy OAuth, the /api guard."""
