"""Patients' identifiers: masked before storage (stores/masking_tracker_store.py), and
never part of what NLU reads (components/identifiers.py), both from core/identifiers.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bench.devset import load_singles
from core.identifiers import mask, without_identifiers
from retrain.heldout import DEFAULT_TEST_FILE, load_examples, predicted_label
from stores.masking_tracker_store import RECENT_EVENTS, MaskingSQLTrackerStore
from tests.conftest import MODEL, PROJECT, Postgres

# Identifiers as patients add them to a question, before or after it.
GIVEN_WITH_A_QUESTION = [
    "{} My number is 780-555-0199",
    "{} you can reach me at (780) 555 0199 or jo.smith@example.com",
    "My PHN is 12345-6789. {}",
    "email me at jo.smith+clinic@mail.example.ca, {}",
]


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
    assert without_identifiers(text) == text


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("what is a trigger point? my number is 780-555-0199", "what is a trigger point?"),
        ("my phone is 780-555-0199, how is it different from acupuncture?",
         "how is it different from acupuncture?"),
        ("Can I exercise after? you can reach me at 780 555 0199", "Can I exercise after?"),
        ("PHN 123 456 789 what is dry needling", "what is dry needling"),
        ("call me on 7805550199", "call me on [phone]"),  # nothing else: the placeholder stays
    ],
)
def test_nlu_reads_the_message_without_identifiers(text: str, read: str) -> None:
    assert without_identifiers(text) == read


def held_out_questions() -> list[str]:
    """The held-out questions: tests/nlu_heldout.yml and the development set's real ones."""
    heldout = [text for text, _ in load_examples(PROJECT / DEFAULT_TEST_FILE)]
    real = [turn.text for turns in load_singles("real_questions.csv").values() for turn in turns]
    return heldout + real


def test_an_identifier_given_with_a_question_never_changes_its_answer(agent) -> None:  # type: ignore[no-untyped-def]
    """Every held-out question, alone and with a phone number, e-mail or health card number
    before or after it, gets the same answer (or the same hand-off)."""

    async def labels(texts: list[str]) -> list[str]:
        return [predicted_label(await agent.parse_message(text)) for text in texts]

    questions = held_out_questions()
    with_identifiers = [GIVEN_WITH_A_QUESTION[n % len(GIVEN_WITH_A_QUESTION)].format(q)
                        for n, q in enumerate(questions)]
    alone, given = asyncio.run(labels(questions)), asyncio.run(labels(with_identifiers))
    changed = [(q, a, g) for q, a, g in zip(with_identifiers, alone, given, strict=True) if a != g]
    assert len(questions) > 300 and changed == []


def save_a_patients_turn(store: TrackerStore) -> str:
    """Store one turn with the patient's number and e-mail; the message as typed."""
    said = "what is IMS? my number is 780-555-0100, e-mail pat@example.com"
    tracker = DialogueStateTracker.from_events("patient", [
        ActionExecuted("action_listen"),
        UserUttered(said, parse_data={"text": said, "intent": {"name": "faq"}}),
        BotUttered("Please call us: (780) 761-3777"),
    ])
    asyncio.run(store.save(tracker))
    assert tracker.latest_message.text == said  # the turn itself keeps the original
    return said


def assert_masked(stored: str) -> None:
    """No identifier of the patient's in the stored rows; the clinic's number stays."""
    assert "780-555-0100" not in stored and "pat@example.com" not in stored
    assert stored.count("[phone]") == 2 and "[email]" in stored  # text and parse data
    assert "(780) 761-3777" in stored


