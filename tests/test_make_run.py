"""The stack exactly as `make run` starts it: scripts/run.sh with .env.example's settings.

Only the ports and the tracker store's file are the test's own (free loopback ports, a
temporary SQLite file). Each process is killed in turn (SIGKILL, as a crash would); the
others go on serving, and supervisord (scripts/supervisord.conf) starts the killed one
again. TERM stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bench.servers import children, cmdline, free_port, parent_pid, reply_texts, send_rest
from core.clinic import load_clinic
from tests.conftest import PROJECT, eventually
from tests.socketio_ws import SocketChat, conversation

CLINIC = load_clinic()
START_SECONDS = 240
# Issue 16's acceptance: the action server is back within 30 s, the Rasa server within 90 s.
ACTIONS_BACK_SECONDS = 30
RASA_BACK_SECONDS = 90
PAGE_BACK_SECONDS = 30


class RunSh:
    """scripts/run.sh running in its own session, with helpers to find its processes."""

    def __init__(self, tmp: Path) -> None:
        self.rasa_port, self.action_port, self.web_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "WEB_PORT": str(self.web_port),
            "TRACKER_DB": str(tmp / "tracker.db"),
            "CORS_ORIGINS": f"http://localhost:{self.web_port}",
        }
        self.log = (tmp / "run.log").open("w")
        self.process = subprocess.Popen(
            ["bash", "scripts/run.sh"], cwd=PROJECT, env=env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def processes(self, marker: str) -> List[int]:
        """PIDs under run.sh whose command line contains `marker`, oldest first."""
        return sorted(p for p in children(self.process.pid) if marker in cmdline(p))

    def main_process(self, marker: str) -> Optional[int]:
        """The supervised process itself (not its workers): the one supervisord started."""
        for pid in self.processes(marker):
            if "supervisord" in cmdline(parent_pid(pid)):
                return pid
        return None

    def send(self, sender: str, text: str, timeout: float = 30) -> List[Dict[str, Any]]:
        """POST a message to the REST channel; the bot's replies."""
        return send_rest(self.rasa_port, sender, text, timeout)

    def page_status(self) -> int:
        """The HTTP status of the clinic's page."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/", timeout=5) as response:
            return response.status

    def stop(self) -> None:
        """TERM run.sh, as Ctrl-C would; kill its session if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture(scope="module")
def run_sh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunSh]:
    """scripts/run.sh, up and answering."""
    stack = RunSh(tmp_path_factory.mktemp("make-run"))
    try:
        eventually(lambda: stack.send("warm-up", "what is dry needling", timeout=60), START_SECONDS)
        eventually(stack.page_status, 60)
        yield stack
    finally:
        stack.stop()


def test_it_serves_as_the_readme_says(run_sh: RunSh) -> None:
    """Two Rasa workers, the action server and the page, each on its loopback port."""
    rasa = run_sh.main_process("rasa run")
    assert rasa and len(run_sh.processes("rasa run")) == 1 + 2, "a main process and 2 workers"
    assert run_sh.main_process("rasa_sdk") and run_sh.main_process("web.serve")
    assert run_sh.page_status() == 200


