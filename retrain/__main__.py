"""`python -m retrain ...`: see retrain/cli.py."""

import argparse
import sys
import warnings
from pathlib import Path

# Library deprecation notices mean nothing to clinic staff. (Filters are not enough:
# sanic, imported by Rasa, turns DeprecationWarning back on; showwarning is the hook.)
_show = warnings.showwarning


def _show_useful(message, category, *args, **kwargs):  # type: ignore[no-untyped-def]
    if not issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        _show(message, category, *args, **kwargs)


warnings.showwarning = _show_useful

# The project's own packages (core, components) come from the project folder.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--project", default=".")
sys.path.insert(0, str(Path(_pre.parse_known_args()[0].project).resolve()))

# Quiet TensorFlow and transformers and keep Hugging Face offline, as the Makefile does.
from core.settings import apply_offline_env  # noqa: E402

apply_offline_env()

from retrain.cli import main  # noqa: E402

sys.exit(main())
