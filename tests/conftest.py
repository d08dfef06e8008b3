"""Shared fixtures: the project paths and the trained model, loaded once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
MODEL = PROJECT / "models" / "dry-needling.tar.gz"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture(scope="session")
def agent():  # type: ignore[no-untyped-def]
    """The trained assistant (`make train` builds it before the tests)."""
    from rasa.core.agent import Agent

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    cwd = os.getcwd()
    os.chdir(PROJECT)  # the spaCy pipeline path in config.yml is relative
    try:
        return Agent.load(str(MODEL))
    finally:
        os.chdir(cwd)
