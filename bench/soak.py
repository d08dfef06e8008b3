"""Load and soak: many concurrent conversations against the real servers, on loopback.

    python -m bench.soak [--concurrency 50] [--messages 10000] [--turns 10]

Starts the action server and the Rasa server on free 127.0.0.1 ports (bench/servers.py),
served as `make run` serves it (its worker processes, .env.example), with a fresh SQLite
tracker store, then keeps `--concurrency` conversations going at once
over the REST channel, each a patient's conversation of `--turns` messages (greeting, FAQ
questions, yes/no, questions that go to the phone hand-off through the action server),
a new patient starting whenever one finishes, until `--messages` messages were sent.

Checks and reports:

* errors: any status other than 200, a failed request, or an answer without text;
* safety-net replies (the channel's phone hand-off because a turn failed or took longer
  than REPLY_TIMEOUT_SECONDS), counted from the Rasa server's log: must be none;
* every conversation complete in the tracker store afterwards: each message stored as a
  user event, each followed by a bot message;
* the Rasa server's resident memory (VmRSS of its processes, summed), sampled every 100
  messages: the mean over
  the first thousand messages against the mean over the last thousand (must grow < 10%);
* latency percentiles and throughput.

Prints the figures and writes them to bench/results/soak.json. Exit status 1 if a check
fails. Not part of `make test` (it takes a while): `make soak`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench import _env  # noqa: F401  (environment defaults first)

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results" / "soak.json"
SAMPLE_EVERY = 100
WINDOW = 1000
MAX_GROWTH = 0.10

# One patient's conversation, started at a different point for each patient. Two of the
# turns go to the phone hand-off (action_handoff, on the action server).
SCRIPT = [
    "hi",
    "What is dry needling?",
    "yes",
    "How is it different from acupuncture?",
    "no",
    "Does my insurance cover dry needling?",
    "Can I go to the gym after dry needling?",
    "thanks",
    "What is a trigger point?",
    "I'd like to book an appointment",
    "what causes knots in muscles",
    "no thanks",
]


def rss_kib(pids: Sequence[int]) -> int:
    """Resident memory of processes in KiB, summed."""
    from bench.servers import memory_kib

    return sum(memory_kib(pid)[0] for pid in pids)


@dataclass
class Figures:
    """What the soak measured."""

    concurrency: int
    messages_target: int
    turns: int
    messages_sent: int = 0
    answered: int = 0
    errors: int = 0
    error_examples: List[str] = field(default_factory=list)
    safety_net_replies: int = 0
    conversations: int = 0
    conversations_complete: int = 0
    seconds: float = 0.0
    messages_per_second: float = 0.0
    latency_ms: Dict[str, float] = field(default_factory=dict)
    rasa_rss_mib: Dict[str, float] = field(default_factory=dict)
    actions_rss_mib: Dict[str, float] = field(default_factory=dict)
    rss_growth: float = 0.0
    rss_samples_kib: List[List[int]] = field(default_factory=list)

    def passed(self) -> bool:
        """Zero errors, all answered, all conversations complete, memory growth < 10%."""
        return (
            self.errors == 0
            and self.safety_net_replies == 0
            and self.answered == self.messages_sent == self.messages_target
            and self.conversations_complete == self.conversations
            and self.rss_growth < MAX_GROWTH
        )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def post_message(session: Any, webhook: str, sender: str, text: str) -> Optional[str]:
    """POST one message over the REST channel; what was wrong with the answer, or None.

    Wrong: a status other than 200, a failed or timed-out request, or a reply that is not
    a non-empty list of messages with text.
    """
    import aiohttp

    try:
        async with session.post(webhook, json={"sender": sender, "message": text}) as reply:
            if reply.status != 200:
                return f"status {reply.status}"
            body = await reply.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    if isinstance(body, list) and body and all(isinstance(m, dict) and m.get("text") for m in body):
        return None
    return f"answer without text: {body!r}"[:200]


async def run_load(
    webhook: str, pids: Sequence[Sequence[int]], figures: Figures, timeout: float
) -> Dict[str, int]:
    """Send the messages; return each conversation's message count."""
    import aiohttp

    sent: Dict[str, int] = {}
    latencies: List[float] = []
    counter = {"next_message": 0, "next_patient": 0}

    async def patient_turns(session: aiohttp.ClientSession) -> None:
        while counter["next_message"] < figures.messages_target:
            patient = counter["next_patient"]
            counter["next_patient"] += 1
            sender = f"soak-{patient:05d}"
            sent[sender] = 0
            for turn in range(figures.turns):
                if counter["next_message"] >= figures.messages_target:
                    break
                counter["next_message"] += 1
                text = SCRIPT[(patient + turn) % len(SCRIPT)]
                await send(session, sender, text)
                sent[sender] += 1

    async def send(session: aiohttp.ClientSession, sender: str, text: str) -> None:
        started = time.perf_counter()
        problem = await post_message(session, webhook, sender, text)
        latencies.append(time.perf_counter() - started)
        figures.messages_sent += 1
        if problem is None:
            figures.answered += 1
        else:
            figures.errors += 1
            if len(figures.error_examples) < 10:
                figures.error_examples.append(f"{sender}: {problem}")
        if figures.messages_sent % SAMPLE_EVERY == 0:
            figures.rss_samples_kib.append([figures.messages_sent, *(rss_kib(group) for group in pids)])

    figures.rss_samples_kib.append([0, *(rss_kib(group) for group in pids)])
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    connector = aiohttp.TCPConnector(limit=figures.concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=client_timeout, connector=connector) as session:
        await asyncio.gather(*(patient_turns(session) for _ in range(figures.concurrency)))
    figures.seconds = round(time.perf_counter() - started, 1)
    figures.messages_per_second = round(figures.messages_sent / figures.seconds, 2)
    figures.latency_ms = {
        name: round(1000 * percentile(latencies, q), 1)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    }
    return sent


