#!/usr/bin/env bash
# `make test`: every suite; all of them run even after a failure, and the last line sums them up
# as "N passed, N failed". Exit 0 only if every stage passed.
#
# Order: the cheap checks, then the models (the tests read them), then two lanes at once, one per
# core: the service's suites (unit, browser, the real stack), and the assistant's suites (unit,
# test conversations, held-out gates) followed by the fault suite's small clusters. Each
# test starts its own Redis, servers and stack on free ports, so the lanes share nothing; the
# second lane's output is shown when it ends. TEST_LANES=1 runs everything in one line.
set -uo pipefail
cd "$(dirname "$0")/.."
RASA=.venv-rasa/bin
APP=.venv-app/bin
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONDONTWRITEBYTECODE=1
export RASA_CACHE_DIRECTORY="${RASA_CACHE_DIRECTORY:-${HARBOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/harbor-assist}/rasa-cache}"
reports=test-artifacts/reports
rm -rf "$reports"; mkdir -p "$reports"
failed_file="$reports/failed-stages"
: > "$failed_file"
started=$(date +%s)

stage() {
  local name="$1"; shift
  local t0=$(date +%s)
  echo "==> $name"
  if "$@"; then
    echo "    ok: $name ($(( $(date +%s) - t0 )) s)"
  else
    echo "    FAILED: $name ($(( $(date +%s) - t0 )) s)"
    echo "$name" >> "$failed_file"
  fi
}

pytest_in() {  # pytest_in <env bin> <report name> <args...>
  local bin="$1" report="$2"; shift 2
  "$bin/python" -m pytest -q -p no:cacheprovider --junitxml="$reports/$report.xml" "$@"
}

# The real-stack fault test shares the end-to-end tests' stack (tests/conftest.py), so it runs
# with them; the rest of the fault suite starts small clusters of its own.
REAL_STACK_FAULTS=tests/faults/test_assistant_dependencies.py
# The service's suites (unit, browser and end-to-end) take about 420 s warm, the assistant's
# about 210 s once the held-out gates' parses are kept per model (bot/rasa_agent.py), so the
# longest browser modules run at the end of the assistant's lane: about 320 and 310 s
# (2026-12-07). Each browser module starts its own Chromium and stack, so they can.
BROWSER_IN_ASSISTANT_LANE=(tests/browser/test_editor_page.py tests/browser/test_history.py
  tests/browser/test_response_targets.py tests/browser/test_console.py)

service_lane() {
  # The handoff unit tests are independent (each worker has its own Redis and temporary
  # files), so they run on both cores (pytest-xdist; TEST_WORKERS=1 runs them in one process).
  stage "pytest: handoff unit tests" pytest_in "$APP" app -n "${TEST_WORKERS:-2}" \
    tests/app tests/understanding tests/vocabulary tests/orders
  # The deployment files, offline (hadolint, kubernetes-validate, the Compose schema): seconds.
  stage "pytest: images, manifests and compose file (deploy/)" pytest_in "$APP" deploy tests/deploy
  stage "pytest: browser tests (headless Chromium)" pytest_in "$APP" browser tests/browser \
    "${BROWSER_IN_ASSISTANT_LANE[@]/#/--ignore=}"
  stage "pytest: end-to-end tests on one real stack (and its fault test)" \
    pytest_in "$APP" e2e tests/e2e "$REAL_STACK_FAULTS"
}

assistant_lane() {
  stage "pytest: assistant unit tests" pytest_in "$RASA" rasa tests/rasa tests/understanding tests/vocabulary tests/orders
  # `rasa data validate --fail-on-warnings` is not a stage of its own: the unit test
  # test_validate_passes_on_the_repository_data runs the same checks (bot/faq/validation.py,
  # Rasa's Validator with the CLI's settings) with the FAQ tool's own, and a second Rasa start
  # cost this lane 17 s.
  stage "test conversations" bash -c "
    model=\$($RASA/python -m bot.model) &&
    $RASA/rasa test core --e2e --model \"\$model\" --stories tests/conversations \
      --fail-on-prediction-errors --out test-artifacts/rasa-test --no-plot > test-artifacts/rasa-test.log 2>&1
    status=\$?; tail -n 5 test-artifacts/rasa-test.log; exit \$status"
  stage "held-out gates: the assistant on messages it never saw" pytest_in "$RASA" gates tests/nlu
  stage "pytest: fault tests (Redis, Rasa, replicas broken; Redis failover; races; retention; overload)" \
    pytest_in "$APP" faults tests/faults --ignore "$REAL_STACK_FAULTS"
  stage "pytest: browser tests, the editor's, history, response targets and console (headless Chromium)" \
    pytest_in "$APP" browser-assistant-lane "${BROWSER_IN_ASSISTANT_LANE[@]}"
}

stage "lint (ruff)" make -s lint
stage "types (mypy)" make -s types
stage "front end: types (tsc), unit tests (node --test), reproducible build" bash -c \
  "node_modules/.bin/tsc --noEmit -p tsconfig.json && node --test --test-reporter=dot frontend/ && bash scripts/frontend.sh --check"
# The models first: the unit tests of the triage and the gates read them. Each is copied from the
# per-user cache when these inputs were trained before, so this is seconds unless data changed.
stage "train the models when their inputs changed" bash -c \
  "$RASA/python -m bot.model >/dev/null && $APP/python -m handoff.assistant.triage.train --if-stale"

if [ "${TEST_LANES:-2}" = 1 ]; then
  service_lane
  assistant_lane
else
  lane_log="$reports/assistant-lane.log"
  assistant_lane > "$lane_log" 2>&1 &
  lane_pid=$!
  service_lane
  wait "$lane_pid"
  echo "==> (the assistant's lane, run alongside)"
  cat "$lane_log"
fi

mapfile -t failed_stages < "$failed_file"
"$APP/python" scripts/junit_summary.py "$reports" "$(( $(date +%s) - started ))" "${failed_stages[@]}"
