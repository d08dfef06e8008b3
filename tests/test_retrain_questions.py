"""Exporting unanswered questions (retrain/questions.py) from a tracker store made here.

The conversations are written through Rasa's own SQLTrackerStore into a temporary
SQLite file (the real-server round trip is in test_retrain_e2e.py).
"""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from retrain.errors import UserError
from retrain.project import Project, load_env
from retrain.questions import export, from_spreadsheet, spreadsheet_safe, unanswered
from retrain.sandbox import free_port
from tests.conftest import PROJECT, Postgres

HANDOFF = {"out_of_scope", "nlu_fallback", "book_appointment", "contact"}
DAY = 86400.0


def said(text: str, intent: str, confidence: float = 0.9, faq: Optional[str] = None,
         when: float = 0.0) -> UserUttered:
    """A user message with parse data like the assistant's."""
    parse: Dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": confidence}}
    if faq:
        parse["response_selector"] = {"faq": {"ranking": [
            {"intent_response_key": f"faq/{faq}", "confidence": 0.42}]}}
    return UserUttered(text, parse["intent"], [], parse, timestamp=when or time.time())


def acted(name: str) -> ActionExecuted:
    """A bot action."""
    return ActionExecuted(name)


CONVERSATION = [
    said("what is IMS", "faq"), acted("utter_faq"), acted("utter_anything_else"), acted("action_listen"),
    said("do you sell gift cards", "out_of_scope", 0.7, "when_to_use"), acted("action_handoff"),
    acted("action_listen"),
    said("needles gym?? tmrw", "faq", 0.9), acted("action_handoff"), acted("action_listen"),
    said("/greet", "greet"), acted("utter_greet"), acted("action_listen"),
    said("I want to book", "book_appointment"), acted("action_handoff"), acted("action_listen"),
    said("hello", "greet"), acted("utter_greet"),
]


def test_unanswered_are_handoffs_and_fallbacks_only() -> None:
    """Answered questions and button payloads are left out; a core fallback counts."""
    found = unanswered(CONVERSATION, HANDOFF)
    assert [a.text for a in found] == ["do you sell gift cards", "needles gym?? tmrw", "I want to book"]
    gift = found[0]
    assert (gift.intent, gift.confidence, gift.closest_faq, gift.closest_confidence) == (
        "out_of_scope", 0.7, "when_to_use", 0.42)


def replied(response: str) -> BotUttered:
    """A bot message made from a domain response (its name in the metadata, as Rasa keeps it)."""
    return BotUttered("...", metadata={"utter_action": response})


def rated(value: str) -> UserUttered:
    """A tap on a rating button under an answer."""
    parse: Dict[str, Any] = {"text": f'/rate_answer{{"rating": "{value}"}}',
                             "intent": {"name": "rate_answer", "confidence": 1.0},
                             "entities": [{"entity": "rating", "value": value}]}
    return UserUttered(parse["text"], parse["intent"], parse["entities"], parse)


def answered(text: str, key: str) -> List[Any]:
    """A question the page answered, and "anything else?" with the rating buttons."""
    return [said(text, "faq"), acted("utter_faq"), replied(f"utter_faq/{key}"),
            acted("utter_anything_else"), replied("utter_anything_else"), acted("action_listen")]


def test_each_unanswered_question_says_why() -> None:
    """Handed off, "did you mean" (which is a hand-off too), or answered and then rated "didn't help"."""
    events = [
        *answered("what is a trigger point", "what_is_trigger_point"), rated("helpful"),
        acted("action_rate_answer"), replied("utter_rating_thanks"), acted("action_listen"),
        *answered("can i jog after", "exercise_after"), said("thanks", "thank"),
        acted("utter_you_are_welcome"), acted("action_listen"),
        rated("not_helpful"), acted("action_rate_answer"), replied("utter_rating_not_helpful"),
        acted("action_listen"),
        said("needles thing??", "nlu_fallback", 0.3), acted("action_handoff"),
        replied("utter_handoff_suggest"), acted("action_listen"),
        said("do you sell gift cards", "out_of_scope"), acted("action_handoff"),
        replied("utter_handoff"), acted("action_listen"),
        rated("not_helpful"),  # after a hand-off: the answer rated is still the jogging one, already counted
    ]
    found = unanswered(events, HANDOFF)
    assert [(a.text, a.reason) for a in found] == [
        ("can i jog after", "rated not helpful"),
        ("needles thing??", "did you mean"),
        ("do you sell gift cards", "handed off"),
    ]


