"""Rasa's ticket locks kept in an SQLite file, so several server processes share them.

Rasa serves with more than one Sanic worker (`SANIC_WORKERS`) only when the lock store
is not the in-memory one, since every worker must see the same conversation locks. The
lock store for that is usually Redis: a server to install and run. This one keeps the
locks in a table of an SQLite file instead (the tracker store's file by default: see
endpoints.yml), so the assistant stays a single machine with nothing else to run.

Rasa's base class reads, changes and writes a lock in separate steps; here each of
those read-change-write steps is one SQLite transaction (`BEGIN IMMEDIATE`), so two
workers never issue the same ticket. A waiting ticket outlives the one ahead of it
(stores/tickets.py).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Iterator, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from core.settings import settings
from stores.tickets import OutlivingTickets

BUSY_TIMEOUT_SECONDS = 30.0


class SQLiteLockStore(OutlivingTickets, LockStore):
    """Ticket locks in the table `conversation_locks` of an SQLite file."""

    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, db: Optional[Text] = None
    ) -> None:
        """Open (or create) the lock table in `db`, else the endpoint's `db`, else TRACKER_DB."""
        kwargs = endpoint_config.kwargs if endpoint_config else {}
        self.db = str(db or kwargs.get("db") or settings().tracker_db)
        Path(self.db).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process (each worker makes its own lock store after the
        # fork), used from the event loop's thread; autocommit mode, so that transactions
        # are exactly the ones opened below.
        self._connection = sqlite3.connect(
            self.db, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None
        )
        # WAL: readers never wait for a writer; NORMAL sync is safe with WAL (a lock is
        # at most a minute old and worthless after a crash anyway).
        self._enable_wal()
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS conversation_locks "
            "(conversation_id TEXT PRIMARY KEY, lock TEXT NOT NULL)"
        )

    def _enable_wal(self) -> None:
        """Switch the file to WAL, waiting while another process writes to it.

        SQLite answers "database is locked" at once here, without the busy timeout, when
        another connection is writing: on a new file, the other worker's tracker store
        creating its tables. Without waiting, that worker died at start-up.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                self._connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: other processes wait until it commits."""
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        """The lock of `conversation_id`, or None."""
        row = self._connection.execute(
            "SELECT lock FROM conversation_locks WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    def delete_lock(self, conversation_id: Text) -> None:
        """Remove the lock of `conversation_id`."""
        deleted = self._connection.execute(
            "DELETE FROM conversation_locks WHERE conversation_id = ?", (conversation_id,)
        ).rowcount
        self._log_deletion(conversation_id, deleted > 0)

    def save_lock(self, lock: TicketLock) -> None:
        """Store `lock`, replacing the conversation's previous one."""
        self._connection.execute(
            "INSERT OR REPLACE INTO conversation_locks (conversation_id, lock) VALUES (?, ?)",
            (lock.conversation_id, lock.dumps()),
        )

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket of `conversation_id` atomically across processes."""
        try:
            with self._transaction():
                return super().issue_ticket(conversation_id, lock_lifetime)
        except sqlite3.Error as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        """Remove expired tickets, atomically."""
        with self._transaction():
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Finish serving `ticket_number` and drop the lock if no one waits, atomically."""
        with self._transaction():
            super().cleanup(conversation_id, ticket_number)
