#!/usr/bin/env bash
# Print the path of a working CPython 3.10 (rasa 3.6 needs Python 3.8-3.10), or fail clearly.
# Order: $PYTHON310, pyenv's 3.10.x, python3.10 on the PATH (pyenv shims may not run).
set -u
candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for p in "$root"/versions/3.10.*/bin/python3.10; do [ -e "$p" ] && candidates+=("$p"); done
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
for c in "${candidates[@]}"; do
  if "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then
    echo "$c"
    exit 0
  fi
done
echo "error: no working Python 3.10 found (rasa 3.6 needs Python 3.8-3.10)." >&2
echo "Install one (e.g. 'pyenv install 3.10.13') or run: make PYTHON310=/path/to/python3.10 ..." >&2
exit 1
