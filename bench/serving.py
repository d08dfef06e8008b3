"""Serving benchmark: the assistant as `make run` serves it against stock `rasa run`.

    python -m bench.serving [--levels 1 8 32] [--turns 30] [--skip-train]

Both servers get the same trained model (models/dry-needling.tar.gz), the same action
server, the same channels and a fresh SQLite tracker store each:

* ours: `scripts/run.sh`, exactly what `make run` starts (Sanic workers, lock store and
  TensorFlow threads from .env / .env.example);
* stock: `rasa run` with default settings (one process, Rasa's in-memory lock store,
  TensorFlow's default threads), the project's endpoints.yml without its lock store.

For each number of concurrent patients (`--levels`), every simulated patient is its own
conversation of `--turns` messages (a new conversation starts when one ends), sent over
the REST channel one after the other, until the level's message count is reached. The
messages are a mix of FAQ questions, questions that go to the phone hand-off and small
talk, made from phrasings that are not training examples (tests/nlu_heldout.yml and
SMALL_TALK below); no message text is sent twice to a server, so no cache of parse
results can be what gets measured. Every level is bounded in count and in time.

Reported for both, with the ratio ours/stock: messages/s, p50/p95/p99 latency and errors
per level (an error: a status other than 200, a failed or timed-out request, or a reply
without text); start-up time from launch to the first answer; resident memory (RSS, and
PSS, which counts pages shared between processes once) of the Rasa server with all its
worker processes, and of the action server; and the time of a full `rasa train` with a
cold cache (one setting for both, so it is reported once, not as a ratio). Exits 1 when
a target is not met. Results: bench/results/serving.json. Not part of `make test`:
`make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from bench import _env  # noqa: F401  (environment defaults first)
from bench.servers import (
    children,
    cmdline,
    free_port,
    memory_kib,
    stop_process,
)
from bench.soak import percentile, post_message
from core.settings import MODEL_FILE

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = PROJECT / MODEL_FILE
HELDOUT = PROJECT / "tests" / "nlu_heldout.yml"
RESULTS = PROJECT / "bench" / "results" / "serving.json"
WORKER_UP = "Rasa server is up and running."
# What makes `make run` fast (.env.example); stock `rasa run` gets none of them.
TUNING_VARIABLES = (
    "SANIC_WORKERS", "TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS",
    "OPENBLAS_NUM_THREADS",
)


# Small talk, written for this benchmark (none is a training example: checked at start).
SMALL_TALK = [
    "hiya there", "hello, anyone around?", "morning!", "hey, quick one", "thx!",
    "that was helpful, thanks", "cheers, that helps", "ok thanks a lot", "bye for now",
    "talk later", "that's all for today", "am I chatting with a real person",
    "are you a robot", "yes, go on", "nope that's all", "no, I'm good", "that's everything",
]
# Variations that keep the meaning, so that no text is sent twice.
OPENERS = ["", "hi, ", "hello! ", "quick question: ", "sorry, ", "hey there, ", "um, ",
           "one more: ", "ok so ", "hi again, ", "question - ", "excuse me, "]
CLOSERS = ["", "?", " please", " thanks", "??", " :)", " ...", " thank you", "!"]
# One patient's turn mix: FAQ, hand-off and small talk.
MIX = ["faq", "faq", "small_talk", "faq", "handoff", "faq", "small_talk", "handoff", "faq",
       "handoff"]


def heldout_phrasings() -> Dict[str, List[str]]:
    """FAQ and hand-off phrasings of the held-out set, by kind (emergencies left out)."""
    from core.handoff import is_handoff
    from retrain.heldout import load_examples

    kinds: Dict[str, List[str]] = {"faq": [], "handoff": []}
    for text, label in load_examples(HELDOUT):
        if label.startswith("faq/"):
            kinds["faq"].append(text)
        elif is_handoff(label):
            kinds["handoff"].append(text)
    return kinds


def training_texts() -> Set[str]:
    """Every training example of data/, lower-cased."""
    from retrain.trainingdata import nlu_training_data

    return {m.get("text").strip().lower() for m in nlu_training_data(PROJECT / "data").intent_examples}


def message_pool() -> Dict[str, Iterator[str]]:
    """An endless, never-repeating stream of messages of each kind."""
    known = training_texts()
    kinds = {**heldout_phrasings(), "small_talk": list(SMALL_TALK)}
    for kind, texts in kinds.items():
        clash = [t for t in texts if t.strip().lower() in known]
        if clash:
            raise SystemExit(f"benchmark {kind} phrasings are training examples: {clash}")

    def variants(texts: List[str]) -> Iterator[str]:
        for opener, closer in itertools.product(OPENERS, CLOSERS):
            for text in texts:
                yield f"{opener}{text.rstrip('?!.')}{closer}" if closer else f"{opener}{text}"

    return {kind: variants(texts) for kind, texts in kinds.items()}


@dataclass
class Level:
    """What one level of concurrent patients measured."""

    users: int
    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    messages_per_second: float = 0.0
    latency_ms: Dict[str, float] = field(default_factory=dict)
    error_examples: List[str] = field(default_factory=list)


@dataclass
class Server:
    """What one server setup measured."""

    name: str
    startup_seconds: float = 0.0
    all_workers_seconds: float = 0.0
    levels: List[Level] = field(default_factory=list)
    rasa_rss_mib: float = 0.0
    rasa_pss_mib: float = 0.0
    rasa_processes: int = 0
    rasa_rss_largest_mib: float = 0.0
    actions_rss_mib: float = 0.0
    train_seconds: Optional[float] = None


async def run_level(webhook: str, users: int, total: int, turns: int, pool: Dict[str, Iterator[str]],
                    prefix: str, timeout: float) -> Level:
    """`users` patients at once, `total` messages in all, each conversation `turns` long."""
    import aiohttp

    level = Level(users)
    latencies: List[float] = []
    counter = itertools.count()
    deadline = time.monotonic() + timeout

    async def patient(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            conversation = f"{prefix}-{users}-{next(counter)}"
            for turn in range(turns):
                if level.messages >= total or time.monotonic() >= deadline:
                    return
                level.messages += 1
                text = next(pool[MIX[turn % len(MIX)]])
                started = time.perf_counter()
                problem = await post_message(session, webhook, conversation, text)
                latencies.append(time.perf_counter() - started)
                if problem:
                    level.errors += 1
                    if len(level.error_examples) < 5:
                        level.error_examples.append(f"{text!r}: {problem}")

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=users)
    client_timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        await asyncio.gather(*(patient(session) for _ in range(users)))
    level.seconds = round(time.perf_counter() - started, 2)
    level.messages_per_second = round(level.messages / level.seconds, 1)
    level.latency_ms = {
        name: round(1000 * percentile(latencies, q), 1)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }
    if level.messages < total:
        level.errors += total - level.messages
        level.error_examples.append(f"time limit: {total - level.messages} messages not sent")
    return level


# --- processes -------------------------------------------------------------------------

def server_processes(root: int) -> Tuple[List[int], List[int]]:
    """(Rasa server processes with their workers, action server processes) under `root`."""
    tree = [root, *children(root)]
    actions = [p for p in tree if re.search(r"run actions|-m rasa_sdk", cmdline(p))]
    rasa_main = [p for p in tree if re.search(r"rasa run( |$)(?!actions)", cmdline(p))]
    rasa = sorted({p for main in rasa_main for p in [main, *children(main)]})
    return rasa, actions


def wait_for_answer(webhook: str, process: subprocess.Popen, timeout: float) -> float:
    """Seconds until the REST channel answers a first message."""
    started = time.monotonic()
    body = json.dumps({"sender": "bench-startup", "message": "hello"}).encode()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        request = urllib.request.Request(webhook, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status == 200 and json.loads(response.read()):
                    return time.monotonic() - started
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"no answer within {timeout} s")


def launch(setup: str, workdir: Path) -> Tuple[subprocess.Popen, List[subprocess.Popen], str]:
    """Start a setup's servers; return (the process to measure under, all, webhook)."""
    rasa_port, action_port = free_port(), free_port()
    env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port),
           "TRACKER_DB": str(workdir / "tracker.db"), "RASA_API_TOKEN": "",
           "WEB_PORT": str(free_port())}
    with open(workdir / f"{setup}.log", "w") as log:  # the servers keep their own copy
        started = _start_servers(setup, env, log, workdir, rasa_port, action_port)
    return started[-1], started, f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"


