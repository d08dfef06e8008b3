#!/usr/bin/env bash
# Start the action server and the Rasa server (REST channel); stop both on Ctrl-C/TERM.
# Usage: scripts/run.sh           serve over HTTP
#        scripts/run.sh shell     chat in the terminal (rasa shell)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
export SANIC_NO_UVLOOP=${SANIC_NO_UVLOOP:-}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

.venv/bin/rasa run actions --port "$ACTION_PORT" --actions actions &
pids+=($!)

if [ "${1:-}" = "shell" ]; then
  .venv/bin/rasa shell --endpoints endpoints.yml --port "$RASA_PORT"
else
  api_args=()
  if [ -n "${RASA_API_TOKEN:-}" ]; then
    api_args=(--enable-api --auth-token "$RASA_API_TOKEN")
  fi
  .venv/bin/rasa run --endpoints endpoints.yml --credentials credentials.yml \
    --port "$RASA_PORT" --cors $CORS_ORIGINS "${api_args[@]}" &
  pids+=($!)
  echo "Assistant starting: REST channel at http://localhost:$RASA_PORT/webhooks/rest/webhook (Ctrl-C stops it)"
  wait -n "${pids[@]}"
fi
