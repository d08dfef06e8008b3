"""Size limits of what patients may send, and how long they may wait for a reply.

Settings (`.env`): `MAX_MESSAGE_CHARS` (a longer message is not run through NLU),
`MAX_REQUEST_BYTES` (larger HTTP bodies and socket.io packets are refused),
`REPLY_TIMEOUT_SECONDS` (then the patient gets the phone hand-off).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import settings

# Conversation ids: rasa-webchat's are 32 hex digits; the tracker store's column holds 255.
MAX_SENDER_CHARS = 128


@dataclass(frozen=True)
class Limits:
    """Size limits of what patients may send, and how long they may wait for a reply."""

    max_message_chars: int
    max_request_bytes: int
    reply_timeout_seconds: int


def load_limits() -> Limits:
    """The limits from `MAX_MESSAGE_CHARS`, `MAX_REQUEST_BYTES` and `REPLY_TIMEOUT_SECONDS`."""
    current = settings()
    return Limits(current.max_message_chars, current.max_request_bytes, current.reply_timeout_seconds)
