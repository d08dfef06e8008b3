"""The assistant as patients reach it: the REST channel of a real server."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from bench.servers import Stack, running_stack
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Action server and Rasa server on free ports, with their own tracker database."""
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def texts(replies: list) -> str:
    """All reply texts of one turn, joined."""
    return "\n".join(r.get("text", "") for r in replies)


def test_gym_question_gets_the_exercise_answer(stack: Stack) -> None:
    """The acceptance example: the exercise_after answer, then 'anything else?'."""
    replies = stack.send("patient-gym", "Can I go to the gym after dry needling?")
    assert "avoid high-impact or strenuous activities" in texts(replies)
    assert "anything else" in replies[-1]["text"]


def test_insurance_question_gets_the_phone_handoff(stack: Stack) -> None:
    """The page says nothing about insurance: hand off with the phone number and tel: link."""
    replies = stack.send("patient-insurance", "Does my insurance cover it?")
    text = texts(replies)
    assert "can't answer that here" in text
    assert "(780) 761-3777" in text and "tel:+17807613777" in text
    assert replies[0]["buttons"][0]["payload"] == "tel:+17807613777"


def test_hi_gets_the_greeting_with_suggested_questions(stack: Stack) -> None:
    """A one-line intro and suggested questions as buttons."""
    [reply] = stack.send("patient-hi", "hi")
    assert "dry needling" in reply["text"]
    titles = [b["title"] for b in reply["buttons"]]
    assert "What is dry needling?" in titles and len(titles) >= 3


def test_emergency_gets_911_first(stack: Stack) -> None:
    """An emergency is answered with 911 / emergency department, nothing else."""
    [reply] = stack.send("patient-emergency", "help, my chest hurts and I can't breathe after needling")
    assert "911" in reply["text"]


def test_anything_else_never_loops(stack: Stack) -> None:
    """'No' to 'anything else?' says goodbye; a second 'no' does not ask again."""
    stack.send("patient-loop", "what is a trigger point")
    assert "Goodbye" in texts(stack.send("patient-loop", "no"))
    assert "anything else" not in texts(stack.send("patient-loop", "no")).lower()


def test_conversations_are_kept_in_sqlite(stack: Stack) -> None:
    """The tracker store is the SQLite file from TRACKER_DB."""
    stack.send("patient-stored", "what is IMS?")
    with sqlite3.connect(Path(stack.env["TRACKER_DB"])) as db:
        rows = db.execute(
            "select count(*) from events where sender_id = ? and type_name = 'user'",
            ("patient-stored",),
        ).fetchone()
    assert rows[0] == 1



def test_a_patient_who_gives_their_number_gets_the_same_answer_then_is_forgotten(stack: Stack) -> None:
    """As a patient would: a question with their phone number gets the answer it gets
    without; the store holds `[phone]`, never the number (the clinic's number stays); and
    `make forget` removes the conversation."""
    plain = texts(stack.send("patient-plain", "What is a trigger point?"))
    given = texts(stack.send("patient-number", "What is a trigger point? Call me back at 780-555-0199"))
    assert given == plain and "knot" in given
    handoff = texts(stack.send("patient-number", "How much does it cost? my cell is 780-555-0199"))
    assert "761-3777" in handoff
    db_path = Path(stack.env["TRACKER_DB"])

    def stored(sender: str) -> str:
        with sqlite3.connect(db_path) as db:
            return " ".join(row[0] for row in db.execute(
                "select data from events where sender_id = ?", (sender,)))

    assert "555-0199" not in stored("patient-number") and "[phone]" in stored("patient-number")
    assert "761-3777" in stored("patient-number")
    forget = subprocess.run(
        ["make", "--no-print-directory", "forget", "SENDER=patient-number"], cwd=PROJECT,
        env={**os.environ, "TRACKER_DB": str(db_path)}, capture_output=True, text=True, timeout=300,
    )
    assert forget.returncode == 0, forget.stderr
    assert "events of conversation 'patient-number'" in forget.stdout
    assert stored("patient-number") == "" and stored("patient-plain") != ""
