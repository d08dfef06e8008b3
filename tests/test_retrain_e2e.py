"""The staff workflow end to end, on a temporary copy of the project (real data untouched).

1. Patients talk to the real servers (REST webhook); the unanswered questions are
   exported to CSV, labelled, imported as examples.
2. A new FAQ (what_to_wear) is added, `make retrain` promotes the new model and loads
   it into the running server through PUT /model: a wording that is not among the
   examples gets the new answer, and earlier conversations are still there.
3. A broken change (exercise examples moved to the wrong FAQ) is refused by
   `make retrain`: the served model stays, and `make faq-undo` takes the change back.

Slow by nature: two server starts and two trainings (several minutes on 2 cores).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from bench.servers import Stack, action_server_command, reply_texts, stop_process, wait_for
from core.settings import MODEL_FILE
from retrain.sandbox import copy_project
from retrain.text import normalise
from tests.conftest import MODEL, PROJECT

BIN = Path(sys.executable).parent
TOKEN = secrets.token_hex(16)
WEAR_ANSWER = (
    "Wear loose, comfortable clothes that let the physiotherapist reach the area being "
    "treated, such as shorts for the legs or a tank top for the shoulders and upper back."
)
WEAR_EXAMPLES = [
    "what should I wear for dry needling",
    "what clothes are best for an IMS appointment",
    "do I need to bring shorts to my session",
    "what to wear for needling",
    "should I wear loose clothing for IMS",
    "is there a dress code for dry needling",
    "what kind of outfit do I need for needling",
    "can I wear jeans to my dry needling appointment",
]
WEAR_TESTS = ["what outfit should I show up in for IMS", "do I wear gym clothes to a needling session"]
OUT_OF_SCOPE_ABOUT_CLOTHES = [
    "what should i wear to my dry needling appointment",
    "should i wear shorts for needling on my leg",
    "do i have to undress for IMS",
]
CLOTHES = "What clothes do I wear for my IMS session?"
INSURANCE = "Does my insurance cover it?"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project copy: its own ports, conversation database and API token."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    root = tmp_path_factory.mktemp("retrain-e2e") / "project"
    # One worker: PUT /model, which `make retrain` sends, reaches a single worker.
    return copy_project(PROJECT, root, env={"RASA_API_TOKEN": TOKEN, "SANIC_WORKERS": "1"})


def settings(root: Path) -> Dict[str, str]:
    """The copy's .env."""
    return dict(line.split("=", 1) for line in (root / ".env").read_text().splitlines() if "=" in line)