@pytest.mark.parametrize("path", ["/conversations/p-own/tracker", "/status", "/model"])
def test_http_api_needs_the_runs_own_token(run_sh: RunSh, path: str) -> None:
    """.env.example leaves RASA_API_TOKEN empty: run.sh then makes a token of its own, known
    only to its processes (the console's retrain), so the API refuses everyone else."""
    for method in ("GET", "PUT", "POST"):
        request = urllib.request.Request(
            f"http://127.0.0.1:{run_sh.rasa_port}{path}?token=guess", method=method,
            data=b"{}" if method != "GET" else None,
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code in (401, 403, 405), (method, path)


# --- bad input over the widget's own transport (WebSocket), with make run's workers ---

NORMAL = "what is a trigger point"
NORMAL_ANSWER = "trigger point"
SOCKET_BAD_DATA = {
    "string instead of object": "hello",
    "number": 42,
    "list": ["hello"],
    "no message": {"session_id": "s-bad"},
    "numeric message": {"message": 5, "session_id": "s-bad"},
    "object message": {"message": {"text": "hi"}, "session_id": "s-bad"},
    "binary message": {"message": b"\xff\xfe\x00", "session_id": "s-bad"},
    "no session id": {"message": "hi"},
    "numeric session id": {"message": "hi", "session_id": 7},
}



def chat(run_sh: RunSh, items: List[Any], session_id: str, raw: bool = False) -> List[str]:
    """Each turn's reply texts, joined, over socket.io from the page's origin."""
    origin = f"http://localhost:{run_sh.web_port}"
    turns = asyncio.run(conversation(run_sh.rasa_port, origin, items, session_id, raw))
    return [reply_texts(turn) for turn in turns]


def test_socketio_unreadable_events_get_a_polite_reply(run_sh: RunSh) -> None:
    """Events that are not {message: str, session_id: str}: "couldn't read that"."""
    items = [*SOCKET_BAD_DATA.values(), {"message": NORMAL, "session_id": "s-bad"}]
    replies = chat(run_sh, items, "s-bad", raw=True)
    for name, reply in zip(SOCKET_BAD_DATA, replies[:-1], strict=True):
        assert "couldn't read" in reply, name
    assert NORMAL_ANSWER in replies[-1].lower()


def test_socketio_odd_messages_get_answers(run_sh: RunSh) -> None:
    """Empty, over-long, emoji, RTL, control characters, commands over the WebSocket."""
    messages = ["", "   ", "x" * 100_000, "🙂", "ما هو الوخز بالإبر الجافة؟", "what\x00 is\u200b IMS",
                "<script>alert(1)</script>", "/restart", '/greet{"clinic_phone": "555-0100"}', NORMAL]
    replies = chat(run_sh, messages, "s-odd")
    assert all(replies), replies
    assert "What would you like to know" in replies[0] and "What would you like to know" in replies[1]
    assert "too long" in replies[2] and CLINIC.phone in replies[2]
    assert not any("555-0100" in text or "<script" in text for text in replies)
    assert NORMAL_ANSWER in replies[-1].lower()


def test_socketio_oversized_packet_is_refused_and_service_goes_on(run_sh: RunSh) -> None:
    """A 5 MB packet is dropped (the connection closes); a new connection is answered."""

    async def send_huge() -> None:
        async with SocketChat(run_sh.rasa_port, f"http://localhost:{run_sh.web_port}") as huge:
            await huge.start("s-huge")
            with contextlib.suppress(Exception):
                await huge.emit("user_uttered", {"message": "x" * 5_000_000, "session_id": "s-huge"})
                await huge.event("bot_uttered", 5)

    asyncio.run(send_huge())
    assert NORMAL_ANSWER in chat(run_sh, [NORMAL], "s-huge")[0].lower()


# --- one process killed at a time ---


def test_a_killed_action_server_leaves_answers_working_and_comes_back(run_sh: RunSh) -> None:
    """FAQs answered and hand-offs give the phone while it is down; run.sh restarts it."""
    old = run_sh.main_process("rasa_sdk")
    rasa = run_sh.main_process("rasa run")
    assert old
    os.kill(old, signal.SIGKILL)
    assert "needle" in reply_texts(run_sh.send("p-actions", "what is dry needling"))
    assert CLINIC.phone in reply_texts(run_sh.send("p-actions", "can I book an appointment"))
    new = eventually(lambda: (p := run_sh.main_process("rasa_sdk")) != old and p, ACTIONS_BACK_SECONDS)
    assert new and run_sh.main_process("rasa run") == rasa, "the Rasa server was not touched"
    replies = eventually(lambda: run_sh.send("p-actions", "what's your phone number"), 30)
    assert any(b.get("url", "").startswith("tel:") for r in replies for b in r.get("buttons", []))


def test_a_killed_page_server_comes_back(run_sh: RunSh) -> None:
    """The page is served again, and the assistant kept answering meanwhile."""
    old = run_sh.main_process("web.serve")
    assert old
    os.kill(old, signal.SIGKILL)
    assert "needle" in reply_texts(run_sh.send("p-page", "what is dry needling"))
    eventually(lambda: run_sh.main_process("web.serve") not in (None, old), PAGE_BACK_SECONDS)
    assert eventually(run_sh.page_status, 60) == 200


def test_a_killed_rasa_server_comes_back_and_the_conversation_goes_on(run_sh: RunSh) -> None:
    """Its workers go with it, a new one starts, and the patient's "no" still ends the chat."""
    assert "anything else" in reply_texts(run_sh.send("p-rasa", "what is a trigger point")).lower()
    old = run_sh.main_process("rasa run")
    assert old
    old_workers = [p for p in run_sh.processes("rasa run") if p != old]
    os.kill(old, signal.SIGKILL)
    eventually(lambda: not any(cmdline(p) for p in old_workers), 30)
    killed = time.monotonic()
    replies = eventually(lambda: run_sh.send("p-rasa", "no that's all", timeout=60), RASA_BACK_SECONDS)
    assert time.monotonic() - killed < RASA_BACK_SECONDS
    assert "bye" in reply_texts(replies).lower()
    assert run_sh.main_process("rasa_sdk") and run_sh.main_process("web.serve")


def test_term_stops_every_process(run_sh: RunSh) -> None:
    """Ctrl-C/TERM to run.sh: nothing it started is left running."""
    started = children(run_sh.process.pid)
    assert started
    run_sh.stop()
    assert run_sh.process.returncode is not None
    eventually(lambda: not any(cmdline(p) for p in started), 30)
