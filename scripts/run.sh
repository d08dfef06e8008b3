#!/usr/bin/env bash
# Start the action server, the Rasa server (REST and socket.io channels) and the clinic's
# page with its chat widget (web/); stop them all on Ctrl-C/TERM.
# Usage: scripts/run.sh           serve over HTTP
#        scripts/run.sh shell     chat in the terminal (rasa shell)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

# The action server is rasa_sdk's own: 47 MB resident, where `rasa run actions` imports all
# of Rasa (121 MB) and, with the TF_* settings, TensorFlow (480 MB). It binds SANIC_HOST
# (else 0.0.0.0): only the Rasa server, on this machine, calls it.
SANIC_HOST=127.0.0.1 .venv/bin/python -m rasa_sdk --port "$ACTION_PORT" --actions actions &
pids+=($!)

if [ "${1:-}" = "shell" ]; then
  # One tester at one terminal: one process (several workers would all read the terminal).
  SANIC_WORKERS=1 .venv/bin/rasa shell --endpoints endpoints.yml --port "$RASA_PORT"
else
  api_args=()
  if [ -n "${RASA_API_TOKEN:-}" ]; then
    api_args=(--enable-api --auth-token "$RASA_API_TOKEN")
  fi
  .venv/bin/rasa run --endpoints endpoints.yml --credentials credentials.yml \
    -i "${RASA_HOST:-127.0.0.1}" --port "$RASA_PORT" --cors $CORS_ORIGINS "${api_args[@]}" &
  pids+=($!)
  echo "Assistant starting: REST channel at http://localhost:$RASA_PORT/webhooks/rest/webhook (Ctrl-C stops it)"

  # The clinic's page with the chat widget (web/serve.py), on 127.0.0.1 unless WEB_HOST says.
  WEB_PORT=${WEB_PORT:-8080}
  if [ -f web/node_modules/rasa-webchat/lib/index.js ]; then
    .venv/bin/python -m web.serve --host "${WEB_HOST:-127.0.0.1}" --port "$WEB_PORT" &
    pids+=($!)
    echo "Clinic page with the chat widget at http://localhost:$WEB_PORT/"
    case " $CORS_ORIGINS " in
      *" http://localhost:$WEB_PORT "*) ;;
      *) echo "warning: CORS_ORIGINS ($CORS_ORIGINS) lacks http://localhost:$WEB_PORT: the widget there cannot connect" >&2 ;;
    esac
  else
    echo "warning: the chat widget is not installed (make web-deps): not serving the page" >&2
  fi
  wait -n "${pids[@]}"
fi