def _start_servers(setup: str, env: Dict[str, str], log: IO[str], workdir: Path,
                   rasa_port: int, action_port: int) -> List[subprocess.Popen]:
    """Start a setup's processes, the one to measure under last."""
    common = {"cwd": PROJECT, "stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
    if setup == "ours":
        return [subprocess.Popen(["bash", "scripts/run.sh"], env=env, **common)]
    env = {name: value for name, value in env.items() if name not in TUNING_VARIABLES}
    endpoints = workdir / "endpoints-stock.yml"
    text = (PROJECT / "endpoints.yml").read_text()
    endpoints.write_text(re.sub(r"(?ms)^lock_store:.*?(?=^\S|\Z)", "", text))
    actions = subprocess.Popen(
        [str(BIN / "rasa"), "run", "actions", "--port", str(action_port), "--actions", "actions"],
        env={**env, "SANIC_HOST": "127.0.0.1"}, **common)
    run = subprocess.Popen(
        [str(BIN / "rasa"), "run", "--model", str(MODEL), "--endpoints", str(endpoints),
         "--credentials", "credentials.yml", "-i", "127.0.0.1", "--port", str(rasa_port)],
        env=env, **common)
    return [actions, run]


def wait_for_workers(log: Path, count: int, timeout: float) -> None:
    """Wait until `count` workers logged that they are up."""
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(WORKER_UP) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} workers up within {timeout} s ({log})")
        time.sleep(0.2)


