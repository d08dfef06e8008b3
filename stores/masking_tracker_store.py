"""Rasa's SQL tracker store, storing patients' messages with their identifiers masked.

Phone numbers, e-mail addresses and 9-digit health card numbers (Alberta's personal
health number) in what a patient types are replaced by `[phone]`, `[email]` and
`[health card]` in the stored events: the message's text and its parse data. NLU and the
reply have already seen the original message by the time a turn is stored, so masking
never changes an answer. The assistant's own replies (the clinic's phone number) are
stored as they are. Same database, schema and settings as Rasa's `SQL` store
(endpoints.yml: `type: stores.masking_tracker_store.MaskingSQLTrackerStore`).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterator, List, Pattern, Tuple

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

# Most specific first: a phone number's ten digits hold nine.
IDENTIFIERS: List[Tuple[Pattern[str], str]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w+])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)\d{5}[\s-]?\d{4}(?!\d)|(?<!\d)\d{3}[\s-]\d{3}[\s-]\d{3}(?!\d)"), "[health card]"),
]


def mask(text: str) -> str:
    """`text` with phone numbers, e-mail addresses and health card numbers replaced."""
    for pattern, placeholder in IDENTIFIERS:
        text = pattern.sub(placeholder, text)
    return text


def masked(event: Event) -> Event:
    """A patient's message as stored: a copy with its text masked; other events as they are."""
    if not isinstance(event, UserUttered) or not event.text or mask(event.text) == event.text:
        return event
    stored = copy.deepcopy(event)
    stored.text = mask(event.text)
    if stored.parse_data:
        stored.parse_data["text"] = stored.text
    return stored


class MaskingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore; patients' identifiers never reach the database."""

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The events to store (Rasa's choice), patients' messages masked."""
        return (masked(event) for event in super()._additional_events(session, tracker))
