"""`make run`: the app on the embedded SQLite default, with its settings generated on first run.

Settings come from `instance/local.env` (created with random secrets the first time, never
committed); variables already set in the environment win.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from shopify_app import PROJECT_ROOT
from shopify_app.token_cipher import generate_key

INSTANCE_DIR = PROJECT_ROOT / "instance"
LOCAL_ENV = INSTANCE_DIR / "local.env"
HOST = "127.0.0.1"
PORT = int(os.environ.get("PORT", "5000"))


def ensure_local_env(path: Path = LOCAL_ENV) -> dict[str, str]:
    """Return the local settings, writing a file of fresh random secrets on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = {
            "SHOPIFY_API_KEY": "local-demo-app",
            "SHOPIFY_API_SECRET": secrets.token_hex(32),
            "APP_URL": f"http://{HOST}:{PORT}",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "TOKEN_ENCRYPTION_KEY": generate_key(),
            "SMTP_URL": f"smtp://{HOST}:1025",
            "MAIL_FROM": "retention@localhost.localdomain",
            "DEMO_MODE": "true",
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        path.chmod(0o600)
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def main() -> None:
    for key, value in ensure_local_env().items():
        os.environ.setdefault(key, value)

    from shopify_app import create_app
    from shopify_app import migrations_runner
    from shopify_app.context import get_settings

    app = create_app()
    migrations_runner.upgrade(get_settings(app).database_url)
    print(f"Retention is running on http://{HOST}:{PORT}  (Ctrl-C stops it)")  # noqa: T201
    app.run(host=HOST, port=PORT, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
