"""Patients' identifiers are masked before storage (stores/masking_tracker_store.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from stores.masking_tracker_store import MaskingSQLTrackerStore, mask
from tests.conftest import PROJECT


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("call me at 780-555-0100", "call me at [phone]"),
        ("my cell is (780) 555 0100 thanks", "my cell is [phone] thanks"),
        ("+1 780.555.0100", "[phone]"),
        ("jo.smith+clinic@mail.example.ca wrote", "[email] wrote"),
        ("my health card is 12345-6789", "my health card is [health card]"),
        ("PHN 123 456 789", "PHN [health card]"),
        ("phn123456789", "phn[health card]"),
    ],
)
def test_identifiers_are_masked(text: str, stored: str) -> None:
    assert mask(text) == stored


@pytest.mark.parametrize(
    "text", ["I did 200 squats in 30 days", "is 10 sessions enough?", "knee surgery in 2019, age 67"]
)
def test_ordinary_numbers_stay(text: str) -> None:
    assert mask(text) == text


def test_endpoints_yml_stores_with_masking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store `make run` uses; a patient's number is never written, the clinic's is."""
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("ACTION_PORT", "5055")
    store = TrackerStore.create(
        read_endpoint_config(str(PROJECT / "endpoints.yml"), "tracker_store"), Domain.empty()
    )
    assert isinstance(store, MaskingSQLTrackerStore)
    said = "what is IMS? my number is 780-555-0100, e-mail pat@example.com"
    tracker = DialogueStateTracker.from_events("patient", [
        ActionExecuted("action_listen"),
        UserUttered(said, parse_data={"text": said, "intent": {"name": "faq"}}),
        BotUttered("Please call us: (780) 761-3777"),
    ])
    asyncio.run(store.save(tracker))
    assert tracker.latest_message.text == said  # the turn itself keeps the original
    store.engine.dispose()
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        stored = " ".join(row[0] for row in db.execute("select data from events"))
    assert "780-555-0100" not in stored and "pat@example.com" not in stored
    assert stored.count("[phone]") == 2 and "[email]" in stored  # text and parse data
    assert "(780) 761-3777" in stored
