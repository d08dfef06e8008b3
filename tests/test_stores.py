"""The SQLite lock store that the Rasa server's workers share (stores/sqlite_lock_store.py)."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import time
from pathlib import Path
from typing import List

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from stores.sqlite_lock_store import SQLiteLockStore
from stores.tickets import OutlivingTickets
from tests.conftest import PROJECT


def test_endpoints_yml_makes_it_from_the_tracker_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """endpoints.yml: the lock store is ours, in the tracker store's SQLite file."""
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("ACTION_PORT", "5055")
    endpoint = read_endpoint_config(str(PROJECT / "endpoints.yml"), "lock_store")
    store = LockStore.create(endpoint)
    assert isinstance(store, SQLiteLockStore)
    assert Path(store.db) == tmp_path / "tracker.db"
    tracker_store = read_endpoint_config(str(PROJECT / "endpoints.yml"), "tracker_store")
    assert tracker_store.kwargs["db"] == store.db


def test_tickets_are_served_in_order_across_processes_view(tmp_path: Path) -> None:
    """Two stores on one file (two workers) see one lock: tickets 0, 1; cleanup deletes it."""
    db = str(tmp_path / "locks.db")
    first, second = SQLiteLockStore(db=db), SQLiteLockStore(EndpointConfig(db=db))
    assert first.issue_ticket("patient") == 0
    assert second.issue_ticket("patient") == 1
    lock = second.get_lock("patient")
    assert lock is not None and not lock.is_locked(0) and lock.is_locked(1)
    first.cleanup("patient", 0)
    assert second.is_someone_waiting("patient")
    second.cleanup("patient", 1)
    assert first.get_lock("patient") is None


def test_a_waiting_message_gets_the_lock_when_the_first_is_done(tmp_path: Path) -> None:
    """Rasa's `lock()` context: the second message of a conversation waits for the first."""
    db = str(tmp_path / "locks.db")
    workers = [SQLiteLockStore(db=db), SQLiteLockStore(db=db)]
    order: List[str] = []

    async def handle(store: SQLiteLockStore, name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with store.lock("patient", wait_time_in_seconds=0.05):
            order.append(f"{name} starts")
            await asyncio.sleep(0.2)
            order.append(f"{name} ends")

    async def both() -> None:
        await asyncio.gather(handle(workers[0], "first", 0), handle(workers[1], "second", 0.05))

    asyncio.run(both())
    assert order == ["first starts", "first ends", "second starts", "second ends"]
    assert workers[0].get_lock("patient") is None


def _issue(db: str, count: int, queue: "multiprocessing.Queue[List[int]]") -> None:
    store = SQLiteLockStore(db=db)
    queue.put([store.issue_ticket("busy patient", 60) for _ in range(count)])


def test_processes_never_get_the_same_ticket(tmp_path: Path) -> None:
    """Issuing is one transaction: 4 processes x 50 tickets are 200 distinct numbers."""
    db = str(tmp_path / "locks.db")
    SQLiteLockStore(db=db)  # creates the table before the processes race
    context = multiprocessing.get_context("spawn")
    queue: "multiprocessing.Queue[List[int]]" = context.Queue()
    processes = [context.Process(target=_issue, args=(db, 50, queue)) for _ in range(4)]
    for process in processes:
        process.start()
    tickets = [ticket for _ in processes for ticket in queue.get(timeout=120)]
    for process in processes:
        process.join(timeout=60)
    assert sorted(tickets) == list(range(200))


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    """Readers never wait for a writer."""
    SQLiteLockStore(db=str(tmp_path / "locks.db"))
    with sqlite3.connect(tmp_path / "locks.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _write_for_a_while(db: str, started: "multiprocessing.synchronize.Event", seconds: float) -> None:
    """Another worker's tracker store creating its tables: a write transaction held open."""
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
    started.set()
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()


def test_it_waits_for_another_process_writing_to_a_new_file(tmp_path: Path) -> None:
    """Two workers starting on a new file: the switch to WAL waits instead of failing."""
    db = str(tmp_path / "tracker.db")
    started = multiprocessing.Event()
    writer = multiprocessing.Process(target=_write_for_a_while, args=(db, started, 0.5))
    writer.start()
    try:
        assert started.wait(10)
        store = SQLiteLockStore(db=db)
        assert store.issue_ticket("patient") == 0
    finally:
        writer.join(10)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT name FROM sqlite_master WHERE name = 'events'").fetchone()


# --- a waiting ticket outlives a dead server's (stores/tickets.py)


class OutlivingInMemoryLockStore(OutlivingTickets, InMemoryLockStore):
    """Rasa's in-memory lock store with the fix, to compare with it alone."""


def stuck_behind_a_dead_server(store: LockStore) -> bool:
    """A server died holding the conversation's ticket (lifetime 1 s); the next message's
    lock, asked for half a second later: True if it is never granted."""
    store.issue_ticket("patient", 1)
    time.sleep(0.5)

    async def next_message() -> None:
        async with store.lock("patient", lock_lifetime=1, wait_time_in_seconds=1):
            pass

    async def within(seconds: float) -> bool:
        try:
            await asyncio.wait_for(next_message(), seconds)
        except asyncio.TimeoutError:
            return True
        return False

    return asyncio.run(within(4))


def test_rasa_alone_leaves_the_next_message_waiting_forever() -> None:
    """The failure the mixin is for: Rasa's own store never grants the lock."""
    assert stuck_behind_a_dead_server(InMemoryLockStore())


@pytest.mark.parametrize("make_store", [OutlivingInMemoryLockStore, "sqlite"])
def test_the_next_message_gets_the_lock_once_the_dead_ticket_expires(make_store, tmp_path: Path) -> None:
    store = SQLiteLockStore(db=str(tmp_path / "locks.db")) if make_store == "sqlite" else make_store()
    assert not stuck_behind_a_dead_server(store)


def test_the_cluster_lock_store_is_rasas_redis_store_from_endpoints() -> None:
    """deploy/cluster/endpoints.yml's lock store is made by Rasa from the endpoint config
    (no connection is opened before the first use)."""
    config = EndpointConfig(type="stores.redis_lock_store.ClinicRedisLockStore", url="127.0.0.1",
                            port=6390, password="secret", db=0)
    store = LockStore.create(config)
    assert isinstance(store, RedisLockStore) and isinstance(store, OutlivingTickets)
    assert store.red.connection_pool.connection_kwargs["port"] == 6390
    assert store.red.connection_pool.connection_kwargs["password"] == "secret"
