# Source me: exports the project's settings as core/settings.py reads them (.env.example's
# defaults, then .env, then variables already set), validated; a bad value stops here.
_settings=$("${PYTHON:-.venv/bin/python}" -m core.settings --export) || return 1
eval "$_settings"
unset _settings
