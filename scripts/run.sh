#!/usr/bin/env bash
# Start the action server, the Rasa server (REST and socket.io channels) and the clinic's
# page with its chat widget (web/); each is started again when it stops on its own (a
# crash, a kill), so one failure never takes the others down. Ctrl-C/TERM stops them all.
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

# supervise NAME COMMAND...: run COMMAND in the background, in a process group of its own,
# and start it again whenever it exits (after RESTART_DELAY_SECONDS). What the command
# left behind is stopped first: Rasa's worker processes outlive a killed main process.
# TERM to the supervisor stops the command, and its group, for good (KILL after 20 s).
supervise() {
  local name=$1
  shift
  (
    child=
    end() {
      if [ -n "$child" ]; then
        kill -TERM -- "-$child" 2>/dev/null || true
        # a process that does not stop within 20 s of TERM is killed
        (sleep 20; kill -KILL -- "-$child" 2>/dev/null) &
        local watchdog=$!
        wait "$child" 2>/dev/null || true
        kill -KILL -- "-$child" 2>/dev/null || true
        kill "$watchdog" 2>/dev/null || true
      fi
      exit 0
    }
    trap end TERM INT
    while true; do
      setsid "$@" &
      child=$!
      status=0
      wait "$child" || status=$?
      kill -KILL -- "-$child" 2>/dev/null || true
      echo "$name stopped (exit $status); starting it again in $RESTART_DELAY_SECONDS s" >&2
      sleep "$RESTART_DELAY_SECONDS" &
      wait $! || true
    done
  ) &
  pids+=($!)
}

# The action server is rasa_sdk's own: 47 MB resident, where `rasa run actions` imports all
# of Rasa (121 MB) and, with the TF_* settings, TensorFlow (480 MB). It binds SANIC_HOST
# (else 0.0.0.0): only the Rasa server, on this machine, calls it.
supervise "action server" env SANIC_HOST=127.0.0.1 .venv/bin/python -m rasa_sdk --port "$ACTION_PORT" --actions actions

if [ "${1:-}" = "shell" ]; then
  # One tester at one terminal: one process (several workers would all read the terminal).
  SANIC_WORKERS=1 .venv/bin/rasa shell --endpoints endpoints.yml --port "$RASA_PORT"
else
  api_args=()
  if [ -n "${RASA_API_TOKEN:-}" ]; then
    api_args=(--enable-api --auth-token "$RASA_API_TOKEN")
  fi
  supervise "Rasa server" .venv/bin/rasa run --endpoints endpoints.yml --credentials credentials.yml \
    -i "$RASA_HOST" --port "$RASA_PORT" --cors $CORS_ORIGINS "${api_args[@]}"
  echo "Assistant starting: REST channel at http://localhost:$RASA_PORT/webhooks/rest/webhook (Ctrl-C stops it)"

  # The clinic's page with the chat widget (web/serve.py), on 127.0.0.1 unless WEB_HOST says.
  if [ -f web/build/rasa-webchat.js ]; then
    supervise "page server" .venv/bin/python -m web.serve --host "$WEB_HOST" --port "$WEB_PORT"
    echo "Clinic page with the chat widget at http://localhost:$WEB_PORT/"
    case " $CORS_ORIGINS " in
      *" http://localhost:$WEB_PORT "*) ;;
      *) echo "warning: CORS_ORIGINS ($CORS_ORIGINS) lacks http://localhost:$WEB_PORT: the widget there cannot connect" >&2 ;;
    esac
  else
    echo "warning: the chat widget is not installed (make web-deps): not serving the page" >&2
  fi
  wait
fi
