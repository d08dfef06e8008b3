"""The assistant on patients' own words: real questions, ten kinds of patient, whole conversations.

Data (bench/data/, written or collected apart from the training data; a test keeps them apart):

* `real_questions.csv`: questions from other clinics' FAQ pages and patient forums, with
  their source pages, labelled by the clinic's page; split into `validation` (tuned on)
  and `test` (reported) by source page;
* `personas.csv`: single messages written as ten kinds of patient would type them;
* `conversations.yml`: whole conversations (follow-ups, two questions at once, long
  messages, near misses, emergencies, other languages, asking for a person).

Each message goes through the whole assistant (NLU, rules, the action server), each single
message in a new conversation. What the assistant did is read from the replies it logged
(`utter_faq/<key>`, the hand-offs, 911, ...). Prints the figures, writes
bench/results/devset.json, and exits 1 when a target is not met.
The test sets' wrong turns are neither printed nor saved unless asked (`--test-errors`).
Run: python -m bench.devset [--model models/dry-needling.tar.gz] [--errors]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import yaml

from core.settings import MODEL_FILE

DATA = Path(__file__).parent / "data"
RESULTS = Path(__file__).parent / "results" / "devset.json"
DEFAULT_MODEL = MODEL_FILE
HANDOFF = "handoff"
EMERGENCIES = {"emergency", "self_harm"}
# What each reply of the domain means for scoring.
REPLY_OUTCOMES = {
    "utter_emergency": "emergency",
    "utter_self_harm": "self_harm",
    "utter_other_language": "language",
    "utter_greet": "greet",
    "utter_hello": "greet",
    "utter_you_are_welcome": "thank",
    "utter_goodbye": "goodbye",
    "utter_ask_question": "affirm",
    "utter_ok": "ok",
}
HANDOFF_REPLIES = {
    "utter_handoff", "utter_handoff_booking", "utter_handoff_contact", "utter_handoff_suggest",
    "utter_handoff_rest", "utter_iamabot",
}
# Small talk: which outcomes answer it.
SMALL_TALK = {
    "greet": {"greet"}, "thank": {"thank"}, "goodbye": {"goodbye"},
    "affirm": {"affirm", "ok"}, "deny": {"goodbye", "ok"},
}
TARGETS = {
    "faq_right": 0.92,
    "handoff": 0.96,
    "wrong_answers_max": 0.02,
    "turns_right": 0.90,
}


@dataclass
class Turn:
    """One patient message, what it should get, and what it got."""

    text: str
    expect: List[str]
    got: List[str] = field(default_factory=list)
    language: Optional[str] = None
    # the page answers offered as "did you mean" buttons, if it got them
    offered: List[str] = field(default_factory=list)

    @property
    def faq_expected(self) -> set[str]:
        """The page answers this message asked for."""
        return {e for e in self.expect if e.startswith("faq/")}

    @property
    def faq_given(self) -> set[str]:
        """The page answers it got."""
        return {g for g in self.got if g.startswith("faq/")}

    @property
    def wrong_answer(self) -> bool:
        """It got a page answer it did not ask for."""
        return bool(self.faq_given - self.faq_expected)

    @property
    def right_offered(self) -> bool:
        """It got no page answer, and "did you mean" buttons that include the one answer it
        asked for (a tap away; a question asking for two answers needs both)."""
        return not self.faq_given and bool(self.faq_expected) and self.faq_expected <= set(self.offered)

    @property
    def emergency_expected(self) -> bool:
        """It describes an emergency (or self-harm)."""
        return bool(EMERGENCIES & set(self.expect))

    @property
    def emergency_given(self) -> bool:
        """It got the 911 reply (or the self-harm one)."""
        return bool(EMERGENCIES & set(self.got))

    @property
    def handed_off(self) -> bool:
        """It got the phone number (a hand-off, or the other-language reply)."""
        return HANDOFF in self.got or "language" in self.got

    def right(self) -> bool:
        """Everything it asked for, nothing it didn't.

        An emergency gets the emergency reply alone: page answers asked for beside it are
        not required then (but none may be given that was not asked for).
        """
        if self.emergency_expected and self.emergency_given:
            return not self.wrong_answer and all(e in self.got for e in self.expect if e in EMERGENCIES)
        if self.faq_given != self.faq_expected:
            return False
        if self.emergency_given != self.emergency_expected:
            return False
        for expected in self.expect:
            if expected in EMERGENCIES and expected not in self.got:
                return False
            if expected == HANDOFF and not self.handed_off:
                return False
            if expected.startswith("language:") and (
                "language" not in self.got or self.language != expected.split(":", 1)[1]
            ):
                return False
            if expected in SMALL_TALK and not SMALL_TALK[expected] & set(self.got):
                return False
        return True


def outcomes(bot_actions: Sequence[str]) -> List[str]:
    """What a turn's replies mean: `faq/<key>`, handoff, emergency, language, small talk."""
    result: List[str] = []
    for action in bot_actions:
        if action.startswith("utter_faq/"):
            result.append(action[len("utter_"):])
        elif action in HANDOFF_REPLIES:
            result.append(HANDOFF)
        elif action in REPLY_OUTCOMES:
            result.append(REPLY_OUTCOMES[action])
    return result


