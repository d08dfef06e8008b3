"""The core package: settings over `.env`, the clinic's defaults, the limits, the hand-off choice."""

from __future__ import annotations

import pytest
from dotenv import dotenv_values

from core import clinic, limits, settings
from core.handoff import HANDOFF_INTENTS, handoff_response, is_handoff
from tests.conftest import PROJECT

EXAMPLE = dotenv_values(PROJECT / ".env.example")


def test_code_defaults_are_the_documented_ones() -> None:
    """What the code falls back to is what .env.example documents."""
    assert EXAMPLE["CLINIC_NAME"] == clinic.DEFAULT_NAME
    assert EXAMPLE["CLINIC_PHONE"] == clinic.DEFAULT_PHONE
    assert EXAMPLE["CLINIC_ADDRESS"] == clinic.DEFAULT_ADDRESS
    assert int(EXAMPLE["MAX_MESSAGE_CHARS"]) == limits.DEFAULT_MAX_MESSAGE_CHARS
    assert int(EXAMPLE["MAX_REQUEST_BYTES"]) == limits.DEFAULT_MAX_REQUEST_BYTES
    assert int(EXAMPLE["REPLY_TIMEOUT_SECONDS"]) == limits.DEFAULT_REPLY_TIMEOUT_SECONDS


@pytest.mark.parametrize(("value", "expected"), [("", 7), ("12", 12), ("0", 7), ("-3", 7), ("many", 7)])
def test_whole_number_settings(monkeypatch: pytest.MonkeyPatch, value: str, expected: int) -> None:
    monkeypatch.setenv("SOME_COUNT", value)
    assert settings.env_int("SOME_COUNT", 7) == expected


def test_sourced_env_is_what_run_sh_gets() -> None:
    """scripts/env.sh's values, set variables winning, only the names the files set."""
    values = settings.sourced_env(PROJECT, {"PATH": "/usr/bin:/bin", "SANIC_WORKERS": "5"})
    assert values["SANIC_WORKERS"] == "5"
    assert values["RETENTION_DAYS"] == EXAMPLE["RETENTION_DAYS"]
    assert "PATH" not in values


def test_handoff_intents_and_their_replies() -> None:
    assert {"out_of_scope", "nlu_fallback", "book_appointment", "contact"} <= HANDOFF_INTENTS
    assert is_handoff("nlu_fallback") and not is_handoff("faq/how_it_works")
    assert handoff_response("book_appointment") == "utter_handoff_booking"
    assert handoff_response(None) == handoff_response("out_of_scope") == "utter_handoff"
