#!/usr/bin/env bash
# Run by `shopify app dev` (see shopify.web.toml). The CLI passes the app's credentials, the
# tunnel URL and the port in the environment; this maps them onto Retention's settings.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || make install

export SHOPIFY_SCOPES="${SHOPIFY_SCOPES:-${SCOPES:-}}"
export APP_URL="${APP_URL:-${HOST:-${SHOPIFY_APP_URL:-}}}"
APP_URL="${APP_URL%/}"
export APP_URL

# Secrets that are not Shopify's live in instance/dev.env, generated once and never committed.
mkdir -p instance
if [ ! -f instance/dev.env ]; then
  {
    echo "SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))')"
    echo "TOKEN_ENCRYPTION_KEY=$(.venv/bin/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  } > instance/dev.env
  chmod 600 instance/dev.env
fi
set -a
# shellcheck disable=SC1091
. instance/dev.env
set +a

.venv/bin/flask --app shopify_app db upgrade
.venv/bin/flask --app shopify_app scheduler &
scheduler_pid=$!
trap 'kill "$scheduler_pid" 2>/dev/null || true' EXIT
.venv/bin/flask --app shopify_app run --host 127.0.0.1 --port "${PORT:-8081}"