def measure_server(setup: str, levels: Sequence[int], turns: int, per_user: int,
                   level_seconds: float) -> Server:
    """Start a setup, measure start-up, load at each level and memory; stop it."""
    server = Server(setup)
    pool = message_pool()
    with tempfile.TemporaryDirectory(prefix=f"bench-{setup}-") as tmp:
        workdir = Path(tmp)
        launched = time.monotonic()
        run, started, webhook = launch(setup, workdir)
        try:
            server.startup_seconds = round(wait_for_answer(webhook, run, 300), 1)
            # The first worker up answers; the load starts once every worker is up.
            # The main process and its workers, forked before any of them answers.
            rasa, actions = server_processes(run.pid)
            if setup == "stock":  # the action server is not under `rasa run` there
                actions = [started[0].pid]
            wait_for_workers(workdir / f"{setup}.log", max(1, len(rasa) - 1), 300)
            server.all_workers_seconds = round(time.monotonic() - launched, 1)
            print(f"  {setup}: first answer {server.startup_seconds} s after launch, "
                  f"all workers up after {server.all_workers_seconds} s", flush=True)
            # Warm-up, not measured: every worker compiles its graphs on its first messages.
            asyncio.run(run_level(webhook, 4, 40, turns, pool, f"{setup}-warmup", 120))
            for users in levels:
                total = users * per_user
                level = asyncio.run(run_level(webhook, users, total, turns, pool, setup, level_seconds))
                server.levels.append(level)
                print(f"  {setup}: {users:>2} patients: {level.messages_per_second} msg/s, "
                      f"p50 {level.latency_ms['p50']} ms, p99 {level.latency_ms['p99']} ms, "
                      f"{level.errors} errors", flush=True)
            memory = [memory_kib(p) for p in rasa]
            server.rasa_processes = len(rasa)
            server.rasa_rss_mib = round(sum(m[0] for m in memory) / 1024, 1)
            server.rasa_pss_mib = round(sum(m[1] for m in memory) / 1024, 1)
            server.rasa_rss_largest_mib = round(max(m[0] for m in memory) / 1024, 1)
            server.actions_rss_mib = round(sum(memory_kib(p)[0] for p in actions) / 1024, 1)
        finally:
            for process in reversed(started):
                stop_process(process)
    return server


def time_training() -> float:
    """Seconds for a full `rasa train` with a cold cache, the command `make train` runs.

    Our serving settings don't apply to training, so it is the same for both setups.
    """
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        env = {**os.environ, "RASA_CACHE_DIRECTORY": str(Path(tmp) / "cache")}
        command = [str(BIN / "rasa"), "train", "--out", tmp, "--fixed-model-name", "bench"]
        started = time.monotonic()
        subprocess.run(command, cwd=PROJECT, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return round(time.monotonic() - started, 1)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--turns", type=int, default=30, help="messages per conversation")
    parser.add_argument("--per-user", type=int, default=40, help="messages per patient and level")
    parser.add_argument("--level-seconds", type=float, default=240, help="time limit per level")
    parser.add_argument("--setups", nargs="+", choices=("stock", "ours"), default=["stock", "ours"])
    parser.add_argument("--skip-train", action="store_true", help="don't time `rasa train`")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not MODEL.exists():
        parser.error(f"{MODEL} is missing: run `make train` first")

    servers: Dict[str, Server] = {}
    for setup in args.setups:
        print(f"Serving {MODEL.name} with {setup} settings ...", flush=True)
        servers[setup] = measure_server(setup, args.levels, args.turns, args.per_user,
                                        args.level_seconds)
    if not args.skip_train:
        print("Timing a full `rasa train` with a cold cache ...", flush=True)
        if "ours" in servers:
            servers["ours"].train_seconds = time_training()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({k: asdict(v) for k, v in servers.items()}, indent=2) + "\n")
    print(f"(figures in {args.out})")
    if len(servers) < 2:
        return 0
    print(table(servers["ours"], servers["stock"]))
    print(f"\nTargets (at {servers['ours'].levels[-1].users} patients, the last level):")
    results = targets(servers["ours"], servers["stock"])
    for name, met in results:
        print(f"  {'met    ' if met else 'NOT MET'}  {name}")
    return 0 if all(met for _, met in results) else 1


