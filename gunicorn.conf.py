"""Gunicorn settings for the web process: `gunicorn -c gunicorn.conf.py` (see docs/deploy.md).

Every value can be changed from the environment, so one file serves a laptop and a fleet.
Threads (gthread) rather than many processes: requests mostly wait on the database, and each
process holds its own connection pool (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW per process).
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


wsgi_app = "shopify_app:create_app()"

# Listen where the platform says: GUNICORN_BIND wins, else HOST:PORT (PORT is set by most PaaS).
bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
)

workers = _int("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 8))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# Shopify gives up on a webhook after 5 seconds; a request stuck for 30 is a bug, not load.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, stop accepting and let in-flight requests finish for this long.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then so a slow leak never takes a process down under load.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1_000)

# Each worker builds its own app (engine, pool, Redis client): never share sockets across fork.
preload_app = False

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Gunicorn 24+ opens a control socket in $HOME by default; several web processes on one host
# (or one home directory) would fight over it. Give GUNICORN_CONTROL_SOCKET a path to enable it.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
