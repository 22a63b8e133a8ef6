#!/bin/sh
# Start the Rasa server in a container, as bot/launcher/services.py starts it on a laptop:
# the token from RASA_TOKEN or the file RASA_TOKEN_FILE names (a mounted Secret), Redis and the
# action server from the environment, the model built into the image.
set -eu
if [ -z "${RASA_TOKEN:-}" ] && [ -n "${RASA_TOKEN_FILE:-}" ]; then
  RASA_TOKEN="$(cat "$RASA_TOKEN_FILE")"
fi
if [ -z "${RASA_TOKEN:-}" ]; then
  echo "error: RASA_TOKEN is not set and RASA_TOKEN_FILE names no readable file" >&2
  exit 2
fi
if [ -z "${REDIS_PASSWORD:-}" ] && [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
  REDIS_PASSWORD="$(cat "$REDIS_PASSWORD_FILE")"
fi
# Rasa's keys beside the service's: the same derivation as the launcher (vocabulary/rasa_keys.py).
: "${REDIS_PREFIX:=ha}"
: "${RASA_KEY_PREFIX:=$(python -c 'import sys; from vocabulary.rasa_keys import rasa_key_prefix; print(rasa_key_prefix(sys.argv[1]))' "$REDIS_PREFIX")}"
export REDIS_HOST="${REDIS_HOST:-redis}" REDIS_PORT="${REDIS_PORT:-6379}" REDIS_DB="${REDIS_DB:-0}" \
  REDIS_PASSWORD="${REDIS_PASSWORD:-}" RASA_KEY_PREFIX NLG_PORT="${NLG_PORT:-5056}" \
  ACTIONS_URL="${ACTIONS_URL:-http://actions:5055}" \
  RASA_TRACKER_TTL_SECONDS="${RASA_TRACKER_TTL_SECONDS:-604800}"
cd /app
# One argument with "=": a token may begin with "-" (see bot/launcher/services.py).
exec python -m bot.rasa_server run --enable-api "--auth-token=$RASA_TOKEN" \
  --interface 0.0.0.0 --port "${RASA_PORT:-5005}" --model models \
  --endpoints deploy/endpoints.yml --credentials credentials.yml