@contextlib.contextmanager
def running(root: Path) -> Iterator[Stack]:
    """Action server and `rasa run` with the HTTP API (token), in the copy, on 127.0.0.1."""
    env_file = settings(root)
    rasa_port, action_port = int(env_file["RASA_PORT"]), int(env_file["ACTION_PORT"])
    env = {**os.environ, "ACTION_PORT": str(action_port), "TRACKER_DB": str(root / "tracker.db"),
           "SANIC_WORKERS": env_file["SANIC_WORKERS"]}
    logs = [open(root / name, "a") for name in ("actions.log", "rasa.log")]
    commands = [
        action_server_command(action_port),
        [str(BIN / "rasa"), "run", "--model", "models/dry-needling.tar.gz", "--endpoints", "endpoints.yml",
         "--credentials", "credentials.yml", "--port", str(rasa_port), "-i", "127.0.0.1",
         "--enable-api", "--auth-token", TOKEN],
    ]
    envs = [{**env, "SANIC_HOST": "127.0.0.1"}, env]  # the action server binds loopback only
    processes = [
        subprocess.Popen(cmd, cwd=root, env=e, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for cmd, e, log in zip(commands, envs, logs, strict=True)
    ]
    try:
        wait_for(f"http://127.0.0.1:{action_port}/health", 180, processes[0])
        wait_for(f"http://127.0.0.1:{rasa_port}/", 300, processes[1])
        yield Stack(rasa_port, action_port, env, processes)
    finally:
        for process in reversed(processes):
            stop_process(process, timeout=30)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def live(copy: Path) -> Iterator[Stack]:
    """A server that stays up across retrains (started when first needed)."""
    with running(copy) as stack:
        yield stack


def make(root: Path, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    """`make <args>` in the copy, as staff would run it (no keyboard)."""
    return subprocess.run(["make", *args], cwd=root, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def cli(root: Path, *args: str) -> None:
    """`python -m retrain <args> --yes` in the copy."""
    subprocess.run([str(BIN / "python"), "-m", "retrain", *args], cwd=root, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)


def examples(path: Path) -> Dict[str, List[str]]:
    """Label -> examples of a data file, as Rasa reads it."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    out: Dict[str, List[str]] = {}
    for m in RasaYAMLReader().read(str(path)).intent_examples:
        out.setdefault(m.get("intent_response_key") or m.get("intent"), []).append(m.get("text"))
    return out


def digest(path: Path) -> str:
    """sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_questions_round_trip_through_the_real_server(copy: Path) -> None:
    """Conversations over REST -> export (grouped, with counts) -> label -> import."""
    with running(copy) as stack:
        for sender, message in [("p1", CLOTHES), ("p2", CLOTHES.lower().rstrip("?")), ("p3", CLOTHES),
                                ("p1", INSURANCE), ("p2", "Can I go to the gym after dry needling?"),
                                ("p3", "hi")]:
            stack.send(sender, message)
    assert (copy / "tracker.db").exists()

    result = make(copy, "questions-export", "OUT=results/questions.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    with (copy / "results" / "questions.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_text = {normalise(r["question"]): r for r in rows}
    clothes, insurance = by_text[normalise(CLOTHES)], by_text[normalise(INSURANCE)]
    assert clothes["question"] == CLOTHES and clothes["times_asked"] == "3"
    assert insurance["times_asked"] == "1"
    for row in (clothes, insurance):
        assert row["predicted_intent"] in {"out_of_scope", "nlu_fallback"}
        assert row["closest_faq"] and 0 <= float(row["closest_faq_confidence"]) <= 1
        assert row["last_asked"] >= row["first_asked"] and row["label"] == ""
    assert rows[0] is clothes  # the most asked first
    assert normalise("Can I go to the gym after dry needling?") not in by_text  # it was answered
    assert normalise("hi") not in by_text

    cli(copy, "add-faq", "--key", "what_to_wear", "--answer", WEAR_ANSWER,
        *sum((["--example", e] for e in WEAR_EXAMPLES), []),
        *sum((["--test-example", e] for e in WEAR_TESTS), []), "--yes")
    clothes["label"], insurance["label"] = "what_to_wear", "out of scope"
    with (copy / "results" / "questions.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = make(copy, "questions-import", "CSV=results/questions.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert CLOTHES in examples(copy / "data" / "faq.yml")["faq/what_to_wear"]
    assert INSURANCE in examples(copy / "data" / "out_of_scope.yml")["out_of_scope"]


def test_new_faq_is_promoted_and_served_without_restart(copy: Path, live: Stack) -> None:
    """`make retrain` promotes the new model and the running server answers with it."""
    before = live.send("patient-before", "what is a trigger point")
    assert "knot" in reply_texts(before)
    moved = sum((["--example", e] for e in OUT_OF_SCOPE_ABOUT_CLOTHES), [])
    cli(copy, "move", "--to", "what_to_wear", *moved, "--yes")

    result = make(copy, "retrain")
    out = result.stdout + result.stderr
    print(out[-6000:])
    assert result.returncode == 0, out[-6000:]
    assert "PROMOTED" in out and "now uses the new model" in out
    assert "what_to_wear" in out and "New FAQs" in out

    replies = live.send("patient-after", "what kind of clothing is best for a dry needling session?")
    assert "loose, comfortable clothes" in reply_texts(replies), replies

    url = f"http://127.0.0.1:{live.rasa_port}/conversations/patient-before/tracker?token={TOKEN}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"]
    assert "what is a trigger point" in [e.get("text") for e in events if e["event"] == "user"]


def test_examples_moved_to_the_wrong_faq_are_refused(copy: Path, live: Stack) -> None:
    """Most exercise questions given to vs_acupuncture: refused, current model kept, undo works."""
    model = copy / MODEL_FILE
    served, data_before = digest(model), {p.name: p.read_bytes() for p in (copy / "data").glob("*.yml")}
    exercise = examples(copy / "data" / "faq.yml")["faq/exercise_after"]
    listing = copy / "wrong.txt"
    listing.write_text("\n".join(exercise[3:]))
    cli(copy, "move", "--to", "vs_acupuncture", "--file", str(listing), "--yes")

    result = make(copy, "retrain")
    out = result.stdout + result.stderr
    print(out[-6000:])
    assert result.returncode != 0
    assert "REFUSED" in out and "exercise_after:" in out.split("Why:")[1]
    assert digest(model) == served
    gym = live.send("patient-gym", "Can I go to the gym after dry needling?")
    assert "avoid high-impact" in reply_texts(gym)

    assert make(copy, "faq-undo").returncode == 0
    assert {p.name: p.read_bytes() for p in (copy / "data").glob("*.yml")} == data_before

