#!/usr/bin/env bash
# supervised.sh COMMAND...: how supervisord (scripts/supervisord.conf) starts each process.
# Rasa's worker processes outlive a killed main process and keep its port, so what an
# earlier run of the same program left behind in this `make run` (its process group, if it
# still runs that program) is killed first. COMMAND then replaces this shell: same PID,
# leader of the group that supervisord stops.
set -euo pipefail
group_file="$RUN_DIR/$SUPERVISOR_PROCESS_NAME.pgid"  # set by supervisord
if [ -f "$group_file" ]; then
  old=$(cat "$group_file")
  if pgrep -g "$old" -f -- "$1" >/dev/null; then
    kill -KILL -- "-$old" 2>/dev/null || true
  fi
fi
echo $$ > "$group_file"
exec "$@"
