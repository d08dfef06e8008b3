# Source me: exports .env.example's defaults, then the overrides in .env.
set -a
# shellcheck disable=SC1091
. ./.env.example
if [ -f .env ]; then
  # shellcheck disable=SC1091
  . ./.env
fi
set +a
