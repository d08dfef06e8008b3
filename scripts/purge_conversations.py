"""Delete conversations older than the retention period, or one on request, from the tracker store.

`make forget SENDER=<conversation id>` deletes every session of one patient's
conversation (a request under the Health Information Act), and says how many events.

`make purge` runs it with the settings of `.env`: `RETENTION_DAYS` and the
tracker store of `endpoints.yml` (the SQLite file `TRACKER_DB`, or any SQL database).

Conversations are deleted by whole sessions (a session starts with Rasa's
`action_session_start` and ends after `session_expiration_time` without messages): a
session whose last event is older than the retention period is deleted, so is a
conversation whose every session is. The session going on stays whole, so the assistant
never sees half a conversation. On SQLite, deleted rows are overwritten with zeros
(`PRAGMA secure_delete`), so the text is gone from the file, not just unlinked.

    python -m scripts.purge_conversations [--days N] [--dry-run] [--endpoints endpoints.yml]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import groupby
from typing import Any, Iterable, List, Optional, Sequence, Tuple

# Rasa 3.6 uses SQLAlchemy 1.4's legacy API, which warns about 2.0 once imported.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import sqlalchemy as sa  # noqa: E402

from core.settings import SettingsError, settings  # noqa: E402

# Rasa's SQL tracker store, and ours that masks identifiers (same tables)
SQL_STORES = {"sql", "stores.masking_tracker_store.maskingsqltrackerstore"}
EVENTS_TABLE = "events"
SESSION_START = "action_session_start"

Row = Tuple[int, str, Optional[float], str, Optional[str]]


@dataclass
class PurgeResult:
    """What a purge deleted (or would delete, with --dry-run)."""

    cutoff: float
    events: int = 0
    conversations: int = 0
    sessions: int = 0


def tracker_store_url(endpoints: str) -> Any:
    """The SQLAlchemy URL of the SQL tracker store configured in `endpoints`."""
    with warnings.catch_warnings():  # Rasa's imports warn about their own dependencies
        warnings.simplefilter("ignore")
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(endpoints, "tracker_store")
    if config is None or str(config.type).lower() not in SQL_STORES:
        raise SystemExit(f"{endpoints} has no SQL tracker_store: nothing to purge.")
    keys = ("dialect", "port", "db", "username", "password", "query")
    kwargs = {key: config.kwargs[key] for key in keys if config.kwargs.get(key) is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SQLTrackerStore.get_db_url(host=config.url, **kwargs)


def old_sessions(rows: Iterable[Row], cutoff: float) -> List[Tuple[str, int, int, bool]]:
    """(sender, first id, last id, whole conversation?) of each session to delete.

    `rows` are (id, sender_id, timestamp, type_name, action_name), ordered by sender, id.
    """
    found: List[Tuple[str, int, int, bool]] = []
    for sender, events in groupby(rows, key=lambda row: row[1]):
        sessions: List[List[Row]] = []
        for row in events:
            starts_session = row[3] == "action" and row[4] == SESSION_START
            if not sessions or (starts_session and sessions[-1]):
                sessions.append([])
            sessions[-1].append(row)
        old = [s for s in sessions if max((r[2] or 0.0) for r in s) < cutoff]
        whole = len(old) == len(sessions)
        found.extend((sender, s[0][0], s[-1][0], whole) for s in old)
    return found


def purge(url: Any, days: int, now: Optional[float] = None, dry_run: bool = False) -> PurgeResult:
    """Delete the sessions older than `days` days from the tracker store at `url`."""
    cutoff = (time.time() if now is None else now) - days * 86400
    result = PurgeResult(cutoff)
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table(EVENTS_TABLE):
            return result
        events = sa.Table(EVENTS_TABLE, sa.MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA secure_delete = ON")
            rows = connection.execute(
                sa.select(
                    events.c.id, events.c.sender_id, events.c.timestamp,
                    events.c.type_name, events.c.action_name,
                ).order_by(events.c.sender_id, events.c.id)
            )
            sessions = old_sessions(rows, cutoff)
            for sender, first, last, _whole in sessions:
                condition = sa.and_(events.c.sender_id == sender, events.c.id.between(first, last))
                if dry_run:
                    count = connection.execute(
                        sa.select(sa.func.count()).select_from(events).where(condition)
                    ).scalar_one()
                else:
                    count = connection.execute(events.delete().where(condition)).rowcount
                result.events += count
                result.sessions += 1
        result.conversations = len({sender for sender, _, _, whole in sessions if whole})
    finally:
        engine.dispose()
    return result


MAX_SENDER_CHARS = 128  # as the channels accept conversation ids (core/limits.py)


def check_conversation_id(sender: Optional[str]) -> str:
    """A conversation id as the channels accept it: 1-128 printable characters."""
    if not sender or not sender.strip():
        raise ValueError("give the conversation's id: make forget SENDER=<conversation id>")
    if len(sender) > MAX_SENDER_CHARS or not sender.isprintable():
        raise ValueError(f"a conversation id is 1-{MAX_SENDER_CHARS} printable characters")
    return sender


def forget(url: Any, sender: str, dry_run: bool = False) -> int:
    """Delete every event (every session) of conversation `sender`; how many there were."""
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table(EVENTS_TABLE):
            return 0
        events = sa.Table(EVENTS_TABLE, sa.MetaData(), autoload_with=engine)
        condition = events.c.sender_id == sender
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA secure_delete = ON")
            if dry_run:
                return connection.execute(
                    sa.select(sa.func.count()).select_from(events).where(condition)
                ).scalar_one()
            return connection.execute(events.delete().where(condition)).rowcount
    finally:
        engine.dispose()


def forget_main(url: Any, sender: Optional[str], dry_run: bool) -> int:
    """`make forget`: one patient's conversation, on request."""
    try:
        sender = check_conversation_id(sender)
    except ValueError as error:
        print(f"error: {error}; nothing deleted", file=sys.stderr)
        return 2
    count = forget(url, sender, dry_run=dry_run)
    if count == 0:
        print(f"error: no conversation with the id {sender!r}: nothing deleted", file=sys.stderr)
        return 1
    verb = "Would delete" if dry_run else "Deleted"
    print(f"{verb} {count} events of conversation {sender!r} (all its sessions).")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Purge with the project's settings (core.settings: `.env`, then the environment)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, help="retention in days (default: RETENTION_DAYS)")
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    parser.add_argument("--endpoints", default="endpoints.yml")
    parser.add_argument(
        "--forget", action="store_true",
        help="delete one conversation instead: its id in FORGET_SENDER (make forget SENDER=...)",
    )
    args = parser.parse_args(argv)
    if args.forget:
        sender = os.environ.get("FORGET_SENDER")
        url = tracker_store_url(args.endpoints)
        return forget_main(url, sender, args.dry_run)
    try:
        days = args.days if args.days is not None else settings().retention_days
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if days <= 0:
        print("error: --days must be positive", file=sys.stderr)
        return 2
    url = tracker_store_url(args.endpoints)
    if str(url).startswith("sqlite:///") and not os.path.exists(str(url)[len("sqlite:///"):]):
        print(f"No conversations to purge: {str(url)[len('sqlite:///'):]} does not exist.")
        return 0
    result = purge(url, days, dry_run=args.dry_run)
    cutoff = datetime.fromtimestamp(result.cutoff, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    verb = "Would delete" if args.dry_run else "Deleted"
    print(
        f"{verb} {result.events} events in {result.sessions} sessions older than {days} days "
        f"(last message before {cutoff}); {result.conversations} conversations entirely."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
