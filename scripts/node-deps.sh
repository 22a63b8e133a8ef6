#!/usr/bin/env bash
# Install the JavaScript tools (esbuild, TypeScript, Preact, axe-core for the tests) (package.json, pinned with their integrity hashes in
# package-lock.json) into node_modules/, once per lock file: `npm ci` wipes node_modules, so it
# runs only when the lock changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.harbor-lock-sha256
want="$(sha256sum package-lock.json | cut -c1-64)"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "error: npm is missing; run make setup as root (it installs nodejs and npm)." >&2; exit 1; }
echo "==> installing the JavaScript test tools (npm ci)"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
echo "$want" > "$stamp"
