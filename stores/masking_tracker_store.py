"""Rasa's SQL tracker store, storing patients' messages with their identifiers masked.

Phone numbers, e-mail addresses and 9-digit health card numbers (Alberta's personal
health number) in what a patient types are replaced by `[phone]`, `[email]` and
`[health card]` in the stored events: the message's text and its parse data
(core/identifiers.py). The turn has been answered by the time it is stored, so masking
never changes an answer. The assistant's own replies (the clinic's phone number) are
stored as they are. Same database, schema and settings as Rasa's `SQL` store
(endpoints.yml: `type: stores.masking_tracker_store.MaskingSQLTrackerStore`).
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from core.identifiers import mask


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
