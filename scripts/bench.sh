#!/usr/bin/env bash
# `make bench`: run the benchmarks and write a dated Markdown report under bench/results/.
# Benchmarks are scripts that print tables; they are slow and never part of `make test`.
# `scripts/bench.sh nlu serving` (or `make bench-nlu`, `make bench-serving`) runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
# Libraries' deprecation warnings (matplotlib, SQLAlchemy, TensorFlow) are not figures.
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
export RASA_CACHE_DIRECTORY="${RASA_CACHE_DIRECTORY:-${HARBOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/harbor-assist}/rasa-cache}"
all=(understanding calibration encoder triage assistant nlu serving publish unanswered)
selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=("${all[@]}")

# name -> "title|command"
declare -A bench=(
  [understanding]="What customers get on held-out messages, by writing style, through the real model|.venv-rasa/bin/python -m bot.nlu.served"
  [calibration]="The confidence threshold by cross-validation on the training data|.venv-rasa/bin/python -m bot.nlu.calibrate"
  [encoder]="The sentence encoder's speed by precision, and the assistant's memory|.venv-rasa/bin/python bench/encoder_bench.py"
  [triage]="Escalation triage|.venv-app/bin/python bench/triage_bench.py"
  [assistant]="Assistant NLU on its own data, and bot-turn speed in-process|.venv-rasa/bin/python -m bot.evaluate"
  [nlu]="NLU quality on public benchmarks with the production pipeline|.venv-rasa/bin/python bench/nlu_bench.py"
  [serving]="Serving speed: gateway, relay, escalation|.venv-app/bin/python bench/serving_bench.py"
  [publish]="FAQ publishing speed|.venv-rasa/bin/python bench/publish_bench.py"
  [unanswered]="Unanswered questions: grouping quality and speed|.venv-app/bin/python bench/unanswered_bench.py"
)

mkdir -p bench/results
suffix=$([ ${#selected[@]} -eq ${#all[@]} ] && echo bench || (IFS=-; echo "${selected[*]}"))
report="bench/results/$(date -u +%Y-%m-%d)-${suffix}.md"
status=0
{
  echo "# Harbor Assist benchmarks, $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); commit $(git rev-parse --short HEAD 2>/dev/null)"
  for name in "${selected[@]}"; do
    entry="${bench[$name]:-}"
    if [ -z "$entry" ]; then echo "unknown benchmark: $name (one of: ${all[*]})"; status=2; continue; fi
    title="${entry%%|*}"; command="${entry#*|}"
    echo
    echo "## ${title} (\`${command}\`)"
    echo
    t0=$(date +%s)
    $command || { echo; echo "**${name} failed (exit $?)**"; status=1; }
    echo
    echo "_${name}: $(( $(date +%s) - t0 )) s wall time_"
  done
} 2>&1 | tee "$report"
echo "report written to $report"
exit $status