def load_singles(name: str) -> Dict[str, List[Turn]]:
    """A CSV of single messages as {split or "all": turns}."""
    groups: Dict[str, List[Turn]] = {}
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            groups.setdefault(row.get("split") or "all", []).append(
                Turn(row["text"], row["label"].split("+"))
            )
    return groups


def load_conversations() -> List[Dict[str, Any]]:
    """The conversations: {id, kind, split, turns: [Turn]} (split "validation" unless marked)."""
    data = yaml.safe_load((DATA / "conversations.yml").read_text(encoding="utf-8"))
    return [
        {
            "id": c["id"], "kind": c["kind"], "split": c.get("split", "validation"),
            "turns": [Turn(t["user"], list(t["expect"])) for t in c["turns"]],
        }
        for c in data["conversations"]
    ]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_action_server(port: int) -> subprocess.Popen[bytes]:
    """rasa_sdk's action server on 127.0.0.1:`port`, as `make run` starts it."""
    env = {**os.environ, "SANIC_HOST": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--port", str(port), "--actions", "actions"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("the action server did not start")


class Assistant:
    """The trained assistant with its action server, conversation by conversation."""

    def __init__(self, model: Path, action_port: int) -> None:
        """Load the model; actions go to the server on `action_port`."""
        from rasa.core.agent import Agent
        from rasa.utils.endpoints import EndpointConfig

        self.agent = Agent.load(
            str(model), action_endpoint=EndpointConfig(f"http://127.0.0.1:{action_port}/webhook")
        )
        self._conversations = 0

    def new_conversation(self) -> str:
        """A conversation id not used before."""
        self._conversations += 1
        return f"devset-{self._conversations}"

    async def say(self, sender: str, turn: Turn) -> None:
        """Send `turn` and record what the assistant did."""
        from rasa.shared.core.events import BotUttered, UserUttered

        from components.turn_resolver import SUGGESTIONS_OUTPUT

        await self.agent.handle_text(turn.text, sender_id=sender)
        tracker = await self.agent.processor.get_tracker(sender)
        events = list(tracker.events)
        last_user = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
        actions = [
            (e.metadata or {}).get("utter_action", "")
            for e in events[last_user:]
            if isinstance(e, BotUttered)
        ]
        turn.got = outcomes(actions)
        turn.language = tracker.get_slot("language")
        suggestions = tracker.latest_message.parse_data.get(SUGGESTIONS_OUTPUT) or []
        turn.offered = [s["key"] for s in suggestions] if "utter_handoff_suggest" in actions else []


def singles_report(turns: List[Turn]) -> Dict[str, Any]:
    """Figures for single messages."""
    answerable = [t for t in turns if t.faq_expected]
    rest = [t for t in turns if not t.faq_expected and not t.emergency_expected]
    emergencies = [t for t in turns if t.emergency_expected]
    return {
        "messages": len(turns),
        "answerable": len(answerable),
        "faq_right": share(t.right() for t in answerable),
        # "did you mean": answerable messages that got the buttons, and with the right answer
        "did_you_mean": sum(bool(t.offered) and not t.faq_given for t in answerable),
        "did_you_mean_right": sum(t.right_offered for t in answerable),
        "faq_right_or_offered": share(t.right() or t.right_offered for t in answerable),
        # ... and messages the page does not answer that got them (the phone is there too)
        "did_you_mean_rest": sum(bool(t.offered) for t in rest),
        "handoff_rest": len(rest),
        "handoff": share(t.handed_off and not t.faq_given and not t.emergency_given for t in rest),
        "wrong_answers": share(t.wrong_answer for t in turns),
        "emergencies": len(emergencies),
        "emergencies_missed": sum(not t.emergency_given for t in emergencies),
        "false_911": sum(t.emergency_given and not t.emergency_expected for t in turns),
        "right": share(t.right() for t in turns),
        "errors": [
            {"text": t.text, "expect": t.expect, "got": t.got} for t in turns if not t.right()
        ],
    }


def conversations_report(conversations: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Figures for whole conversations, overall and by kind."""
    turns = [t for c in conversations for t in c["turns"]]
    kinds: Dict[str, List[Turn]] = {}
    for conversation in conversations:
        kinds.setdefault(conversation["kind"], []).extend(conversation["turns"])
    report = singles_report(turns)
    report.update(
        {
            "conversations": len(conversations),
            "turns": len(turns),
            "turns_right": share(t.right() for t in turns),
            "conversations_right": share(all(t.right() for t in c["turns"]) for c in conversations),
            "turns_right_by_kind": {k: share(t.right() for t in v) for k, v in sorted(kinds.items())},
        }
    )
    return report


def share(values: Iterator[bool] | Sequence[bool]) -> float:
    """Share of true values (0 for none)."""
    values = list(values)
    return sum(values) / len(values) if values else 0.0


async def run_all(assistant: Assistant) -> Dict[str, Any]:
    """Every set through the assistant."""
    results: Dict[str, Any] = {}
    for name, key in (("real_questions.csv", "real"), ("personas.csv", "personas")):
        for split, turns in load_singles(name).items():
            for turn in turns:
                await assistant.say(assistant.new_conversation(), turn)
            results[f"{key}_{split}" if split != "all" else key] = singles_report(turns)
    conversations = load_conversations()
    for conversation in conversations:
        sender = assistant.new_conversation()
        for turn in conversation["turns"]:
            await assistant.say(sender, turn)
    for split, name in (("validation", "conversations"), ("test", "conversations_test")):
        results[name] = conversations_report([c for c in conversations if c["split"] == split])
    return results


def targets_met(results: Dict[str, Any]) -> Dict[str, bool]:
    """Each target of issue 12, on the test split, the personas and the conversations."""
    real = results["real_test"]
    personas = [report for name, report in results.items() if name.startswith("personas")]
    conversations = [report for name, report in results.items() if name.startswith("conversations")]
    everything = [results["real_test"], *personas, *conversations]
    return {
        f"real test: right FAQ answers >= {TARGETS['faq_right']:.0%}": (
            real["faq_right"] >= TARGETS["faq_right"]
        ),
        f"real test: hand-offs >= {TARGETS['handoff']:.0%}": real["handoff"] >= TARGETS["handoff"],
        f"wrong answers <= {TARGETS['wrong_answers_max']:.0%} (each set)": all(
            r["wrong_answers"] <= TARGETS["wrong_answers_max"] for r in everything
        ),
        f"conversation turns right >= {TARGETS['turns_right']:.0%} (each set)": all(
            r["turns_right"] >= TARGETS["turns_right"] for r in conversations
        ),
        "every emergency gets 911": all(r["emergencies_missed"] == 0 for r in everything),
        "no false 911": all(r["false_911"] == 0 for r in everything),
    }


def withhold_test_errors(results: Dict[str, Any]) -> Dict[str, Any]:
    """The results with the test sets' figures but not their wrong turns: a test set read
    while fixing is a test set no more."""
    return {
        name: {k: v for k, v in report.items() if k != "errors"} if name.endswith("_test") else report
        for name, report in results.items()
    }


def summary(results: Dict[str, Any], met: Dict[str, bool]) -> str:
    """The figures as a table, then the targets."""
    lines = [
        f"{'set':24s} {'msgs':>5s} {'FAQ right':>10s} {'or a tap':>9s} {'hand-off':>9s} {'wrong':>7s} "
        f"{'911 missed':>10s} {'false 911':>9s}"
    ]
    for name, r in results.items():
        lines.append(
            f"{name:24s} {r['messages']:5d} {r['faq_right']:10.1%} {r['faq_right_or_offered']:9.1%} "
            f"{r['handoff']:9.1%} "
            f"{r['wrong_answers']:7.1%} {r['emergencies_missed']:>4d} of {r['emergencies']:<3d} "
            f"{r['false_911']:9d}"
        )
    for name in ("conversations", "conversations_test"):
        conv = results[name]
        lines.append(
            f"{name}: {conv['turns_right']:.1%} of {conv['turns']} turns right, "
            f"{conv['conversations_right']:.1%} of {conv['conversations']} conversations right"
        )
        lines += [f"  {kind:12s} {value:6.1%}" for kind, value in conv["turns_right_by_kind"].items()]
    lines.append("Targets:")
    lines += [f"  {'met    ' if ok else 'NOT MET'} {name}" for name, ok in met.items()]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Score the model on every set; 1 if a target is not met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--errors", action="store_true", help="list the validation sets' wrong turns")
    parser.add_argument(
        "--test-errors", action="store_true",
        help="also list and save the test sets' wrong turns (only when a round is over)",
    )
    args = parser.parse_args(argv)
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    port = free_port()
    server = start_action_server(port)
    try:
        results = asyncio.run(run_all(Assistant(args.model, port)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    met = targets_met(results)
    if not args.test_errors:
        results = withhold_test_errors(results)
    RESULTS.write_text(json.dumps({"targets": met, "results": results}, indent=1) + "\n", encoding="utf-8")
    print(summary(results, met))
    if args.errors or args.test_errors:
        for name, r in results.items():
            for error in r.get("errors", []):
                expect, got = "+".join(error["expect"]), "+".join(error["got"]) or "-"
                print(f"{name:18s} {expect:40s} -> {got:40s} {error['text']}")
    print(f"Written: {RESULTS}")
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
