"""Settings from the environment and the project's `.env`, typed, with documented defaults.

The one place that reads the project's configuration in Python. `scripts/env.sh` exports
`.env.example` and `.env` for the shell scripts; variables already set win in both.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Mapping, Optional

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
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


class SettingsError(Exception):
    """The project's settings files could not be read."""


def apply_offline_env() -> None:
    """Set the offline/quiet defaults, before Rasa or TensorFlow is imported."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


def load_env(project: Path = PROJECT) -> None:
    """Put the project's `.env` into the environment, once; variables already set win.

    The defaults in code are those documented in `.env.example` (tests/test_core.py).
    """
    global _loaded
    if _loaded:
        return
    for key, value in dotenv_values(project / ".env").items():
        if value is not None:
            os.environ.setdefault(key, value)
    _loaded = True


def env_file_names(project: Path = PROJECT) -> List[str]:
    """Names of the variables that .env.example and .env set (in order, no duplicates)."""
    names: Dict[str, None] = {}
    for name in (".env.example", ".env"):
        path = project / name
        if path.exists():
            for match in _ASSIGNMENT.finditer(path.read_text(encoding="utf-8")):
                names[match.group(1)] = None
    return list(names)


def sourced_env(project: Path = PROJECT, environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The settings exactly as `scripts/run.sh` gets them: `scripts/env.sh` sourced by bash
    (quoting and expansion as for the servers), variables set in `environ` (default: this
    process's environment) winning. Only the names the two files set are returned."""
    names = env_file_names(project)
    if not names or not (project / "scripts" / "env.sh").exists():
        return {}
    result = subprocess.run(
        ["bash", "-c", ". scripts/env.sh >/dev/null && env -0"],
        cwd=project,
        capture_output=True,
        env=dict(environ) if environ is not None else None,
    )
    if result.returncode != 0:
        raise SettingsError(result.stderr.decode(errors="replace").strip())
    values = dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    return {name: values[name] for name in names if name in values}


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