def complete_conversations(db: Path, sent: Dict[str, int]) -> int:
    """How many conversations have every message stored, each followed by a bot message."""
    complete = 0
    with sqlite3.connect(db) as connection:
        for sender, count in sent.items():
            types = [
                row[0]
                for row in connection.execute(
                    "select type_name from events where sender_id = ? order by id", (sender,)
                )
            ]
            users = [i for i, kind in enumerate(types) if kind == "user"]
            bounds = users[1:] + [len(types)]
            answered = all("bot" in types[start:end] for start, end in zip(users, bounds, strict=True))
            complete += int(len(users) == count and answered)
    return complete


def window_mean(samples: List[List[int]], column: int, first: int, last: int) -> float:
    """Mean of a sample column over messages first..last (inclusive), in MiB."""
    values = [s[column] for s in samples if first <= s[0] <= last]
    return round(statistics.mean(values) / 1024, 1)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=50, help="conversations at once")
    parser.add_argument("--messages", type=int, default=10_000, help="messages in total")
    parser.add_argument("--turns", type=int, default=10, help="messages per conversation")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per request")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.messages < 2 * WINDOW:
        parser.error(f"--messages must be at least {2 * WINDOW} (first and last thousand)")

    sys.path.insert(0, str(PROJECT))
    from bench.servers import children, running_stack, serving_settings

    figures = Figures(args.concurrency, args.messages, args.turns)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = Path(tmp)
        print(f"Starting the servers (logs in {workdir}) ...", flush=True)
        with running_stack(workdir, serving_settings()) as stack:
            rasa = stack.processes[1].pid
            pids = [[rasa, *children(rasa)], [stack.processes[0].pid]]
            print(
                f"Soak: {args.concurrency} concurrent conversations of {args.turns} messages, "
                f"{args.messages} messages in total, at {stack.webhook}",
                flush=True,
            )
            sent = asyncio.run(run_load(stack.webhook, pids, figures, args.timeout))
        figures.conversations = len(sent)
        log = (workdir / "rasa.log").read_text(errors="replace")
        figures.safety_net_replies = log.count("sending the phone hand-off")
        figures.conversations_complete = complete_conversations(workdir / "tracker.db", sent)

    samples, n = figures.rss_samples_kib, figures.messages_sent
    for column, target in ((1, figures.rasa_rss_mib), (2, figures.actions_rss_mib)):
        target.update(
            start=round(samples[0][column] / 1024, 1),
            first_1000=window_mean(samples, column, 1, WINDOW),
            last_1000=window_mean(samples, column, n - WINDOW + 1, n),
            peak=round(max(s[column] for s in samples) / 1024, 1),
        )
    rasa = figures.rasa_rss_mib
    figures.rss_growth = round((rasa["last_1000"] - rasa["first_1000"]) / rasa["first_1000"], 4)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(figures), indent=2) + "\n")
    print(
        f"messages sent {figures.messages_sent}, answered {figures.answered}, "
        f"errors {figures.errors}, safety-net replies {figures.safety_net_replies}\n"
        f"conversations {figures.conversations}, complete in the tracker store "
        f"{figures.conversations_complete}\n"
        f"time {figures.seconds} s, {figures.messages_per_second} messages/s; latency ms "
        + ", ".join(f"{k} {v}" for k, v in figures.latency_ms.items())
        + f"\nRasa server RSS MiB: start {rasa['start']}, first 1000 msgs {rasa['first_1000']}, "
        f"last 1000 msgs {rasa['last_1000']}, peak {rasa['peak']}; "
        f"growth {100 * figures.rss_growth:+.1f}% (limit {100 * MAX_GROWTH:.0f}%)\n"
        f"Action server RSS MiB: first 1000 {figures.actions_rss_mib['first_1000']}, "
        f"last 1000 {figures.actions_rss_mib['last_1000']}\n"
        f"{'PASS' if figures.passed() else 'FAIL'} (figures in {args.out})"
    )
    for example in figures.error_examples:
        print(f"  error: {example}")
    return 0 if figures.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
