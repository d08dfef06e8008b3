"""A waiting ticket outlives the ticket ahead of it, so no conversation is stuck behind a
server that died while answering it.

Rasa's ticket lock gives every ticket the same lifetime from when it is issued. A server
killed while answering leaves its ticket until it expires; the conversation's next
message, sent to another server (or another worker), waits behind it with a ticket issued
a moment later, which expires within the same second. When no poll of the waiter (once a
second) falls between the two expiries, it finds neither ticket, waits forever, and the
patient gets the safety net's hand-off while the message is lost. Here a new ticket lives
`lock_lifetime` seconds beyond the latest expiry already queued, so it is still there
when the one ahead of it expires.
"""

from __future__ import annotations

import time
from typing import Any, Text

from rasa.core.lock_store import LOCK_LIFETIME


class OutlivingTickets:
    """Mixin for a `LockStore`: `issue_ticket` with the lifetime extended past the queue."""

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue a ticket that expires `lock_lifetime` after the latest one ahead of it."""
        lock: Any = self.get_lock(conversation_id)  # type: ignore[attr-defined]
        latest = max((ticket.expires for ticket in lock.tickets), default=0.0) if lock else 0.0
        extra = max(0.0, latest - time.time())
        return super().issue_ticket(conversation_id, lock_lifetime + extra)  # type: ignore[misc]
