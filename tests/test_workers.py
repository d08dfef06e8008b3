"""`make run` serves with several Rasa worker processes (.env.example: SANIC_WORKERS).

They share the conversations through the SQLite tracker store and lock store
(endpoints.yml, stores/), so every message of a conversation is answered in order,
whichever worker takes it. Real servers on free loopback ports.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from bench.servers import Stack, children, cmdline, running_stack, serving_settings
from bench.soak import complete_conversations

TURNS = ["hi", "What is dry needling?", "Does my insurance cover it?",
         "Can I go to the gym after dry needling?", "thanks", "bye"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The assistant with the serving settings of .env.example."""
    with running_stack(tmp_path_factory.mktemp("workers"), serving_settings()) as running:
        yield running


def workers(stack: Stack) -> List[int]:
    """The worker processes of the Rasa server."""
    return [pid for pid in children(stack.processes[1].pid) if "rasa run" in cmdline(pid)]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def converse(stack: Stack, sender: str) -> List[str]:
    """One patient's conversation; the first reply text of each turn."""
    return [stack.send(sender, text, timeout=120)[0]["text"] for text in TURNS]


def test_the_server_runs_the_configured_number_of_workers(stack: Stack) -> None:
    expected = int(serving_settings()["SANIC_WORKERS"])
    assert expected >= 2
    assert len(workers(stack)) == expected


def test_concurrent_conversations_are_spread_answered_and_kept(stack: Stack) -> None:
    """16 patients at once: all answered, each conversation whole, every worker worked."""
    pids = workers(stack)
    before = {pid: cpu_seconds(pid) for pid in pids}
    senders = [f"patient-{n}" for n in range(16)]
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        replies: Dict[str, List[str]] = dict(zip(senders, pool.map(lambda s: converse(stack, s), senders),
                                                 strict=True))
    used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
    for sender, texts in replies.items():
        assert "dry needling" in texts[1].lower(), sender
        assert "(780) 761-3777" in texts[2], sender  # the phone hand-off
    db = Path(stack.env["TRACKER_DB"])
    assert complete_conversations(db, {s: len(TURNS) for s in senders}) == len(senders)
    total = sum(used.values())
    assert all(seconds > 0.1 * total for seconds in used.values()), used


def test_one_conversation_stays_in_order_across_workers(stack: Stack) -> None:
    """Each message is a new connection that either worker may take: the worker that
    answered each one (the one whose CPU time went up most) is recorded, both answered
    some, and the conversation holds every message in order."""
    sender = "one-by-one"
    turns = TURNS * 3
    pids = workers(stack)
    answered_by = []
    for text in turns:
        before = {pid: cpu_seconds(pid) for pid in pids}
        stack.send(sender, text, timeout=120)
        answered_by.append(max(pids, key=lambda pid: cpu_seconds(pid) - before[pid]))
    assert set(answered_by) == set(pids), answered_by
    with sqlite3.connect(Path(stack.env["TRACKER_DB"])) as db:
        said = [row[0] for row in db.execute(
            "select json_extract(data, '$.text') from events "
            "where sender_id = ? and type_name = 'user' order by id", (sender,))]
    assert said == turns


def test_socketio_takes_websockets_only(stack: Stack) -> None:
    """A long-polling session would live in one worker only: polling gets 400."""
    url = f"http://127.0.0.1:{stack.rasa_port}/socket.io/?EIO=4&transport=polling"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)
    assert refused.value.code == 400


def test_rest_replies_close_their_connection(stack: Stack) -> None:
    """The next request is then taken by whichever worker is free."""
    request = urllib.request.Request(
        stack.webhook, data=b'{"sender": "closer", "message": "hi"}',
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert reply.status == 200 and reply.headers["Connection"] == "close"
