"""Flat cost per message: one patient's long conversation, message by message.

    python -m bench.long_conversation [--messages 60] [--rounds 3]

Serves the trained model as `make run` does (bench/servers.py: its workers, a fresh
SQLite tracker store) and has one patient at a time hold a conversation of `--messages`
messages (FAQ questions, hand-offs, yes/no), `--rounds` times. It compares the median
latency of messages 51-60 with that of messages 1-10, for the tracker store as served
(stores/masking_tracker_store.py reads the session's recent events) and, for reference,
reading whole sessions as Rasa's own store does (`recent_events: null`). The replies of
the two must be the same. Prints the figures, writes bench/results/long_conversation.json
and exits 1 when the growth is over 1.15x or a reply differs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bench import _env  # noqa: F401  (environment defaults first)
from bench.servers import PROJECT, endpoints_with, reply_texts, running_stack, send_rest, serving_settings

RESULTS = PROJECT / "bench" / "results" / "long_conversation.json"
MAX_GROWTH = 1.15
# A patient's messages, in turn: page answers, hand-offs through the action server, yes/no.
SCRIPT = [
    "What is dry needling?", "yes", "How is it different from acupuncture?",
    "Does my insurance cover it?", "What is a trigger point?", "and what causes them?",
    "How does dry needling work?", "no", "Can I exercise afterwards?", "can I book online?",
    "When is dry needling used?", "thanks",
]


def conversation(port: int, sender: str, messages: int) -> Tuple[List[float], List[str]]:
    """Latency (ms) and reply text of each message of one conversation."""
    latencies, replies = [], []
    for text in itertools.islice(itertools.cycle(SCRIPT), messages):
        start = time.perf_counter()
        answer = send_rest(port, sender, text, timeout=120)
        latencies.append((time.perf_counter() - start) * 1000)
        replies.append(reply_texts(answer))
    return latencies, replies


def measure(workdir: Path, messages: int, rounds: int, full_sessions: bool) -> Dict[str, object]:
    """Medians of the first and last ten messages over `rounds` conversations."""
    workdir.mkdir(parents=True)
    args: List[str] = []
    if full_sessions:
        args = ["--endpoints", str(endpoints_with(workdir / "endpoints.yml", {"recent_events": None}))]
    with running_stack(workdir, serving_settings(), rasa_args=args) as stack:
        conversation(stack.rasa_port, "warm-up", 5)
        runs = [conversation(stack.rasa_port, f"long-{n}", messages) for n in range(rounds)]
    first = [ms for latencies, _ in runs for ms in latencies[:10]]
    last = [ms for latencies, _ in runs for ms in latencies[messages - 10:]]
    result: Dict[str, object] = {
        "first_10_median_ms": round(statistics.median(first), 1),
        "last_10_median_ms": round(statistics.median(last), 1),
        "replies": runs[0][1],
    }
    result["growth"] = round(result["last_10_median_ms"] / result["first_10_median_ms"], 2)  # type: ignore[operator]
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Measure both ways, print, write the results; 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ours = measure(Path(tmp) / "ours", args.messages, args.rounds, full_sessions=False)
        full = measure(Path(tmp) / "full", args.messages, args.rounds, full_sessions=True)
    same = ours.pop("replies") == full.pop("replies")
    met = ours["growth"] <= MAX_GROWTH and same  # type: ignore[operator]
    results = {"messages": args.messages, "rounds": args.rounds, "recent_events": ours,
               "whole_sessions": full, "same_replies": same, "target_growth": MAX_GROWTH, "met": met}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for name, figures in (("recent events (served)", ours), ("whole sessions (Rasa's way)", full)):
        print(f"{name:28s} messages 1-10: {figures['first_10_median_ms']} ms, "
              f"{args.messages - 9}-{args.messages}: {figures['last_10_median_ms']} ms, "
              f"growth {figures['growth']}x")
    print(f"same replies: {same}; target growth <= {MAX_GROWTH}x: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
