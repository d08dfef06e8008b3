"""A tracker store that cannot be reached never turns into an in-memory one; readiness.

stores/availability.py: while the database is down, patients get the phone hand-off and
`GET /webhooks/rest/ready` says 503; answering resumes by itself when it is back. On real
servers with SQLite (the file replaced by a folder) and PostgreSQL (stopped).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bench.servers import Stack, endpoints_with, reply_texts, running_stack
from core.clinic import load_clinic
from stores import availability
from stores.availability import StrictTrackerStore, TrackerStoreUnavailable, refuse_in_memory_fallback
from tests.conftest import Postgres, eventually

PHONE = load_clinic().phone


class DownStore(InMemoryTrackerStore):
    """A tracker store whose database is down."""

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        raise ConnectionError("database is down")

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError("database is down")


class Agent:
    """The two attributes of Rasa's Agent that the fallback switch touches."""

    def __init__(self, store: Any) -> None:
        self.tracker_store = store
        self.processor = type("Processor", (), {"tracker_store": store})()


def test_rasa_falls_back_to_memory_and_the_strict_store_raises(caplog: pytest.LogCaptureFixture) -> None:
    """Rasa's wrapper hides the outage; the strict one fails the turn and says why."""
    down = DownStore(Domain.empty())
    tracker = DialogueStateTracker("patient", [])
    asyncio.run(FailSafeTrackerStore(down).save(tracker))  # silently kept in memory
    strict = StrictTrackerStore(down)
    with caplog.at_level(logging.ERROR), pytest.raises(TrackerStoreUnavailable):
        asyncio.run(strict.save(tracker))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(strict.retrieve("patient"))
    assert "The tracker store cannot be reached (ConnectionError: database is down)" in caplog.text


def test_the_agents_store_is_made_strict_for_this_and_later_models() -> None:
    agent = Agent(FailSafeTrackerStore(DownStore(Domain.empty())))
    assert refuse_in_memory_fallback(agent)
    assert isinstance(agent.tracker_store, StrictTrackerStore)
    assert agent.processor.tracker_store is agent.tracker_store
    assert refuse_in_memory_fallback(agent)  # twice (two channels) is harmless


def test_another_rasa_version_keeps_rasas_fallback_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(availability.rasa, "__version__", "3.7.0")
    agent = Agent(FailSafeTrackerStore(DownStore(Domain.empty())))
    with caplog.at_level(logging.WARNING):
        assert not refuse_in_memory_fallback(agent)
    assert not isinstance(agent.tracker_store, StrictTrackerStore)
    assert "in-memory fallback of the tracker store stays on" in caplog.text


# --- real servers ---


def ready(stack: Stack) -> Tuple[int, Dict[str, Any]]:
    """The readiness endpoint's status and body."""
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/rest/ready"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def outage(stack: Stack, go_down: Callable[[], None], come_back: Callable[[], None]) -> List[str]:
    """A patient's conversation across an outage; the replies to its three messages."""
    assert ready(stack) == (200, {"status": "ready"}), ready(stack)
    before = reply_texts(stack.send("p-outage", "what is a trigger point", timeout=60))
    go_down()
    status, body = ready(stack)
    assert status == 503 and any("tracker store cannot be reached" in p for p in body["problems"]), body
    during = reply_texts(stack.send("p-outage", "and what causes them?", timeout=60))
    log = (stack.workdir / "rasa.log").read_text(errors="replace")
    assert "The tracker store cannot be reached" in log and "Falling back to use" not in log
    come_back()
    eventually(lambda: ready(stack)[0] == 200)
    after = eventually(lambda: reply_texts(stack.send("p-outage", "what causes trigger points?", timeout=60)))
    return [before, during, after]


def assert_outage_replies(replies: List[str]) -> None:
    """An answer, the phone hand-off while down, an answer again."""
    before, during, after = replies
    assert "knot" in before.lower()
    assert PHONE in during and "knot" not in during.lower()
    assert "posture" in after.lower() or "stress" in after.lower() or "overuse" in after.lower(), after


@pytest.fixture
def sqlite_stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as stack:
        yield stack


def test_sqlite_unreachable_gives_the_phone_then_answers_again(sqlite_stack: Stack) -> None:
    """The tracker file replaced by a folder, then put back: nothing kept in memory meanwhile."""
    db = Path(sqlite_stack.env["TRACKER_DB"])
    aside = db.with_name("tracker.db.aside")

    def go_down() -> None:
        os.rename(db, aside)
        db.mkdir()

    def come_back() -> None:
        db.rmdir()
        os.rename(aside, db)

    assert_outage_replies(outage(sqlite_stack, go_down, come_back))
    with sqlite3.connect(db) as connection:
        said = [row[0] for row in connection.execute(
            "select json_extract(data, '$.text') from events where sender_id = 'p-outage' "
            "and type_name = 'user' order by id")]
    assert said == ["what is a trigger point", "what causes trigger points?"]


def test_postgresql_stopped_gives_the_phone_then_answers_again(tmp_path: Path, postgres: Postgres) -> None:
    """The production store stopped and started again under a running server."""
    store = yaml.safe_load(postgres.endpoint("stores.masking_tracker_store.MaskingSQLTrackerStore"))
    endpoints = endpoints_with(tmp_path / "endpoints.yml", store["tracker_store"])
    with running_stack(tmp_path, rasa_args=["--endpoints", str(endpoints)]) as stack:
        assert_outage_replies(outage(stack, postgres.stop, postgres.start))
