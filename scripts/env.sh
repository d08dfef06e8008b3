# Source me: exports .env.example's defaults, then the overrides in .env; variables already
# set in the environment win over both (as with python-dotenv).
_caller_env=$(export -p)
set -a
# shellcheck disable=SC1091
. ./.env.example
if [ -f .env ]; then
  # shellcheck disable=SC1091
  . ./.env
fi
set +a
eval "$_caller_env"
unset _caller_env
