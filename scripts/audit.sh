#!/usr/bin/env bash
# Audit both environments' pinned packages against known advisories (PyPI's advisory data).
# Writes the report to test-artifacts/audit.md and prints it; see scripts/audit.py and
# docs/security.md. Exit 1 when a handoff-environment pin has an advisory a newer release fixes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p test-artifacts
python="${PYTHON:-$(command -v python3)}"
[ -x .venv-app/bin/python ] && python=.venv-app/bin/python
status=0
"$python" scripts/audit.py "$@" > test-artifacts/audit.md || status=$?
cat test-artifacts/audit.md
echo "(written to test-artifacts/audit.md)"
exit "$status"
