"""Register the shared fixtures; each lives in one module of tests/support/fixtures."""

pytest_plugins = [
    "tests.support.fixtures.logs",
    "tests.support.fixtures.databases",
    "tests.support.fixtures.apps",
    "tests.support.fixtures.shops",
    "tests.support.fixtures.mail",
    "tests.support.fixtures.shopify",
    "tests.support.fixtures.browser",
    "tests.support.fixtures.kpis",
    "tests.support.fixtures.inbox",
]
