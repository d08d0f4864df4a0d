#!/usr/bin/env bash
# Audit the installed Python environment for known vulnerabilities with pip-audit.
#
# Exit 0: audited and clean, or no advisory service reachable (then it says UNAUDITED loudly; set
# AUDIT_REQUIRED=1 to fail instead). Exit 1: known vulnerabilities were found.
# Tries PyPI's advisory data first, then OSV. Results go to stdout and to $AUDIT_REPORT (JSON)
# when set.
set -uo pipefail
cd "$(dirname "$0")/.."
PIP_AUDIT=".venv/bin/pip-audit"
[ -x "$PIP_AUDIT" ] || PIP_AUDIT="pip-audit"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT

for service in pypi osv; do
  "$PIP_AUDIT" --vulnerability-service "$service" --format json --progress-spinner off \
    --skip-editable >"$report" 2>/dev/null
  status=$?
  verdict="$(.venv/bin/python - "$report" "$status" <<'PY'
import json
import sys

path, status = sys.argv[1], int(sys.argv[2])
try:
    with open(path) as handle:
        data = json.load(handle)
except (OSError, ValueError):
    print("unreachable 0 0 0")
    sys.exit()
deps = data.get("dependencies", data) if isinstance(data, dict) else data
audited = [d for d in deps if "skip_reason" not in d]
vulnerable = [d for d in audited if d.get("vulns")]
state = "unreachable" if not audited else ("vulnerable" if vulnerable else "clean")
print(state, len(deps), len(audited), sum(len(d["vulns"]) for d in vulnerable))
for dep in vulnerable:
    for vuln in dep["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "none"
        sys.stderr.write(f"  {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})\n")
PY
)"
  read -r state total audited vulns <<<"$verdict"
  if [ "$state" != "unreachable" ]; then
    [ -n "${AUDIT_REPORT:-}" ] && cp "$report" "$AUDIT_REPORT"
    echo "pip-audit ($service): $audited of $total installed packages audited, $vulns known vulnerabilities"
    [ "$state" = "clean" ] && exit 0
    exit 1
  fi
  echo "pip-audit ($service): advisory service not reachable from this machine" >&2
done

echo "UNAUDITED: no vulnerability advisory service is reachable (PyPI JSON API, OSV)." >&2
[ "${AUDIT_REQUIRED:-0}" = "1" ] && exit 2
exit 0
