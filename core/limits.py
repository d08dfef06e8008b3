"""Size limits of what patients may send, and how long they may wait for a reply.

Settings (`.env`): `MAX_MESSAGE_CHARS` (default 2000: a longer message is not run through
NLU), `MAX_REQUEST_BYTES` (default 1 MiB: larger HTTP bodies and socket.io packets are
refused), `REPLY_TIMEOUT_SECONDS` (default 30: then the patient gets the phone hand-off).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import env_int

DEFAULT_MAX_MESSAGE_CHARS = 2000
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
DEFAULT_REPLY_TIMEOUT_SECONDS = 30
# Conversation ids: rasa-webchat's are 32 hex digits; the tracker store's column holds 255.
MAX_SENDER_CHARS = 128


@dataclass(frozen=True)
class Limits:
    """Size limits of what patients may send, and how long they may wait for a reply."""

    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    reply_timeout_seconds: int = DEFAULT_REPLY_TIMEOUT_SECONDS


def load_limits() -> Limits:
    """The limits from `MAX_MESSAGE_CHARS`, `MAX_REQUEST_BYTES` and `REPLY_TIMEOUT_SECONDS`."""
    return Limits(
        max_message_chars=env_int("MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS),
        max_request_bytes=env_int("MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES),
        reply_timeout_seconds=env_int("REPLY_TIMEOUT_SECONDS", DEFAULT_REPLY_TIMEOUT_SECONDS),
    )
