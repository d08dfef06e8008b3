"""Where things are in the project, and the settings the servers use (.env)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from core.settings import MODEL_FILE, SettingsError, load, settings
from retrain.errors import UserError


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
        """Rasa's endpoints file (tracker store, action server): RASA_ENDPOINTS, which
        `make cluster` points at its own (PostgreSQL)."""
        return self.root / settings().rasa_endpoints

    def relative(self, path: Path) -> str:
        """A path as shown to people: relative to the project when inside it."""
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


def load_env(root: Path) -> Dict[str, str]:
    """Apply the settings of the project at `root` as scripts/run.sh gets them (its
    `.env.example`, `.env`, variables already set winning); the variables that were set."""
    try:
        applied = load(root).env()
    except SettingsError as error:
        raise UserError(f"The settings could not be read:\n  {error}") from error
    os.environ.update(applied)
    return applied
