"""Generalisation: phrasings nobody trained on (tests/nlu_heldout.yml)."""

from __future__ import annotations

from collections import Counter

from rasa.shared.nlu.training_data.loading import load_data

from bench.heldout import DEFAULT_TEST_FILE, Report, evaluate, load_examples
from tests.conftest import PROJECT

FAQ_KEYS = {
    "what_is_dry_needling", "vs_acupuncture", "what_is_trigger_point",
    "trigger_point_causes", "how_it_works", "when_to_use", "rehab_program",
    "exercise_after",
}


def _normalise(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?!. ")


def test_heldout_set_is_big_enough() -> None:
    """At least 8 phrasings per FAQ key and 40 out-of-scope questions."""
    counts = Counter(gold for _, gold in load_examples(PROJECT / DEFAULT_TEST_FILE))
    for key in FAQ_KEYS:
        assert counts[f"faq/{key}"] >= 8, key
    assert counts["out_of_scope"] >= 40


def test_heldout_phrasings_are_not_training_examples() -> None:
    """No held-out phrasing appears in the training data."""
    files = [PROJECT / "data" / name for name in ("nlu.yml", "out_of_scope.yml")]
    training = {
        _normalise(m.get("text"))
        for path in files
        for m in load_data(str(path)).intent_examples
    }
    leaked = [t for t, _ in load_examples(PROJECT / DEFAULT_TEST_FILE) if _normalise(t) in training]
    assert not leaked


def test_heldout_faq_accuracy_and_handoff(agent) -> None:  # type: ignore[no-untyped-def]
    """FAQ accuracy >= 90% and out-of-scope hand-off >= 90% on unseen phrasings."""
    report: Report = evaluate(agent, PROJECT / DEFAULT_TEST_FILE)
    print(report.summary())
    assert report.faq_accuracy >= 0.90, report.summary()
    assert report.oos_handoff >= 0.90, report.summary()
    assert report.intent_accuracy("emergency") >= 0.8, report.summary()
