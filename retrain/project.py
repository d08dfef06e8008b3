"""Where things are in the project, and the settings the servers use (.env)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from core.settings import MODEL_FILE
from retrain.errors import UserError

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


@dataclass(frozen=True)
class Project:
    """The paths of one copy of the assistant's project."""

    root: Path

    @property
    def data_dir(self) -> Path:
        """Training data: NLU examples, FAQ answers, rules, stories."""
        return self.root / "data"

    @property
    def test_file(self) -> Path:
        """The held-out test questions (never trained on)."""
        return self.root / "tests" / "nlu_heldout.yml"

    @property
    def model(self) -> Path:
        """The model the assistant serves."""
        return self.root / MODEL_FILE

    @property
    def work_dir(self) -> Path:
        """Candidates, reports, backups (inside results/, which git ignores)."""
        return self.root / "results" / "retrain"

    @property
    def endpoints(self) -> Path:
        """Rasa's endpoints file (tracker store, action server)."""
        return self.root / "endpoints.yml"

    def relative(self, path: Path) -> str:
        """A path as shown to people: relative to the project when inside it."""
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


def env_file_names(root: Path) -> Dict[str, None]:
    """Names of the variables that .env.example and .env set (in order, no duplicates)."""
    names: Dict[str, None] = {}
    for name in (".env.example", ".env"):
        path = root / name
        if path.exists():
            for match in _ASSIGNMENT.finditer(path.read_text(encoding="utf-8")):
                names[match.group(1)] = None
    return names


def load_env(root: Path) -> Dict[str, str]:
    """Apply the settings exactly as scripts/run.sh gets them (scripts/env.sh).

    The script is sourced by bash, so quoting and expansion behave as for the servers.
    Returns the variables that were set.
    """
    script = root / "scripts" / "env.sh"
    names = list(env_file_names(root))
    if not script.exists() or not names:
        return {}
    result = subprocess.run(
        ["bash", "-c", '. scripts/env.sh >/dev/null && env -0'], cwd=root, capture_output=True
    )
    if result.returncode != 0:
        raise UserError(
            "The settings in .env could not be read (scripts/env.sh failed):\n  "
            + result.stderr.decode(errors="replace").strip()
        )
    values = dict(
        item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item
    )
    applied = {name: values[name] for name in names if name in values}
    os.environ.update(applied)
    return applied
