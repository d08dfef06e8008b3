"""Start the real action server and Rasa server on free loopback ports (tests, benchmarks)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, Sequence, Tuple

import yaml

from core.settings import MODEL_PATH as MODEL
from core.settings import PROJECT, load

BIN = Path(sys.executable).parent
# Chosen by each test itself: its own ports, files, allowed origins and clinic details.
PER_TEST_VARIABLES = {
    "RASA_PORT", "RASA_HOST", "ACTION_PORT", "WEB_PORT", "TRACKER_DB", "CORS_ORIGINS",
    "CLINIC_NAME", "CLINIC_PHONE", "CLINIC_ADDRESS",
}


def serving_settings() -> Dict[str, str]:
    """The settings scripts/run.sh serves with, for a shell with none set (.env.example,
    then .env), every variable but the per-test ones (workers, threads, limits, ...)."""
    values = load(PROJECT, environ={}).env()
    return {name: value for name, value in sorted(values.items()) if name not in PER_TEST_VARIABLES}


def endpoints_with(path: Path, tracker_store: Dict[str, Any]) -> Path:
    """Write the project's endpoints.yml to `path` with its tracker store's settings
    updated by `tracker_store` (the action server and lock store as they are)."""
    endpoints = yaml.safe_load((PROJECT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["tracker_store"].update(tracker_store)
    path.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> List[int]:
    """All descendants of `pid` (from /proc)."""
    parents: Dict[int, List[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def parent_pid(pid: int) -> int:
    """A process's parent (from /proc; 0 if it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def cmdline(pid: int) -> str:
    """A process's command line, or '' if it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory_kib(pid: int) -> Tuple[int, int]:
    """(RSS, PSS) of a process in KiB, from /proc/<pid>/smaps_rollup."""
    values = {"Rss:": 0, "Pss:": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in values:
            values[parts[0]] = int(parts[1])
    return values["Rss:"], values["Pss:"]


def action_server_command(port: int) -> List[str]:
    """The action server as scripts/run.sh starts it: rasa_sdk's own, without Rasa."""
    return [str(BIN / "python"), "-m", "rasa_sdk", "--port", str(port), "--actions", "actions"]


def wait_for(url: str, timeout: float, process: subprocess.Popen) -> None:
    """Poll `url` until it answers 200, failing early if `process` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def send_rest(rasa_port: int, sender: str, message: str, timeout: float = 30) -> List[Dict[str, Any]]:
    """POST a message to the REST channel on 127.0.0.1:`rasa_port`; the bot's replies."""
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def reply_texts(replies: List[Dict[str, Any]]) -> str:
    """All reply texts of one turn, one per line."""
    return "\n".join(reply.get("text", "") for reply in replies)


@dataclass
class Stack:
    """A running assistant: its REST webhook and the processes behind it.

    `processes[0]` is the action server, `processes[1]` the Rasa server; `commands` and
    `workdir` let a test stop one and start it again (:meth:`stop`, :meth:`start`).
    """

    rasa_port: int
    action_port: int
    env: Dict[str, str]
    processes: List[subprocess.Popen]
    commands: List[List[str]] = field(default_factory=list)
    workdir: Path | None = None

    @property
    def webhook(self) -> str:
        """The REST channel's URL."""
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def send(self, sender: str, message: str, timeout: float = 30) -> List[Dict[str, Any]]:
        """POST a message over the REST channel and return the bot's replies."""
        return send_rest(self.rasa_port, sender, message, timeout)

    def stop(self, index: int, sig: int = signal.SIGTERM) -> None:
        """Stop the action server (0) or the Rasa server (1) with `sig` (SIGKILL: a crash)."""
        process = self.processes[index]
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def start(self, index: int, timeout: float = 240) -> None:
        """Start the action server (0) or the Rasa server (1) again, on the same port."""
        assert self.workdir is not None and self.commands
        log_name = ("actions.log", "rasa.log")[index]
        with open(self.workdir / log_name, "a") as log:
            self.processes[index] = _start(self.commands[index], self.env, log, index)
        health = (
            f"http://127.0.0.1:{self.action_port}/health"
            if index == 0
            else f"http://127.0.0.1:{self.rasa_port}/"
        )
        wait_for(health, timeout, self.processes[index])


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process group we started: TERM, then KILL after `timeout` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _start(command: List[str], env: Dict[str, str], log: IO[str], index: int) -> subprocess.Popen:
    """Start one server; the action server (0) binds 127.0.0.1 only, as in scripts/run.sh."""
    if index == 0:
        env = {**env, "SANIC_HOST": "127.0.0.1"}
    return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


@contextlib.contextmanager
def running_stack(
    workdir: Path,
    extra_env: Dict[str, str] | None = None,
    model: Path = MODEL,
    rasa_args: Sequence[str] = (),
) -> Iterator[Stack]:
    """Run the action server and `rasa run` (REST) until the block ends.

    `rasa_args` are added to `rasa run`'s command line (e.g. `--cors`, `--enable-api`).
    """
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "ACTION_PORT": str(action_port),
        "TRACKER_DB": str(workdir / "tracker.db"),
        **(extra_env or {}),
    }
    logs = [open(workdir / name, "w") for name in ("actions.log", "rasa.log")]
    commands = [
        action_server_command(action_port),
        [str(BIN / "rasa"), "run", "--model", str(model), "--endpoints", "endpoints.yml",
         "--credentials", "credentials.yml", "--port", str(rasa_port), "-i", "127.0.0.1",
         *rasa_args],
    ]
    processes = [
        _start(cmd, env, log, index)
        for index, (cmd, log) in enumerate(zip(commands, logs, strict=False))
    ]
    stack = Stack(rasa_port, action_port, env, processes, commands, workdir)
    try:
        wait_for(f"http://127.0.0.1:{action_port}/health", 120, processes[0])
        wait_for(f"http://127.0.0.1:{rasa_port}/", 240, processes[1])
        yield stack
    finally:
        for process in reversed(processes):
            stop_process(process)
        for log in logs:
            log.close()
