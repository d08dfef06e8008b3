"""`python -m retrain ...`: see retrain/cli.py."""

import argparse
import os
import sys
import warnings
from pathlib import Path

# Quiet TensorFlow and transformers and keep Hugging Face offline, as the Makefile does.
for _name, _value in {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}.items():
    os.environ.setdefault(_name, _value)

# Library deprecation notices mean nothing to clinic staff. (Filters are not enough:
# sanic, imported by Rasa, turns DeprecationWarning back on; showwarning is the hook.)
_show = warnings.showwarning


def _show_useful(message, category, *args, **kwargs):  # type: ignore[no-untyped-def]
    if not issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        _show(message, category, *args, **kwargs)


warnings.showwarning = _show_useful

# The project's own packages (bench, components) come from the project folder.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--project", default=".")
sys.path.insert(0, str(Path(_pre.parse_known_args()[0].project).resolve()))

from retrain.cli import main  # noqa: E402

sys.exit(main())
