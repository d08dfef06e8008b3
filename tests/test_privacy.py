"""Privacy: `make purge` deletes old conversations from the tracker store; secrets stay out
of the repository. (That the logs hold no message text is checked against a running
server in tests/test_robustness.py.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from scripts.purge_conversations import purge
from tests.conftest import PROJECT

DAY = 86400.0
NOW = time.time()


def session(start: float, text: str) -> List[Event]:
    """One session as Rasa stores it: session start, a question, an answer."""
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),
        UserUttered(text, timestamp=start + 1),
        BotUttered("an answer", timestamp=start + 2),
        ActionExecuted("action_listen", timestamp=start + 2),
    ]


@pytest.fixture
def store(tmp_path: Path) -> SQLTrackerStore:
    """An SQLite tracker store, as endpoints.yml configures it, with three patients:
    one who wrote 40 days ago, one 40 days ago and yesterday, one yesterday."""
    tracker_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    conversations = {
        "old": session(NOW - 40 * DAY, "old-patient-secret"),
        "returning": session(NOW - 40 * DAY, "returning-old-secret") + session(NOW - DAY, "returning-new"),
        "recent": session(NOW - DAY, "recent-question"),
    }
    for sender, events in conversations.items():
        asyncio.run(tracker_store.save(DialogueStateTracker.from_events(sender, events)))
    return tracker_store


def stored_texts(store: SQLTrackerStore, sender: str) -> List[str]:
    """The user messages Rasa reads back for `sender`, all sessions."""
    tracker = asyncio.run(store.retrieve_full_tracker(sender))
    return [e.text for e in tracker.events if isinstance(e, UserUttered)] if tracker else []


def test_purge_deletes_sessions_older_than_the_retention(store: SQLTrackerStore, tmp_path: Path) -> None:
    """Whole old conversations go; a returning patient keeps only the recent session;
    Rasa still reads what is left; the text is gone from the file itself."""
    result = purge(f"sqlite:///{tmp_path / 'tracker.db'}", days=30, now=NOW)
    assert (result.conversations, result.sessions, result.events) == (1, 2, 12)
    assert stored_texts(store, "old") == []
    assert stored_texts(store, "returning") == ["returning-new"]
    assert stored_texts(store, "recent") == ["recent-question"]
    store.engine.dispose()
    content = (tmp_path / "tracker.db").read_bytes()
    assert b"old-patient-secret" not in content and b"returning-old-secret" not in content


def test_purge_dry_run_and_longer_retention_delete_nothing(store: SQLTrackerStore, tmp_path: Path) -> None:
    """--dry-run counts only; a 60-day retention keeps the 40-day-old sessions."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert purge(url, days=30, now=NOW, dry_run=True).events == 12
    assert purge(url, days=60, now=NOW).events == 0
    assert stored_texts(store, "old") == ["old-patient-secret"]


def test_make_purge_uses_retention_days_and_the_tracker_db(store: SQLTrackerStore, tmp_path: Path) -> None:
    """`make purge` itself, with RETENTION_DAYS and TRACKER_DB from the environment."""
    env = {**os.environ, "TRACKER_DB": str(tmp_path / "tracker.db"), "RETENTION_DAYS": "30"}
    result = subprocess.run(
        ["make", "--no-print-directory", "purge"], cwd=PROJECT, env=env,
        capture_output=True, text=True, timeout=300, check=True,
    )
    assert "Deleted 12 events in 2 sessions older than 30 days" in result.stdout
    assert "1 conversations entirely" in result.stdout
    assert stored_texts(store, "returning") == ["returning-new"]


def test_secrets_stay_out_of_the_repository() -> None:
    """`.env` is ignored and untracked; `.env.example` holds no token; defaults are documented."""
    assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=PROJECT).returncode == 0
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=PROJECT, capture_output=True, text=True)
    assert tracked.stdout.strip() == ""
    example = dict(
        line.split("=", 1) for line in (PROJECT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert example["RASA_API_TOKEN"] == ""
    assert example["RETENTION_DAYS"] == "30"
    assert example["MAX_MESSAGE_CHARS"] and example["MAX_REQUEST_BYTES"]


def make_forget(tmp_path: Path, sender: str) -> subprocess.CompletedProcess:
    """`make forget SENDER=...` itself, on the test's tracker store."""
    env = {**os.environ, "TRACKER_DB": str(tmp_path / "tracker.db")}
    return subprocess.run(
        ["make", "--no-print-directory", "forget", f"SENDER={sender}"], cwd=PROJECT, env=env,
        capture_output=True, text=True, timeout=300,
    )


def test_make_forget_deletes_one_conversation_whole(store: SQLTrackerStore, tmp_path: Path) -> None:
    """Every session of that patient goes, and says how many events; the others stay."""
    result = make_forget(tmp_path, "returning")
    assert result.returncode == 0, result.stderr
    assert "Deleted 12 events of conversation 'returning'" in result.stdout
    assert stored_texts(store, "returning") == []
    assert stored_texts(store, "old") == ["old-patient-secret"]
    assert stored_texts(store, "recent") == ["recent-question"]
    store.engine.dispose()
    assert b"returning-new" not in (tmp_path / "tracker.db").read_bytes()


@pytest.mark.parametrize("sender", ["", "nobody", "x" * 200, "a'; drop table events; --"])
def test_make_forget_refuses_bad_or_unknown_ids_and_deletes_nothing(
    store: SQLTrackerStore, tmp_path: Path, sender: str
) -> None:
    result = make_forget(tmp_path, sender)
    assert result.returncode != 0 and "nothing deleted" in result.stderr
    for patient, texts in {"old": ["old-patient-secret"], "recent": ["recent-question"],
                           "returning": ["returning-old-secret", "returning-new"]}.items():
        assert stored_texts(store, patient) == texts
