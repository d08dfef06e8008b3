"""The development sets (bench/data/) stay apart from the training data, and hold their figures."""

from __future__ import annotations

import csv
import json
import re
from typing import List, Optional, Tuple

import pytest
import yaml
from rasa.shared.nlu.training_data.training_data import TrainingData

from bench.devset import DATA, RESULTS, SMALL_TALK, Turn, withhold_test_errors
from components.described_emergencies import DescribedEmergencyDetector
from components.minilm_featurizer import sentence_vectors
from retrain.text import near_duplicate
from retrain.trainingdata import nlu_training_data
from tests.conftest import PROJECT

LANGUAGE = re.compile(r"language:[a-z]{2}")
LABELS = {
    "faq/what_is_dry_needling", "faq/vs_acupuncture", "faq/what_is_trigger_point",
    "faq/trigger_point_causes", "faq/how_it_works", "faq/when_to_use", "faq/rehab_program",
    "faq/exercise_after", "handoff", "emergency", "self_harm", *SMALL_TALK,
}


def training_texts() -> List[str]:
    """Every NLU training example of data/, the described emergencies' lookup tables too."""
    data = nlu_training_data(PROJECT / "data")
    return [m.get("text") for m in data.intent_examples] + described_texts(data)


def described_texts(data: Optional[TrainingData] = None) -> List[str]:
    """The examples of the DescribedEmergencyDetector's lookup tables (data/emergency.yml)."""
    names = DescribedEmergencyDetector.get_default_config()["lookups"]
    tables = (data or nlu_training_data(PROJECT / "data")).lookup_tables
    return [e for table in tables if table["name"] in names for e in table["elements"]]


def development_texts() -> List[Tuple[str, str]]:
    """(set, text) of every message of the development sets, small talk left out."""
    rows: List[Tuple[str, str]] = []
    for name in ("real_questions.csv", "personas.csv"):
        with (DATA / name).open(encoding="utf-8", newline="") as handle:
            rows += [(name, row["text"]) for row in csv.DictReader(handle)]
    conversations = yaml.safe_load((DATA / "conversations.yml").read_text(encoding="utf-8"))
    for conversation in conversations["conversations"]:
        for turn in conversation["turns"]:
            if not set(turn["expect"]) <= set(SMALL_TALK):
                rows.append(("conversations.yml", turn["user"]))
    return rows


def leaks(rows: List[Tuple[str, str]], training: List[str]) -> List[Tuple[str, str]]:
    """The (set, text) rows that repeat a training example, exactly or nearly."""
    return [(name, text) for name, text in rows if any(near_duplicate(text, t) for t in training)]


def test_development_sets_are_not_training_data() -> None:
    """No development message is a training example, nor one with a word or so changed."""
    assert not leaks(development_texts(), training_texts())


def test_described_emergencies_are_not_near_development_messages() -> None:
    """The described emergencies were written apart: none is nearer a development message
    than 0.75 in the sentence encoder (writers of both imagine patients alike)."""
    described = described_texts()
    development = [text for _, text in development_texts()]
    nearest = (sentence_vectors(described) @ sentence_vectors(development).T).max(axis=1)
    assert len(described) > 500
    assert not [t for t, s in zip(described, nearest, strict=True) if s >= 0.75]


@pytest.mark.parametrize("copy", [
    "what exactly is intramuscular stimulation in physio terms please",  # a word added
    "what exactly is intramuscular stimulation in physiotherapy terms",  # a word changed
    "what is intramuscular stimulation in physio terms",  # a word dropped
    "in physio terms what exactly is intramuscular stimulation",  # reordered
    "What's IMS?",  # case and punctuation
])
def test_a_training_example_reworded_trivially_is_caught(copy: str) -> None:
    """The check above catches a copied example with one word changed, dropped or moved."""
    training = ["what exactly is intramuscular stimulation in physio terms", "whats ims"]
    assert leaks([("x", copy)], training) == [("x", copy)]


def test_a_different_question_is_not_a_copy() -> None:
    """Short questions that differ in their subject are two questions."""
    assert not leaks([("x", "what is a trigger point")], ["what is dry needling"])


@pytest.mark.parametrize("name", ["real_questions.csv", "personas.csv"])
def test_every_label_is_known(name: str) -> None:
    """Labels are page answers, handoff, emergency, self_harm or language:<code> (several
    joined by '+')."""
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            labels = set(row["label"].split("+"))
            assert {lab for lab in labels if not LANGUAGE.fullmatch(lab)} <= LABELS, row


def test_real_questions_keep_their_source_and_split() -> None:
    """Each real question names its public page; one page is in one split only."""
    splits = {}
    with (DATA / "real_questions.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            assert row["source"].startswith("http"), row
            assert splits.setdefault(row["source"], row["split"]) == row["split"], row
    assert set(splits.values()) == {"validation", "test"}


def test_committed_results_name_every_target() -> None:
    """bench/results/devset.json, written by `make bench-dev`, records each target's outcome."""
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert {"real_test", "real_validation", "personas_test", "personas_validation", "conversations"} <= set(
        results["results"]
    )
    assert len(results["targets"]) == 6


def test_committed_results_keep_the_test_sets_wrong_turns_out() -> None:
    """Only the validation sets' wrong turns are saved, so nobody tunes on the test rows."""
    results = json.loads(RESULTS.read_text(encoding="utf-8"))["results"]
    assert all("errors" not in report for name, report in results.items() if name.endswith("_test"))
    assert "errors" in results["real_validation"]


def test_the_test_sets_wrong_turns_are_withheld() -> None:
    error = {"text": "t", "expect": ["handoff"], "got": ["faq/x"]}
    kept = withhold_test_errors(
        {"real_test": {"faq_right": 0.5, "errors": [error]}, "conversations": {"errors": [error]}}
    )
    assert kept == {"real_test": {"faq_right": 0.5}, "conversations": {"errors": [error]}}


def test_a_right_answer_offered_as_a_button_counts_apart() -> None:
    """"Did you mean" buttons holding the answer asked for are a tap away, not a right answer;
    two answers asked for need both among the buttons; a hand-off asked for is not offered."""
    offered = ["faq/what_is_trigger_point", "faq/trigger_point_causes"]
    tapped = Turn("where do knots come from", ["faq/trigger_point_causes"], ["handoff"], offered=offered)
    assert tapped.right_offered and not tapped.right()
    both = Turn(
        "what is dn and how does it work", ["faq/what_is_dry_needling", "faq/how_it_works"], ["handoff"],
        offered=["faq/what_is_dry_needling"],
    )
    assert not both.right_offered
    assert not Turn("is it safe", ["handoff"], ["handoff"], offered=offered).right_offered
