"""`make run` serves with several Rasa worker processes (.env.example: SANIC_WORKERS).

They share the conversations through the SQLite tracker store and lock store
(endpoints.yml, stores/), so every message of a conversation is answered in order,
whichever worker takes it. Real servers on free loopback ports.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import sqlite3
import threading
import time
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


def accepted_by(stack: Stack, client_port: int, pids: List[int], timeout: float = 30) -> int:
    """The worker holding the server end of the loopback connection from `client_port`."""
    ends = (f":{stack.rasa_port:04X} ", f":{client_port:04X} ")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if (fields[1] + " ").endswith(ends[0]) and (fields[2] + " ").endswith(ends[1]):
                    owner = socket_owner(fields[9], pids)
                    if owner:
                        return owner
        time.sleep(0.01)
    raise AssertionError(f"no worker accepted the connection from port {client_port}")


def socket_owner(inode: str, pids: List[int]) -> int:
    """The process among `pids` with the socket `inode` open; 0 if none (not accepted yet)."""
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return 0


def send_attributed(stack: Stack, sender: str, text: str, pids: List[int]) -> int:
    """Send one message on a new connection; the worker that took it.

    The request's headers go first and its body only once the accepting worker is
    found, so the worker cannot answer before it is seen."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", stack.rasa_port, timeout=120)
    try:
        connection.putrequest("POST", "/webhooks/rest/webhook")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        worker = accepted_by(stack, connection.sock.getsockname()[1], pids)
        connection.send(body)
        reply = connection.getresponse()
        assert reply.status == 200, reply.status
        reply.read()
    finally:
        connection.close()
    return worker


def test_one_conversation_stays_in_order_across_workers(stack: Stack) -> None:
    """Each message is a new connection that either worker may take. While other
    patients keep the workers busy, one patient writes until each worker has taken at
    least two of its messages; the conversation holds every message in order."""
    sender, pids, said_to = "one-by-one", workers(stack), []
    answered_by: List[int] = []
    busy = threading.Event()

    def other_patients(n: int) -> None:
        while not busy.is_set():
            stack.send(f"other-{n}", "What causes trigger points?", timeout=120)

    with ThreadPoolExecutor(max_workers=3) as pool:
        load = [pool.submit(other_patients, n) for n in range(3)]
        try:
            for text in itertools.islice(itertools.cycle(TURNS), 120):
                answered_by.append(send_attributed(stack, sender, text, pids))
                said_to.append(text)
                if all(answered_by.count(pid) >= 2 for pid in pids) and len(said_to) >= len(TURNS):
                    break
        finally:
            busy.set()
        for job in load:
            job.result()
    assert all(answered_by.count(pid) >= 2 for pid in pids), answered_by
    with sqlite3.connect(Path(stack.env["TRACKER_DB"])) as db:
        said = [row[0] for row in db.execute(
            "select json_extract(data, '$.text') from events "
            "where sender_id = ? and type_name = 'user' order by id", (sender,))]
    assert said == said_to


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