def test_endpoints_yml_stores_with_masking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store `make run` uses (SQLite): read back from the file itself."""
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("ACTION_PORT", "5055")
    store = TrackerStore.create(
        read_endpoint_config(str(PROJECT / "endpoints.yml"), "tracker_store"), Domain.empty()
    )
    assert isinstance(store, MaskingSQLTrackerStore)
    save_a_patients_turn(store)
    store.engine.dispose()
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        assert_masked(" ".join(row[0] for row in db.execute("select data from events")))


def test_postgresql_stores_with_masking_too(tmp_path: Path, postgres: Postgres) -> None:
    """The same store on PostgreSQL (production, SECURITY.md): read back with SQL."""
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(postgres.endpoint("stores.masking_tracker_store.MaskingSQLTrackerStore"))
    store = TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"), Domain.empty())
    assert isinstance(store, MaskingSQLTrackerStore) and store.engine.dialect.name == "postgresql"
    save_a_patients_turn(store)
    with store.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("select data from events")).fetchall()
    store.engine.dispose()
    assert_masked(" ".join(row[0] for row in rows))


# --- a tracker is read with the session's recent events only (flat cost per message) ---


def sqlite_store(tmp_path: Path, recent_events: int | None) -> MaskingSQLTrackerStore:
    """The store on a fresh SQLite file, reading `recent_events` events (None: all)."""
    domain = Domain.from_yaml("version: '3.1'\nslots:\n  language:\n    type: text\n    mappings: []\n")
    return MaskingSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"),
                                  recent_events=recent_events)


def stored_events(store: MaskingSQLTrackerStore) -> list[str]:
    """The `text`/`name` of every stored event, in order."""
    with store.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("select data from events order by id")).fetchall()
    events = [json.loads(row[0]) for row in rows]
    return [event.get("text") or event.get("name") or event["event"] for event in events]


def test_the_tracker_is_read_with_recent_events_and_earlier_slots(tmp_path: Path) -> None:
    """30 turns stored; read back: the last 12 events, the slot set in turn 1, and saving
    after reading stores exactly the new events, once, in order."""
    store = sqlite_store(tmp_path, recent_events=12)
    events = [ActionExecuted("action_listen"), SlotSet("language", "fr")]
    for n in range(30):
        events += [UserUttered(f"message {n}"), BotUttered(f"reply {n}"), ActionExecuted("action_listen")]
    asyncio.run(store.save(DialogueStateTracker.from_events("patient", events, store.domain.slots)))
    tracker = asyncio.run(store.retrieve("patient"))
    assert tracker is not None and len(tracker.events) == 12 + 1
    assert tracker.get_slot("language") == "fr"
    assert tracker.latest_message.text == "message 29"
    tracker.update(UserUttered("message 30"))
    asyncio.run(store.save(tracker))
    tracker.update(BotUttered("reply 30"))
    asyncio.run(store.save(tracker))
    said = stored_events(store)
    assert said.count("message 30") == 1 and said.count("reply 30") == 1
    assert said[-2:] == ["message 30", "reply 30"] and len(said) == len(events) + 2


def test_whole_sessions_can_still_be_read(tmp_path: Path) -> None:
    """`recent_events: null` in endpoints.yml: Rasa's own reading, every event."""
    store = sqlite_store(tmp_path, recent_events=None)
    events = [ActionExecuted("action_listen")] + [UserUttered(f"m{n}") for n in range(50)]
    asyncio.run(store.save(DialogueStateTracker.from_events("patient", events)))
    assert len(asyncio.run(store.retrieve("patient")).events) == 51


def test_a_long_conversation_gets_the_same_replies_read_either_way(tmp_path: Path) -> None:
    """Every conversation of the development set, one after another in one conversation
    (143 messages), through the model and the action server: the same replies, turn by
    turn, whether the tracker is read with its recent events or whole."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from bench.devset import free_port, load_conversations, start_action_server

    texts = [turn.text for c in load_conversations() for turn in c["turns"]]
    port = free_port()
    server = start_action_server(port)
    try:
        replies = []
        for name, recent in (("recent", RECENT_EVENTS), ("whole", None)):
            (tmp_path / name).mkdir()
            agent = Agent.load(str(MODEL), tracker_store=sqlite_store(tmp_path / name, recent),
                               action_endpoint=EndpointConfig(f"http://127.0.0.1:{port}/webhook"))

            async def talk(agent: Agent = agent) -> list[str]:
                return [" | ".join(r.get("text", "") for r in await agent.handle_text(t, sender_id="p"))
                        for t in texts]

            replies.append(asyncio.run(talk()))
    finally:
        server.kill()
        server.wait()
    assert len(texts) > 100
    assert replies[0] == replies[1]
