"""Settings from the environment and the project's `.env`, typed, with documented defaults.

The one place that reads the project's configuration in Python. `scripts/env.sh` exports
`.env.example` and `.env` for the shell scripts; variables already set win in both.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict

from dotenv import dotenv_values

logger = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parent.parent
# The trained assistant (`make train`), relative to the project folder.
MODEL_FILE = Path("models") / "dry-needling.tar.gz"
MODEL_PATH = PROJECT / MODEL_FILE
# Offline model hub, no telemetry, quiet TensorFlow: the Makefile exports the same.
OFFLINE_ENV: Dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}

_loaded = False


def apply_offline_env() -> None:
    """Set the offline/quiet defaults, before Rasa or TensorFlow is imported."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


def load_env(project: Path = PROJECT) -> None:
    """Put the project's `.env` into the environment, once; variables already set win.

    The defaults in code are those documented in `.env.example` (a test compares them).
    """
    global _loaded
    if _loaded:
        return
    for key, value in dotenv_values(project / ".env").items():
        if value is not None:
            os.environ.setdefault(key, value)
    _loaded = True


def env_str(name: str, default: str = "") -> str:
    """A setting as text (surrounding spaces dropped), or `default` when unset or blank."""
    load_env()
    return os.environ.get(name, "").strip() or default


def env_int(name: str, default: int, minimum: int = 1) -> int:
    """A whole-number setting of at least `minimum`, or `default` (with a warning) if invalid."""
    value = env_str(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        logger.warning("%s=%r is not a whole number of at least %d: using %d.", name, value, minimum, default)
        return default
    return number


def sanic_workers() -> int:
    """How many worker processes the Rasa server runs (SANIC_WORKERS, default 1)."""
    return env_int("SANIC_WORKERS", 1)
