"""Rasa's SQL tracker store, storing patients' messages with their identifiers masked.

Phone numbers, e-mail addresses and 9-digit health card numbers (Alberta's personal
health number) in what a patient types are replaced by `[phone]`, `[email]` and
`[health card]` in the stored events: the message's text and its parse data
(core/identifiers.py). The turn has been answered by the time it is stored, so masking
never changes an answer. The assistant's own replies (the clinic's phone number) are
stored as they are. Same database, schema and settings as Rasa's `SQL` store
(endpoints.yml: `type: stores.masking_tracker_store.MaskingSQLTrackerStore`).

A message costs the same however long its conversation is: the tracker is read with the
session's last `recent_events` events (and every slot it set before), not all of them.
The policies look back a few turns (MemoizationPolicy 5, the rules 1-2) and the turn
resolver one, so the answers are the same; Rasa's own store would read and replay the
whole session on every message. New events are stored by what was read, not by counting
the session's rows again.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any, Iterator, Optional, Text

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SlotSet, UserUttered
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


# Events a tracker is read with: the last four or five turns (a turn is 6-10 events).
RECENT_EVENTS = 40
# Set on a tracker that this store read: how many of its events are already stored.
STORED = "masking_store_events_stored"


class MaskingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore; patients' identifiers never reach the database, and a
    tracker is read with its recent events only."""

    def __init__(self, *args: Any, recent_events: Optional[int] = RECENT_EVENTS, **kwargs: Any) -> None:
        """Rasa's SQL store (`endpoints.yml` settings); `recent_events: null` reads whole sessions."""
        super().__init__(*args, **kwargs)
        self.recent_events = recent_events

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The latest session's last `recent_events` events, after the slots set before them."""
        if not self.recent_events:
            tracker = await super().retrieve(sender_id)
        else:
            tracker = self._retrieve_recent(sender_id, self.recent_events)
        if tracker is not None:
            setattr(tracker, STORED, len(tracker.events))
        return tracker

    def _retrieve_recent(self, sender_id: Text, count: int) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            recent = query.order_by(None).order_by(self.SQLEvent.id.desc()).limit(count).all()
            if not recent or not self.domain:
                return None
            first = recent[-1].id
            earlier_slots = (
                query.filter(self.SQLEvent.id < first, self.SQLEvent.type_name == SlotSet.type_name).all()
                if len(recent) == count else []
            )
            rows = [*earlier_slots, *reversed(recent)]
            events = [json.loads(row.data) for row in rows]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events added since the tracker was read (or last saved)."""
        await super().save(tracker)
        setattr(tracker, STORED, len(tracker.events))

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The events not stored yet, patients' messages masked."""
        stored = getattr(tracker, STORED, None)
        events = (
            super()._additional_events(session, tracker)
            if stored is None
            else itertools.islice(tracker.events, stored, None)
        )
        return (masked(event) for event in events)
