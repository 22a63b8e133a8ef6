#!/usr/bin/env bash
# Build the pages' scripts (frontend/ → handoff/static/build/) when their sources or the
# locked tool versions changed since the last build. The stamp is the checksum of every file
# the build reads, so a fresh clone, an edited module or a new lock file rebuild, and nothing
# else does. The build itself takes well under a second.
#
# --check (make test): build a second copy into a temporary folder and require it to be byte for
# byte the served one: the served scripts are current and the build is reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
out=handoff/static/build
stamp="$out/.sources-sha256"
want="$( { sha256sum package-lock.json frontend/build.mjs;
           find frontend -name '*.js' ! -name '*.test.js' -print0 | sort -z | xargs -0 sha256sum; } \
         | sha256sum | cut -c1-64)"
if [ "${1:-}" = --check ]; then
  again="$(mktemp -d)"
  trap 'rm -rf "$again"' EXIT
  node frontend/build.mjs "$again"
  for built in "$out"/*.js; do
    if ! cmp -s "$built" "$again/$(basename "$built")"; then
      echo "error: $built differs from a fresh build of frontend/ (run make setup)" >&2
      exit 1
    fi
  done
  echo "    the served scripts are a reproducible build of frontend/ ($(ls "$out"/*.js | wc -l) files)"
  exit 0
fi
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$out/widget.js" ] && exit 0
echo "==> building the pages' scripts (esbuild)"
rm -rf "$out"
node frontend/build.mjs
echo "$want" > "$stamp"
