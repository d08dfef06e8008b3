#!/usr/bin/env bash
# Start the action server, the Rasa server (REST and socket.io channels) and the clinic's
# page with its chat widget (web/); each is started again when it stops on its own (a
# crash, a kill), so one failure never takes the others down. Ctrl-C/TERM stops them all.
# Usage: scripts/run.sh           serve over HTTP
#        scripts/run.sh shell     chat in the terminal (rasa shell)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

# The processes, kept up by supervisord (scripts/supervisord.conf), which keeps its
# pid file and each process's group in a temporary folder of this run.
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/clinic-run.XXXXXX")
# The HTTP API (new models from the console and `make retrain`) needs RASA_API_TOKEN; left
# empty in .env, this run makes a token of its own, known only to its processes (the
# console's retrain reaches the server with it) and never written anywhere.
if [ -z "${RASA_API_TOKEN:-}" ]; then
  RASA_API_TOKEN=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')
fi
export RASA_API_TOKEN
RASA_API_ARGS="--enable-api --auth-token $RASA_API_TOKEN"
WEB_AUTOSTART=true
if [ ! -f web/build/rasa-webchat.js ]; then
  echo "warning: the chat widget is not installed (make web-deps): not serving the page" >&2
  WEB_AUTOSTART=false
fi
RASA_AUTOSTART=true
if [ "${1:-}" = "shell" ]; then
  RASA_AUTOSTART=false  # rasa shell below is the Rasa server
  WEB_AUTOSTART=false
fi
export RUN_DIR RASA_API_ARGS WEB_AUTOSTART RASA_AUTOSTART

.venv/bin/supervisord -c scripts/supervisord.conf &
supervisor=$!
stop() {
  trap - INT TERM EXIT
  kill -TERM "$supervisor" 2>/dev/null || true
  wait "$supervisor" 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
trap stop INT TERM EXIT

if [ "${1:-}" = "shell" ]; then
  # One tester at one terminal: one process (several workers would all read the terminal).
  SANIC_WORKERS=1 .venv/bin/rasa shell --endpoints endpoints.yml --port "$RASA_PORT"
else
  echo "Assistant starting: REST channel at http://localhost:$RASA_PORT/webhooks/rest/webhook (Ctrl-C stops it)"
  if [ "$WEB_AUTOSTART" = true ]; then
    echo "Clinic page with the chat widget at http://localhost:$WEB_PORT/"
    case " $CORS_ORIGINS " in
      *" http://localhost:$WEB_PORT "*) ;;
      *) echo "warning: CORS_ORIGINS ($CORS_ORIGINS) lacks http://localhost:$WEB_PORT: the widget there cannot connect" >&2 ;;
    esac
  fi
  wait "$supervisor"
fi
