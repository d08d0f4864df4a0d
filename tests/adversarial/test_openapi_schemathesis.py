"""docs/openapi.yaml describes /api/* truly: schemathesis against a live server finds no 5xx."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from schemathesis import Case
from schemathesis.checks import content_type_conformance
from schemathesis.checks import not_a_server_error
from schemathesis.checks import response_schema_conformance
from schemathesis.checks import status_code_conformance

from shopify_app.models import Shop
from tests.adversarial.support import VICTIM
from tests.adversarial.support import Store
from tests.adversarial.support import scale
from tests.support.shopify import make_session_token

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES_PER_OPERATION = scale(12, 100)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_spec_covers_every_api_route_of_the_app(app: Flask) -> None:
    schema = schemathesis.openapi.from_path(str(SPEC))
    described = {
        (operation.method.upper(), operation.path)
        for operation in (result.ok() for result in schema.get_all_operations())
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                served.add((method, path))
    assert served == described


def test_every_api_operation_answers_within_its_schema_and_never_with_5xx(
    live_server: str, victim_store: Store, make_shop: Callable[..., Shop]
) -> None:
    schema = schemathesis.openapi.from_path(str(SPEC))
    operations = [result.ok() for result in schema.get_all_operations()]
    exercised = 0
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case: Case) -> None:
            headers = {"Authorization": f"Bearer {make_session_token(VICTIM)}"}
            case.call_and_validate(base_url=live_server, headers=headers, checks=CHECKS, timeout=30)

        check()
        exercised += 1
    assert exercised == len(operations) >= 20
