#!/usr/bin/env bash
# Create (or reuse) one of the project's two Python environments.
#
#   scripts/venv.sh rasa   -> .venv-rasa  (rasa 3.6.21, rasa-sdk, bot/ tooling)
#   scripts/venv.sh app    -> .venv-app   (handoff service: aiohttp, redis-py, spaCy)
#
# An environment is built once per (lock file, python version) in a cache folder outside the
# clone and linked into place, so a fresh clone on a machine that built it before starts in
# seconds. Delete the cache folder (make clean-cache) to force a rebuild.
#
# PYTHON picks the interpreter (default: python3.11, else python3.10, else python3).
# LOCK_REFRESH=1 resolves requirements/<name>.in afresh and rewrites requirements/<name>-lock.txt.
set -euo pipefail
name="${1:?usage: scripts/venv.sh rasa|app}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
req_in="requirements/$name.in"
[ -f "$req_in" ] || { echo "no such environment: $name" >&2; exit 2; }

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for candidate in python3.11 python3.10 /root/.pyenv/versions/3.11*/bin/python3.11 \
                   /root/.pyenv/versions/3.10*/bin/python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(not (3,10) <= sys.version_info[:2] <= (3,11))' 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  echo "Python 3.10 or 3.11 is required; set PYTHON=/path/to/python3.11" >&2
  exit 2
}
py="$(pick_python)"
pyver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
# requirements/<name>-lock.txt pins the environment on Python 3.11; an older Python whose newest
# compatible releases differ (current test tools have left 3.10) has its own lock file.
lock="requirements/$name-lock.txt"
[ "$pyver" = 3.11 ] || [ ! -f "requirements/$name-lock-py$pyver.txt" ] || lock="requirements/$name-lock-py$pyver.txt"
if [ "${LOCK_REFRESH:-0}" = 1 ] && [ "$pyver" != 3.11 ]; then lock="requirements/$name-lock-py$pyver.txt"; fi

cache="${HARBOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/harbor-assist}"
# Bump RECIPE when the way an environment is built changes, so cached ones are rebuilt.
RECIPE=1
key="$( { echo "$RECIPE"; cat "$req_in"; cat "$lock" 2>/dev/null || true; } | sha256sum | cut -c1-16)"
target="$cache/venvs/$name-py$pyver-$key"
link=".venv-$name"

# `bot faq list` and friends: the editors' CLI, run from the project folder (python -m bot).
write_shims() {
  [ "$name" = rasa ] || return 0
  local shim="$target/bin/bot"
  [ -x "$shim" ] && return 0
  printf '%s\n' '#!/bin/sh' \
    '# The editors'"'"' CLI (bot faq ...); run it from the project folder.' \
    'PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" exec "$(dirname "$0")/python" -m bot "$@"' > "$shim"
  chmod +x "$shim"
}

if [ "${LOCK_REFRESH:-0}" != 1 ] && [ -f "$target/.complete" ]; then
  write_shims
  if [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
    rm -rf "$link"; ln -s "$target" "$link"
  fi
  exit 0
fi

echo "==> building the $name environment with Python $pyver (once; cached in $target)"
rm -rf "$target"
mkdir -p "$cache/venvs"
"$py" -m venv "$target"
pip=("$target/bin/python" -m pip --disable-pip-version-check -q)
# The machine's pip configuration may list local mirror folders that do not exist; that is noise.
quiet() { "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2); }
quiet "${pip[@]}" install --upgrade "pip==24.3.1" "setuptools==75.6.0" "wheel==0.45.1"

extra=()
if [ "$name" = rasa ]; then
  # Rasa 3.6 declares python<3.11 but its wheels run on 3.11; matplotlib 3.5.3 (pinned by rasa)
  # has no cp311 wheel and builds against Debian's freetype and qhull instead of downloading them.
  # On 3.10 the declared ranges hold and are respected.
  [ "$pyver" = 3.10 ] || extra+=(--ignore-requires-python)
  mplcfg="$target/mplsetup.cfg"
  printf '[libs]\nsystem_freetype = True\nsystem_qhull = True\n' > "$mplcfg"
  export MPLSETUPCFG="$mplcfg"
fi

if [ "${LOCK_REFRESH:-0}" = 1 ] || [ ! -s "$lock" ]; then
  # A fresh lock for another Python starts from the 3.11 pins that Python can install, so
  # the two environments differ only where they must.
  base="requirements/$name-lock.txt"
  constraints=()
  if [ "$lock" != "$base" ] && [ -s "$base" ]; then
    grep -v -i -E "^(${LOCK_SKIP:-__none__})==" "$base" > "$target/base-constraints.txt" || true
    constraints=(-c "$target/base-constraints.txt")
  fi
  quiet "${pip[@]}" install "${extra[@]}" "${constraints[@]}" -r "$req_in"
  "$target/bin/python" -m pip freeze --exclude-editable | grep -v '^-e ' > "$lock"
  echo "==> wrote $lock"
else
  quiet "${pip[@]}" install "${extra[@]}" -c "$lock" -r "$req_in"
fi
"$target/bin/python" -m pip check
write_shims
touch "$target/.complete"
rm -rf "$link"; ln -s "$target" "$link"
echo "==> $link ready"
