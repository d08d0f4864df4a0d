"""Liveness and readiness for load balancers and orchestrators.

`/healthz` answers 200 while the process can serve a request and does no I/O, so a slow database
never gets a healthy process restarted. `/readyz` checks what a request needs: the database, and
Redis when `REDIS_URL` is set; 503 with the names of what is down tells the balancer to route
elsewhere until it recovers.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from jobs.tasks import task_queue
from shopify_app.db import get_database

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer that the process is up, without touching the database or Redis."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Answer 200 when the database (and Redis, when configured) answer, else 503 naming them."""
    checks: dict[str, str] = {}
    try:
        with get_database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        logger.warning("Readiness: the database is unreachable (%s)", type(exc).__name__)
        checks["database"] = "unreachable"
    queue = task_queue(current_app)
    if queue is not None:
        try:
            queue.ping()
            checks["redis"] = "ok"
        except (redis.RedisError, OSError) as exc:
            logger.warning("Readiness: Redis is unreachable (%s)", type(exc).__name__)
            checks["redis"] = "unreachable"
    down = sorted(name for name, state in checks.items() if state != "ok")
    if down:
        return jsonify({"status": "unavailable", "down": down, "checks": checks}), 503
    return jsonify({"status": "ok", "down": [], "checks": checks}), 200
