"""`make cluster` as scripts/cluster.sh starts it: PostgreSQL, Redis, two Rasa servers, the
action and page servers, and nginx in front, all real, on free loopback ports.

Load goes through nginx while one Rasa server is killed with SIGKILL half-way (issue 16):
at least 97% of messages are answered and every conversation's last one; no conversation
loses or reorders events in PostgreSQL; the killed server is back within 90 s. Also: the
same answers as the model gives in-process, one conversation on one server, socket.io
through nginx, a new model rolled out to both servers while patients keep getting
answers, and `make cluster-stop` / `cluster-clean` leaving nothing behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import sqlalchemy

from bench.devset import Assistant, Turn, load_conversations, outcomes, start_action_server
from bench.servers import children, cmdline, free_port, reply_texts
from retrain.server import cluster_urls, reload_model
from tests.conftest import MODEL, PROJECT, eventually
from tests.socketio_ws import conversation

START_SECONDS = 420
BACK_SECONDS = 90  # issue 16: the killed instance is back within 90 s
ANSWERED = 0.97
RESULTS = PROJECT / "build" / "test-cluster.json"
PATIENTS, MESSAGES = 16, 30
QUESTIONS = [
    "what is dry needling", "how is it different from acupuncture", "what is a trigger point",
    "what causes trigger points", "how does dry needling work", "when is dry needling used",
    "how does it fit into my rehab", "should I exercise after dry needling", "hello there",
    "thanks, that helps", "what are those knots in my muscles", "is IMS the same thing",
]


@dataclass
class Cluster:
    """A running `make cluster` of the test's own (its settings in `env`)."""

    env: Dict[str, str]
    folder: Path
    killed: List[int] = field(default_factory=list)

    @property
    def port(self) -> int:
        """nginx, where `make run`'s Rasa server would be."""
        return int(self.env["RASA_PORT"])

    @property
    def instance_ports(self) -> List[int]:
        """The Rasa servers behind nginx."""
        return [int(port) for port in self.env["CLUSTER_RASA_PORTS"].split()]

    def script(self, *args: str, timeout: float = START_SECONDS) -> subprocess.CompletedProcess:
        """scripts/cluster.sh with this cluster's settings."""
        return subprocess.run(["bash", "scripts/cluster.sh", *args], cwd=PROJECT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def supervisor(self) -> int:
        """supervisord's PID."""
        return int((self.folder / "run" / "supervisord.pid").read_text())

    def rasa_main(self, port: int) -> Optional[int]:
        """The Rasa server on `port` that supervisord started (not its helper processes)."""
        for pid in children(self.supervisor()):
            line = cmdline(pid)
            if "rasa run" in line and f"--port {port} " in line and pid not in self.killed:
                return pid
        return None

    def post(self, sender: str, text: str, port: Optional[int] = None,
             timeout: float = 60) -> Tuple[int, List[Dict[str, Any]], str]:
        """POST to the REST channel (through nginx by default): status, replies, who served."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{port or self.port}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read()), response.headers.get("X-Served-By", "")
        except urllib.error.HTTPError as error:
            return error.code, [], error.headers.get("X-Served-By", "")
        except OSError:
            return 0, [], ""

    def ready(self, port: int) -> bool:
        """GET /webhooks/rest/ready on `port` answers 200."""
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/webhooks/rest/ready", timeout=5) as response:
            return response.status == 200

    def database(self) -> sqlalchemy.engine.Engine:
        """The cluster's PostgreSQL database of conversations."""
        return sqlalchemy.create_engine(
            f"postgresql://rasa:{self.env['CLUSTER_PG_PASSWORD']}@127.0.0.1:{self.env['CLUSTER_PG_PORT']}/rasa"
        )

    def user_texts(self, senders: List[str]) -> Dict[str, List[str]]:
        """Each conversation's user messages as stored, in the store's order; also checks
        that timestamps never go backwards."""
        found: Dict[str, List[str]] = {sender: [] for sender in senders}
        last: Dict[str, float] = {}
        query = sqlalchemy.text("SELECT sender_id, type_name, timestamp, data FROM events "
                                "WHERE sender_id = ANY(:senders) ORDER BY id")
        with self.database().connect() as connection:
            for sender, kind, stamp, data in connection.execute(query, {"senders": senders}):
                assert stamp >= last.get(sender, 0), f"{sender}: events out of order"
                last[sender] = stamp
                if kind == "user":
                    found[sender].append(json.loads(data)["text"])
        return found


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """`scripts/cluster.sh start` on free ports, in a folder of the test's own; stopped and
    removed afterwards (`cluster.sh clean`)."""
    folder = Path(tempfile.mkdtemp(prefix="cluster-"))
    folder.chmod(0o755)  # PostgreSQL's own user keeps its files inside
    ports = [free_port() for _ in range(7)]
    env = {
        **os.environ,
        "RASA_PORT": str(ports[0]), "CLUSTER_RASA_PORTS": f"{ports[1]} {ports[2]}",
        "CLUSTER_PG_PORT": str(ports[3]), "CLUSTER_REDIS_PORT": str(ports[4]),
        "ACTION_PORT": str(ports[5]), "WEB_PORT": str(ports[6]),
        "CORS_ORIGINS": f"http://localhost:{ports[6]}", "CLUSTER_DIR": str(folder),
        "CLUSTER_PG_PASSWORD": secrets.token_hex(8), "CLUSTER_REDIS_PASSWORD": secrets.token_hex(8),
        "RASA_API_TOKEN": secrets.token_hex(8),
    }
    running = Cluster(env, folder)
    try:
        started = running.script("start")
        assert started.returncode == 0, started.stdout + started.stderr + logs(folder)
        assert "ready" in started.stdout
        yield running
    finally:
        running.script("clean", timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def logs(folder: Path) -> str:
    """The end of each log of the cluster, for a failure's message."""
    return "".join(f"\n--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                   for log in sorted((folder / "logs").glob("*.log")))


def test_it_answers_as_the_model_does_in_process(cluster: Cluster) -> None:
    """The development set's conversations through nginx get what the same model gives
    in-process (bench/devset.py's outcomes: which answer, hand-off, 911, language)."""
    chats = load_conversations()[:20]
    served = []
    for number, chat in enumerate(chats):
        sender = f"same-{number}"
        for turn in chat["turns"]:
            status, replies, _ = cluster.post(sender, turn.text)
            assert status == 200 and replies, (turn.text, status)
        served.append(sender)
    in_cluster = []
    with cluster.database().connect() as connection:
        for sender in served:
            rows = connection.execute(sqlalchemy.text(
                "SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender})
            turns: List[List[str]] = []
            for kind, data in rows:
                if kind == "user":
                    turns.append([])
                elif kind == "bot" and turns:
                    turns[-1].append((json.loads(data).get("metadata") or {}).get("utter_action", ""))
            in_cluster.append([outcomes(actions) for actions in turns])
    in_process = talk_in_process([[turn.text for turn in chat["turns"]] for chat in chats])
    assert in_cluster == in_process


def talk_in_process(chats: List[List[str]]) -> List[List[List[str]]]:
    """Each conversation's outcomes from the trained model in this process (as bench-dev)."""
    cwd = os.getcwd()
    os.chdir(PROJECT)
    action_port = free_port()
    server = start_action_server(action_port)
    try:
        assistant = Assistant(MODEL, action_port)
        results = []
        for texts in chats:
            sender = assistant.new_conversation()
            turns = [Turn(text, []) for text in texts]

            async def run(turns: List[Turn] = turns, sender: str = sender) -> None:
                for turn in turns:
                    await assistant.say(sender, turn)

            asyncio.run(run())
            results.append([turn.got for turn in turns])
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.chdir(cwd)


def test_one_conversation_stays_on_one_server_and_others_spread(cluster: Cluster) -> None:
    """nginx picks the server by the conversation id: always the same one for a conversation,
    and both servers get conversations."""
    used = set()
    for number in range(12):
        served = {cluster.post(f"route-{number}", text)[2] for text in QUESTIONS[:4]}
        assert len(served) == 1, served
        used |= served
    assert used == {f"127.0.0.1:{port}" for port in cluster.instance_ports}


def test_socketio_through_nginx(cluster: Cluster) -> None:
    """The widget's channel: a WebSocket conversation through nginx is answered."""
    origin = f"http://localhost:{cluster.env['WEB_PORT']}"
    turns = asyncio.run(conversation(cluster.port, origin, ["what is a trigger point"], "socket-1"))
    assert "trigger point" in reply_texts(turns[0]).lower()


def test_only_the_channels_are_forwarded(cluster: Cluster) -> None:
    """Readiness and the channels pass; the Rasa servers' HTTP API does not."""
    assert cluster.ready(cluster.port)
    token = cluster.env["RASA_API_TOKEN"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{cluster.port}/status?token={token}", timeout=5)
    assert refused.value.code == 404


def test_load_with_a_rasa_server_killed_half_way(cluster: Cluster) -> None:
    """16 patients, 30 messages each, through nginx; one Rasa server gets SIGKILL when half
    the messages are sent."""
    senders = [f"load-{number}-{secrets.token_hex(3)}" for number in range(PATIENTS)]
    sent: Dict[str, List[Tuple[str, bool]]] = {sender: [] for sender in senders}
    waits: List[float] = []
    half = threading.Event()
    count = [0]
    lock = threading.Lock()

    def patient(number: int) -> None:
        sender = senders[number]
        for index in range(MESSAGES):
            text = QUESTIONS[(number + index) % len(QUESTIONS)]
            asked = time.monotonic()
            status, replies, _ = cluster.post(sender, text)
            waits.append(time.monotonic() - asked)
            sent[sender].append((text, status == 200 and bool(reply_texts(replies).strip())))
            with lock:
                count[0] += 1
                if count[0] >= PATIENTS * MESSAGES // 2:
                    half.set()

    victim_port = cluster.instance_ports[0]
    victim = cluster.rasa_main(victim_port)
    assert victim, "the first Rasa server is not running"
    with ThreadPoolExecutor(PATIENTS) as pool:
        futures = [pool.submit(patient, number) for number in range(PATIENTS)]
        assert half.wait(300), "half the messages were not sent within 300 s"
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        cluster.killed.append(victim)
        for future in futures:
            future.result()

    eventually(lambda: cluster.ready(victim_port), max(1.0, BACK_SECONDS - (time.monotonic() - killed_at)))
    back = time.monotonic() - killed_at
    answers = [ok for messages in sent.values() for _, ok in messages]
    record({"patients": PATIENTS, "messages": len(answers), "answered": sum(answers),
            "answered_share": round(sum(answers) / len(answers), 4),
            "last_messages_answered": sum(messages[-1][1] for messages in sent.values()),
            "longest_wait_s": round(max(waits), 1), "killed_server_ready_after_s": round(back, 1)})
    assert len(answers) == PATIENTS * MESSAGES
    assert sum(answers) / len(answers) >= ANSWERED, f"{sum(answers)} of {len(answers)} answered"
    assert all(messages[-1][1] for messages in sent.values()), "a conversation's last message got no answer"
    assert cluster.rasa_main(victim_port), "supervisord did not start the killed server again"

    stored = cluster.user_texts(senders)
    for sender, messages in sent.items():
        assert_stored_in_order(messages, stored[sender])


def record(figures: Dict[str, Any]) -> None:
    """Write the load test's figures where `make test-cluster` prints them from."""
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"measured": time.strftime("%Y-%m-%d %H:%M"), **figures}, indent=1) + "\n")


def assert_stored_in_order(messages: List[Tuple[str, bool]], stored: List[str]) -> None:
    """Every answered message is stored, once, in the order sent; a message that got no
    answer may be stored or not (its server may have died before or after saving)."""
    position = 0
    for text, answered in messages:
        if position < len(stored) and stored[position] == text:
            position += 1
        else:
            assert not answered, f"{text!r} was answered but is not stored in its place: {messages} {stored}"
    assert position == len(stored), f"stored events beyond or out of what was sent: {stored[position:]}"


def test_stored_order_check_catches_lost_and_reordered_events() -> None:
    """The check above fails on a lost, a duplicated and a reordered message."""
    sent = [("a", True), ("b", False), ("c", True)]
    assert_stored_in_order(sent, ["a", "c"])
    assert_stored_in_order(sent, ["a", "b", "c"])
    for broken in (["a"], ["a", "c", "c"], ["c", "a"]):
        with pytest.raises(AssertionError):
            assert_stored_in_order(sent, broken)


def test_a_new_model_reaches_both_servers_while_patients_are_answered(
        cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make retrain`'s step for the cluster (PUT /model on each server in turn): both end
    up with it, and a patient chatting meanwhile gets every answer."""
    tmp_path.chmod(0o755)
    rolled = tmp_path / "dry-needling-rollout.tar.gz"
    shutil.copy(MODEL, rolled)
    stop = threading.Event()
    results: List[bool] = []

    def chat() -> None:
        while not stop.is_set():
            status, replies, _ = cluster.post(f"rollout-{len(results)}", QUESTIONS[len(results) % 8])
            results.append(status == 200 and bool(replies))

    talker = threading.Thread(target=chat)
    talker.start()
    try:
        monkeypatch.setenv("CLUSTER_RASA_PORTS", cluster.env["CLUSTER_RASA_PORTS"])
        urls = cluster_urls()
        assert len(urls) == 2
        for url in urls:
            reload_model(url, cluster.env["RASA_API_TOKEN"], rolled, workers=1)
    finally:
        stop.set()
        talker.join(timeout=120)
    assert results and all(results), f"{results.count(False)} of {len(results)} unanswered"
    token = cluster.env["RASA_API_TOKEN"]
    for port in cluster.instance_ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status?token={token}", timeout=10) as response:
            assert json.loads(response.read())["model_file"] == rolled.name


def test_stop_leaves_nothing_running_and_clean_removes_the_data(cluster: Cluster) -> None:
    """`cluster.sh stop`: every process gone, every port closed; start again; `clean`: gone."""
    assert cluster.post("before-stop", "what is a trigger point")[0] == 200
    processes = [cluster.supervisor(), *children(cluster.supervisor())]
    stopped = cluster.script("stop", timeout=120)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    assert not [pid for pid in processes if cmdline(pid)]
    assert cluster.post("after-stop", "hi", timeout=5)[0] == 0
    assert cluster.script("status").returncode == 3
    restarted = cluster.script("start")
    assert restarted.returncode == 0, restarted.stderr + logs(cluster.folder)
    assert cluster.post("before-stop", "thanks, that helps")[0] == 200
    stored = cluster.user_texts(["before-stop"])["before-stop"]
    assert stored == ["what is a trigger point", "thanks, that helps"]
    cleaned = cluster.script("clean", timeout=120)
    assert cleaned.returncode == 0 and not cluster.folder.exists(), cleaned.stderr
