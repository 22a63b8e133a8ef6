#!/usr/bin/env bash
# `make bench`: run the benchmarks and write a dated Markdown report under bench/results/.
# Benchmarks are scripts that print tables; they are slow and never part of `make test`.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
report="bench/results/$(date -u +%Y-%m-%d)-bench.md"
{
  echo "# Harbor Assist benchmarks, $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); commit $(git rev-parse --short HEAD 2>/dev/null)"
  echo
  echo "## Escalation triage (\`.venv-app/bin/python bench/triage_bench.py\`)"
  echo
  .venv-app/bin/python bench/triage_bench.py
  echo
  echo "## Assistant NLU and speed (\`.venv-rasa/bin/python -m bot.evaluate\`)"
  echo
  .venv-rasa/bin/python -m bot.evaluate
} 2>&1 | tee "$report"
echo "report written to $report"