def test_formulas_are_kept_as_text_in_spreadsheets() -> None:
    """A question starting with = would run as a formula: quoted on export, unquoted on import."""
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert from_spreadsheet(spreadsheet_safe("=HYPERLINK(1)")) == "=HYPERLINK(1)"
    assert from_spreadsheet("'tis the season") == "'tis the season"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Data, settings and an SQLite tracker store with three patients' conversations."""
    saved = dict(os.environ)
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "data", root / "data")
    shutil.copytree(PROJECT / "scripts", root / "scripts")
    (root / "tests").mkdir()
    for name in ("domain.yml", "endpoints.yml", ".env.example"):
        shutil.copy2(PROJECT / name, root / name)
    shutil.copy2(PROJECT / "tests" / "nlu_heldout.yml", root / "tests")
    (root / ".env").write_text("TRACKER_DB=conversations.db\n")
    monkeypatch.chdir(root)
    load_env(root)
    save_conversations(SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(root / "conversations.db")))
    yield root
    os.environ.clear()
    os.environ.update(saved)


def save_conversations(store: Any) -> None:
    """Three patients: one question asked three ways, one already an example, an old one."""
    old = time.time() - 30 * DAY
    conversations = {
        "p1": CONVERSATION,
        "p2": [said("Do you sell gift cards?", "nlu_fallback", 0.3, "rehab_program"), acted("action_handoff"),
               said("does dry needling hurt", "out_of_scope"), acted("action_handoff")],
        "p3": [said("do you sell GIFT cards", "out_of_scope", when=old), acted("action_handoff"),
               said("parking downtown?", "contact", when=old), acted("action_handoff")],
    }
    for sender, events in conversations.items():
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))


def rows_of(path: Path) -> List[Dict[str, str]]:
    """The exported CSV."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_groups_repeats_and_leaves_out_known_questions(project: Path) -> None:
    """Three wordings of one question -> one row asked 3 times; training examples left out."""
    result = export(Project(project), project / "out.csv")
    rows = rows_of(project / "out.csv")
    gift = rows[0]
    assert gift["question"] == "Do you sell gift cards?"  # equally common: the latest wording
    assert gift["times_asked"] == "3" and gift["label"] == ""
    assert gift["predicted_intent"] == "nlu_fallback"  # the latest time it was asked
    assert gift["closest_faq"] == "rehab_program"
    assert gift["first_asked"] < gift["last_asked"]
    assert {r["question"] for r in rows} == {
        "Do you sell gift cards?", "needles gym?? tmrw", "I want to book", "parking downtown?"}
    assert result.already_known == 1  # "does dry needling hurt" is an out-of-scope example
    assert result.messages == 7


def test_export_since_a_date(project: Path) -> None:
    """Older questions are left out."""
    since = time.time() - 7 * DAY
    export(Project(project), project / "recent.csv", since)
    rows = rows_of(project / "recent.csv")
    assert "parking downtown?" not in {r["question"] for r in rows}
    assert rows[0]["times_asked"] == "2"


def test_export_without_a_database_says_so(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No conversations yet: a clear message, no empty database created."""
    (project / ".env").write_text("TRACKER_DB=missing.db\n")
    # A new shell: the fixture's TRACKER_DB would win over .env (scripts/env.sh).
    monkeypatch.delenv("TRACKER_DB")
    load_env(project)
    with pytest.raises(UserError, match="No conversations yet"):
        export(Project(project), project / "out.csv")
    assert not (project / "missing.db").exists()


def test_export_from_postgresql_is_the_same_code(project: Path, postgres: Postgres) -> None:
    """endpoints.yml pointing at PostgreSQL (as in production): the same export."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    endpoints = project / "endpoints.yml"
    text = endpoints.read_text()
    endpoints.write_text(text[:text.index("tracker_store:")] + (
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: ${PG_PORT}\n"
        "  db: rasa\n  login_db: postgres\n  username: postgres\n"))
    (project / ".env").write_text(f"PG_PORT={postgres.port}\n")
    load_env(project)
    endpoint = read_endpoint_config(str(endpoints), "tracker_store")
    save_conversations(TrackerStore.create(endpoint, Domain.empty()))
    result = export(Project(project), project / "pg.csv")
    rows = rows_of(project / "pg.csv")
    assert rows[0]["question"] == "Do you sell gift cards?" and rows[0]["times_asked"] == "3"
    assert (result.rows, result.already_known) == (4, 1)


def test_an_unreachable_database_is_reported_not_waited_for(project: Path) -> None:
    """Rasa's SQL store retries for ever; the export says what is wrong instead."""
    endpoints = project / "endpoints.yml"
    text = endpoints.read_text()
    endpoints.write_text(text[:text.index("tracker_store:")] + (
        f"tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: {free_port()}\n"
        "  db: rasa\n  username: postgres\n"))
    with pytest.raises(UserError, match="Cannot reach the conversation database"):
        export(Project(project), project / "out.csv")


def test_the_endpoints_file_is_rasa_endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make cluster` points the console at its own endpoints file (PostgreSQL)."""
    assert Project(tmp_path).endpoints == tmp_path / "endpoints.yml"
    monkeypatch.setenv("RASA_ENDPOINTS", "deploy/cluster/endpoints.yml")
    assert Project(tmp_path).endpoints == tmp_path / "deploy" / "cluster" / "endpoints.yml"
