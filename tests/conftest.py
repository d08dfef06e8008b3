"""Shared fixtures: the project paths and the trained model, loaded once."""

from __future__ import annotations

import os

import pytest

from core.settings import MODEL_PATH as MODEL
from core.settings import PROJECT, apply_offline_env

__all__ = ["MODEL", "PROJECT"]

apply_offline_env()


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
