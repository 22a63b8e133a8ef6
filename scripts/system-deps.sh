#!/usr/bin/env bash
# Install the Debian packages the stack and its tests need, when any is missing.
#   redis-server                  the system of record for live conversations
#   chromium, chromium-driver     the browser tests (never a test tool's own browser download)
#   postgresql                    the order store's PostgreSQL tests
#   nodejs, npm                   the JavaScript test tools (axe-core audits the pages)
#   libfreetype-dev pkg-config libqhull-dev   build matplotlib 3.5.3 (pinned by rasa) on 3.11
#   iproute2                      `ip`: the multi-host test builds its hosts as network namespaces
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
pkg-config --exists freetype2 2>/dev/null || need+=(libfreetype-dev pkg-config)
[ -e /usr/include/libqhull_r/libqhull_r.h ] || [ -e /usr/include/libqhull/libqhull.h ] || need+=(libqhull-dev)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "error: missing system packages (${need[*]}); install them with apt-get as root." >&2
  exit 1
fi
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
echo "==> installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q >/dev/null
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
