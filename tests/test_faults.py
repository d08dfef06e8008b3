"""Faults, against the real servers: the action server down and back, the Rasa server
killed mid-conversation, a missing or corrupt model; and the token-guarded HTTP API.

The servers are started one by one here (bench/servers.py, with `rasa run`'s API behind a
token); tests/test_make_run.py kills the processes of the stack as `make run` starts it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from bench.servers import BIN, Stack, free_port, reply_texts, running_stack
from core.clinic import load_clinic
from tests.conftest import MODEL, PROJECT

CLINIC = load_clinic()
TOKEN = "test-token-not-a-secret"
REPLY_TIMEOUT = 10


def warm_up(stack: Stack) -> None:
    """A first message, so that TensorFlow's start-up is not counted against REPLY_TIMEOUT."""
    stack.send("p-warm-up", "hello", timeout=120)
    stack.send("p-warm-up", "what is dry needling", timeout=120)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Action server and Rasa server with the HTTP API behind a token."""
    args = ["--enable-api", "--auth-token", TOKEN, "--cors", "http://clinic.example"]
    env = {"REPLY_TIMEOUT_SECONDS": str(REPLY_TIMEOUT)}
    with running_stack(tmp_path_factory.mktemp("faults"), env, rasa_args=args) as running:
        warm_up(running)
        yield running


def api(stack: Stack, path: str, token: str | None = None, method: str = "GET") -> Any:
    """Call Rasa's HTTP API; the parsed answer (raises HTTPError on 4xx)."""
    query = f"?token={token}" if token is not None else ""
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.rasa_port}{path}{query}", method=method,
        data=b"{}" if method != "GET" else None, headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_action_server_down_every_message_still_answered_then_back(stack: Stack) -> None:
    """Down: FAQs answered, hand-offs still give the phone (safety net). Back up: the
    custom action answers again, without restarting the Rasa server."""
    contact = "How can I contact the clinic?"
    assert "You can reach" in reply_texts(stack.send("p-down", contact))  # action_handoff, contact

    stack.stop(0)
    try:
        for message in ("Does my insurance cover it?", contact, "I want to book an appointment"):
            replies = stack.send("p-down", message)
            assert CLINIC.phone in reply_texts(replies) and replies[-1]["buttons"][0]["url"] == CLINIC.tel_uri
        gym = stack.send("p-down", "Can I go to the gym after dry needling?")
        assert "avoid high-impact" in reply_texts(gym)
        assert "Hi!" in reply_texts(stack.send("p-down", "hello"))
    finally:
        stack.start(0)

    replies = stack.send("p-down", contact)
    assert "You can reach" in reply_texts(replies) and CLINIC.phone in reply_texts(replies)


def test_hung_action_server_the_patient_gets_the_phone_in_time(stack: Stack) -> None:
    """A frozen action server (SIGSTOP): Rasa would wait 5 minutes; the patient gets the
    hand-off after REPLY_TIMEOUT_SECONDS. Thawed, the actions answer again."""
    group = os.getpgid(stack.processes[0].pid)
    os.killpg(group, signal.SIGSTOP)
    try:
        started = time.monotonic()
        replies = stack.send("p-hung", "How can I contact the clinic?", timeout=120)
        waited = time.monotonic() - started
        assert CLINIC.phone in reply_texts(replies) and "You can reach" not in reply_texts(replies)
        assert REPLY_TIMEOUT - 1 < waited < REPLY_TIMEOUT + 20
    finally:
        os.killpg(group, signal.SIGCONT)
    assert "You can reach" in reply_texts(stack.send("p-thawed", "How can I contact the clinic?"))


def test_rasa_server_killed_mid_conversation_loses_nothing(stack: Stack) -> None:
    """SIGKILL between two messages, start again: the conversation goes on where it was
    (the "anything else?" state survives) and every event is in the tracker store."""
    sender = "p-crash"
    assert "anything else" in reply_texts(stack.send(sender, "what is a trigger point"))
    before = api(stack, f"/conversations/{sender}/tracker", TOKEN)["events"]

    stack.stop(1, signal.SIGKILL)
    stack.start(1)
    warm_up(stack)

    after = api(stack, f"/conversations/{sender}/tracker", TOKEN)["events"]
    assert after == before
    assert "Goodbye" in reply_texts(stack.send(sender, "no"))  # the answer to "anything else?"
    with sqlite3.connect(Path(stack.env["TRACKER_DB"])) as db:
        users = db.execute(
            "select count(*) from events where sender_id = ? and type_name = 'user'", (sender,)
        ).fetchone()[0]
    assert users == 2


def test_api_refuses_requests_without_the_token(stack: Stack) -> None:
    """Tracker access and model replacement need the token; with it the API works."""
    for path, method in (("/conversations/p-crash/tracker", "GET"), ("/model", "PUT"), ("/status", "GET")):
        for token in (None, "wrong-token"):
            with pytest.raises(urllib.error.HTTPError) as error:
                api(stack, path, token, method)
            assert error.value.code == 401, (path, token)
    assert api(stack, "/status", TOKEN)["model_file"]


def start_without_a_model(tmp_path: Path, model: Path) -> subprocess.Popen:
    """`rasa run` with `model`, as bench/servers.py starts it."""
    env_db = str(tmp_path / f"{model.name}.db")
    return subprocess.Popen(
        [str(BIN / "rasa"), "run", "--model", str(model), "--endpoints", "endpoints.yml",
         "--credentials", "credentials.yml", "--port", str(free_port()), "-i", "127.0.0.1"],
        cwd=PROJECT, env={**os.environ, "ACTION_PORT": "1", "TRACKER_DB": env_db},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def test_missing_or_corrupt_model_stops_the_server_with_a_clear_error(tmp_path: Path) -> None:
    """No half-working server: `rasa run` exits non-zero and says why."""
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(MODEL.read_bytes()[:200_000])  # a download cut short
    missing = tmp_path / "missing.tar.gz"
    processes = {model: start_without_a_model(tmp_path, model) for model in (corrupt, missing)}
    for model, process in processes.items():
        try:
            output, _ = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode != 0, output[-2000:]
        assert "Not serving" in output and "make train" in output, output[-2000:]
        if model == missing:
            assert f"the model {missing} does not exist" in output