def targets(ours: Server, stock: Server) -> List[Tuple[str, bool]]:
    """The serving targets, each with whether this run met it."""
    mine, theirs = ours.levels[-1], stock.levels[-1]
    checks = [
        (f"at least 50 messages/s ({mine.messages_per_second})", mine.messages_per_second >= 50),
        (f"p99 under 1.5 s ({mine.latency_ms['p99']:g} ms)", mine.latency_ms["p99"] < 1500),
        (f"zero errors ({mine.errors})", mine.errors == 0),
        (f"at least 1.8x stock throughput ({mine.messages_per_second / theirs.messages_per_second:.2f}x)",
         mine.messages_per_second >= 1.8 * theirs.messages_per_second),
        (f"at most 0.6x stock p99 ({mine.latency_ms['p99'] / theirs.latency_ms['p99']:.2f}x)",
         mine.latency_ms["p99"] <= 0.6 * theirs.latency_ms["p99"]),
        (f"start-up to first answer under 15 s ({ours.startup_seconds} s)", ours.startup_seconds < 15),
        (f"every Rasa server process under 800 MB resident ({ours.rasa_rss_largest_mib:g} MiB; "
         f"{ours.rasa_processes} processes, {ours.rasa_pss_mib:g} MiB PSS in all)",
         ours.rasa_rss_largest_mib < 800),
    ]
    if ours.train_seconds is not None:
        checks.append((f"full training under 90 s ({ours.train_seconds} s)", ours.train_seconds < 90))
    return checks


def table(ours: Server, stock: Server) -> str:
    """The side-by-side table, as Markdown."""
    rows = [("| figure | ours | stock `rasa run` | ours / stock |"), "|---|---|---|---|"]

    def row(name: str, mine: Optional[float], theirs: Optional[float], unit: str = "") -> None:
        if mine is None:
            return
        if theirs is None:  # measured for ours only
            rows.append(f"| {name} | {mine:g}{unit} | - | - |")
            return
        ratio = f"{mine / theirs:.2f}x" if theirs else "-"
        rows.append(f"| {name} | {mine:g}{unit} | {theirs:g}{unit} | {ratio} |")

    for mine, theirs in zip(ours.levels, stock.levels, strict=True):
        label = f"{mine.users} patient{'s' if mine.users > 1 else ''}"
        row(f"{label}: messages/s", mine.messages_per_second, theirs.messages_per_second)
        for q in ("p50", "p95", "p99"):
            row(f"{label}: {q} latency", mine.latency_ms[q], theirs.latency_ms[q], " ms")
        row(f"{label}: errors (of {mine.messages})", mine.errors, theirs.errors)
    row("start-up to first answer", ours.startup_seconds, stock.startup_seconds, " s")
    row("start-up until every worker is up", ours.all_workers_seconds, stock.all_workers_seconds, " s")
    row(f"Rasa server RSS ({ours.rasa_processes} vs {stock.rasa_processes} processes)",
        ours.rasa_rss_mib, stock.rasa_rss_mib, " MiB")
    row("Rasa server PSS (shared pages counted once)", ours.rasa_pss_mib, stock.rasa_pss_mib, " MiB")
    row("largest Rasa server process RSS", ours.rasa_rss_largest_mib, stock.rasa_rss_largest_mib, " MiB")
    row("action server RSS", ours.actions_rss_mib, stock.actions_rss_mib, " MiB")
    row("full `rasa train` (`make train`; no serving setting applies)", ours.train_seconds, None, " s")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
