"""The channels' checks on their own (no server): cleaning, screening, request validation."""

from __future__ import annotations

import json

import pytest

from channels.guard import (
    EMPTY_REPLY,
    BadRequest,
    clean_text,
    parse_rest_body,
    render,
    requested_model,
    screen_text,
)
from core.clinic import load_clinic
from core.limits import Limits, load_limits
from core.settings import SettingsError

LIMITS = Limits(max_message_chars=50, max_request_bytes=1000, reply_timeout_seconds=30)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  what is\tIMS?\n", "what is IMS?"),
        ("dry\u200bneedling", "dry needling"),  # zero-width space: a word break
        ("nee\u200ddling\u202e", "needling"),  # joiners and bidi marks: dropped
        ("hi\x00there\x1b", "hi there"),  # control characters: spaces
        ("ｗｈａｔ ｉｓ ＩＭＳ", "what is IMS"),  # full-width folded
        ("pain \ud800here", "pain here"),  # lone surrogate dropped
        ("ما هو 🙂", "ما هو 🙂"),  # scripts and emoji kept
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    """What NLU sees."""
    assert clean_text(raw) == clean


def test_screening_empty_long_and_normal_messages() -> None:
    """Empty after cleaning: the prompt; over the limit: too long, with the phone."""
    assert screen_text("\u200b \x00", LIMITS).reply == EMPTY_REPLY
    long = screen_text("x" * 51, LIMITS).reply
    assert long is not None
    text, buttons = render(long)
    assert "too long" in text and "at most 50 characters" in text and load_clinic().phone in text
    assert buttons[0]["url"] == load_clinic().tel_uri
    assert render(EMPTY_REPLY) == (
        "I didn't get a question there. What would you like to know about dry needling?", []
    )
    assert screen_text("x" * 50, LIMITS).text == "x" * 50


@pytest.mark.parametrize(
    ("story", "response"),
    [
        ("I had needling on my upper back this morning. " * 2 + "Now breathing hurts and gets shorter.",
         "utter_emergency"),
        ("word " * 5000 + "and honestly i want to end my life", "utter_self_harm"),
    ],
)
def test_an_emergency_in_a_message_too_long_gets_its_reply(story: str, response: str) -> None:
    """Too long for the assistant, but the red flags still read it: 911 first, not "too long"."""
    assert len(story) > LIMITS.max_message_chars
    reply = screen_text(story, LIMITS).reply
    assert reply is not None and reply.response == response
    assert "911" in render(reply)[0]


def test_valid_rest_bodies() -> None:
    """sender, message, optional metadata object."""
    body = json.dumps({"sender": "p", "message": "", "metadata": {"a": 1}}).encode()
    incoming = parse_rest_body(body, LIMITS)
    assert (incoming.sender, incoming.message, incoming.metadata) == ("p", "", {"a": 1})


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"x" * 1001, 413),
        (b"", 400),
        (b"\xff", 400),
        (b"[" * 450 + b"]" * 450, 400),
        (b'{"sender": "p"}', 400),
        (b'{"sender": "p", "message": 1}', 400),
        (b'{"sender": ["p"], "message": "hi"}', 400),
        (b'{"sender": "p\\n", "message": "hi"}', 400),
        (b'{"sender": "p", "message": "hi", "metadata": []}', 400),
    ],
    ids=["too big", "empty", "invalid UTF-8", "nested lists", "no message", "numeric message",
         "list sender", "control char in sender", "list metadata"],
)
def test_invalid_rest_bodies(body: bytes, status: int) -> None:
    """400 or 413 with a message for the client."""
    with pytest.raises(BadRequest) as error:
        parse_rest_body(body, LIMITS)
    assert error.value.status == status and error.value.message


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Positive integers are taken; anything else is a clear error (core.settings)."""
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "300")
    monkeypatch.setenv("REPLY_TIMEOUT_SECONDS", "")
    assert load_limits() == Limits(300, 1048576, 30)
    monkeypatch.setenv("REPLY_TIMEOUT_SECONDS", "soon")
    with pytest.raises(SettingsError, match="REPLY_TIMEOUT_SECONDS='soon'"):
        load_limits()


def test_requested_model_from_the_command_line() -> None:
    """`rasa run --model X`, `-m X`, `--model=X`."""
    assert requested_model(["rasa", "run", "--model", "m.tar.gz"]) == "m.tar.gz"
    assert requested_model(["rasa", "run", "-m", "m.tar.gz", "--port", "1"]) == "m.tar.gz"
    assert requested_model(["rasa", "run", "--model=m.tar.gz"]) == "m.tar.gz"
    assert requested_model(["rasa", "run"]) is None


def test_every_reply_of_the_channels_is_a_response_of_the_domain() -> None:
    """The channels' own replies are worded in domain.yml, where staff edit every reply."""
    import yaml

    from channels.guard import HANDOFF_REPLY, UNREADABLE_REPLY, too_long_reply
    from tests.conftest import PROJECT

    responses = yaml.safe_load((PROJECT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    for reply in (EMPTY_REPLY, UNREADABLE_REPLY, HANDOFF_REPLY, too_long_reply(LIMITS)):
        assert responses[reply.response][0]["text"], reply.response
        assert render(reply)[0] and "{" not in render(reply)[0], reply.response
