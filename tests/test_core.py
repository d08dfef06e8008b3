"""The core package: settings over `.env`, the clinic's defaults, the limits, the hand-off choice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from core import settings
from core.handoff import HANDOFF_INTENTS, handoff_response, is_handoff
from tests.conftest import PROJECT

EXAMPLE = dotenv_values(PROJECT / ".env.example")


def project_with(tmp_path: Path, env: str = "") -> Path:
    """A project folder with the real .env.example and the given .env."""
    shutil.copy(PROJECT / ".env.example", tmp_path / ".env.example")
    if env:
        (tmp_path / ".env").write_text(env)
    return tmp_path


def test_every_setting_is_documented_in_env_example_and_nothing_else() -> None:
    """The defaults are .env.example's and only there: every setting has one, typed."""
    assert list(EXAMPLE) == settings.names()
    documented = settings.load(PROJECT, environ={})
    assert documented.clinic_phone == EXAMPLE["CLINIC_PHONE"]
    assert documented.max_message_chars == int(EXAMPLE["MAX_MESSAGE_CHARS"])
    assert documented.cors_origins == tuple(EXAMPLE["CORS_ORIGINS"].split())
    assert documented.rasa_api_token is None and documented.rasa_public_url is None


def test_env_file_then_environment_win_and_blank_means_the_default(tmp_path: Path) -> None:
    root = project_with(tmp_path, "SANIC_WORKERS=3\nRETENTION_DAYS=7\nCLINIC_NAME=\nPG_PORT=5433\n")
    loaded = settings.load(root, environ={"SANIC_WORKERS": "5", "RETENTION_DAYS": " ", "PATH": "/bin"})
    assert (loaded.sanic_workers, loaded.retention_days) == (5, 7)
    assert loaded.clinic_name == EXAMPLE["CLINIC_NAME"]
    assert loaded.env()["PG_PORT"] == "5433"  # other variables of .env pass through
    assert "PATH" not in loaded.env()


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("RASA_PORT", "abc", "a whole number from 1 to 65535"),
    ("SANIC_WORKERS", "0", "a whole number from 1 to 64"),
    ("SPEEDUPS", "maybe", "one of on, off"),
    ("CORS_ORIGINS", "localhost:8080", "an http(s) URL"),
    ("CLINIC_PHONE", "call us", "a phone number"),
    ("PRIVACY_URL", "javascript:alert(1)", "an http(s) URL"),
])
def test_a_bad_value_is_a_clear_error(tmp_path: Path, name: str, value: str, expected: str) -> None:
    """The error names the setting, its value, where it came from and what it must be."""
    with pytest.raises(settings.SettingsError) as error:
        settings.load(project_with(tmp_path, f"{name}={value}\n"), environ={})
    assert f"{name}={value!r} (from .env): must be {expected}" in str(error.value)


def test_the_shell_gets_the_same_values(tmp_path: Path) -> None:
    """scripts/env.sh exports what core.settings reads, quoted; a bad value stops it."""
    env = {"PATH": os.environ["PATH"], "PYTHON": sys.executable, "CLINIC_NAME": "O'Brien & Co $HOME"}
    shell = subprocess.run(["bash", "-c", ". scripts/env.sh && env -0"], cwd=PROJECT, env=env,
                           capture_output=True, check=True)
    exported = dict(item.split("=", 1) for item in shell.stdout.decode().split("\0") if "=" in item)
    expected = settings.load(PROJECT, environ=env).env()
    assert {name: exported[name] for name in expected} == expected
    assert exported["CLINIC_NAME"] == "O'Brien & Co $HOME"
    bad = subprocess.run(["bash", "-c", ". scripts/env.sh && echo started"], cwd=PROJECT,
                         env={**env, "RASA_PORT": "80a"}, capture_output=True, text=True)
    assert bad.returncode != 0 and "started" not in bad.stdout
    assert "RASA_PORT='80a' (from the environment)" in bad.stderr


def test_handoff_intents_and_their_replies() -> None:
    assert {"out_of_scope", "nlu_fallback", "book_appointment", "contact"} <= HANDOFF_INTENTS
    assert is_handoff("nlu_fallback") and not is_handoff("faq/how_it_works")
    assert handoff_response("book_appointment") == "utter_handoff_booking"
    assert handoff_response(None) == handoff_response("out_of_scope") == "utter_handoff"
