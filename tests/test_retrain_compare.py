"""The promotion gate of `make retrain` (retrain/compare.py), on made-up held-out results."""

from __future__ import annotations

from typing import List, Tuple

from retrain.compare import Comparison, Rules
from retrain.heldout import Report

KEYS = {"a", "b", "c", "d", "e", "f", "g", "h"}
Row = Tuple[str, str, str]


def baseline() -> List[Row]:
    """12 questions per FAQ key, 60 out-of-scope, 6 emergencies; all right."""
    rows = [(f"{k} question {i}", f"faq/{k}", f"faq/{k}") for k in sorted(KEYS) for i in range(12)]
    rows += [(f"oos {i}", "out_of_scope", "out_of_scope") for i in range(60)]
    rows += [(f"help {i}", "emergency", "emergency") for i in range(6)]
    return rows


def spoil(rows: List[Row], gold: str, count: int, prediction: str) -> List[Row]:
    """The first `count` questions of `gold` now predicted as `prediction`."""
    out, done = [], 0
    for text, g, p in rows:
        if g == gold and done < count:
            out.append((text, g, prediction))
            done += 1
        else:
            out.append((text, g, p))
    return out


def compare(new: List[Row], new_keys: set = KEYS, old: List[Row] | None = None) -> Comparison:
    """A comparison against the all-right baseline."""
    return Comparison(Report(new), set(new_keys), Report(old or baseline()), set(KEYS), Rules())


def test_the_same_results_are_accepted() -> None:
    """No change, no reason to refuse."""
    comparison = compare(baseline())
    assert comparison.accepted and "FAQ accuracy" in comparison.render()


def test_one_key_much_worse_is_refused_with_the_reason() -> None:
    """3 of 12 lost on one key: more than the 2 allowed per FAQ."""
    comparison = compare(spoil(baseline(), "faq/b", 3, "faq/c"), KEYS)
    reasons = comparison.reasons()
    assert "b: 12 -> 9 of 12 test questions right (3 fewer; at most 2 allowed)" in reasons, reasons
    assert "faq/b" not in " ".join(reasons)
    assert "b question 0" in comparison.render()  # the lost question is shown


def test_small_changes_within_tolerance_are_accepted() -> None:
    """One question lost on one key and one out-of-scope handed... answered: small noise."""
    new = spoil(spoil(baseline(), "faq/b", 1, "faq/c"), "out_of_scope", 1, "faq/a")
    assert compare(new).accepted


def test_overall_faq_accuracy_fall_is_refused() -> None:
    """2 questions lost on each of two keys: each key within 2, overall -4.2 points."""
    new = spoil(spoil(baseline(), "faq/a", 2, "nlu_fallback"), "faq/b", 2, "nlu_fallback")
    reasons = compare(new).reasons()
    assert len(reasons) == 1 and reasons[0].startswith("FAQ accuracy"), reasons


def test_a_missed_emergency_is_called_out_and_strict_labels_refuse() -> None:
    """One of 6 emergencies lost: allowed but warned; two lost, or one when strict: refused."""
    new = spoil(baseline(), "emergency", 1, "out_of_scope")
    comparison = compare(new)
    assert comparison.accepted
    assert comparison.warnings() and "help 0" in comparison.warnings()[0]
    rules = Rules(strict_labels=("emergency",))
    strict = Comparison(Report(new), set(KEYS), Report(baseline()), set(KEYS), rules)
    assert any(r.startswith("emergency") for r in strict.reasons()), strict.reasons()
    assert not compare(spoil(baseline(), "emergency", 2, "out_of_scope")).accepted


def test_handoff_fall_is_refused() -> None:
    """Out-of-scope questions answered instead of handed off."""
    reasons = compare(spoil(baseline(), "out_of_scope", 3, "faq/a")).reasons()
    assert any(r.startswith("Out-of-scope hand-off") for r in reasons), reasons


def test_a_new_key_is_reported_not_compared() -> None:
    """Test questions of a key only the new model knows; an out-of-scope one it now answers."""
    new = baseline() + [("what to wear 1", "faq/wear", "faq/wear"), ("what to wear 2", "faq/wear", "faq/a")]
    new = spoil(new, "out_of_scope", 2, "faq/wear")
    old = baseline() + [("what to wear 1", "faq/wear", "out_of_scope"),
                        ("what to wear 2", "faq/wear", "out_of_scope")]
    comparison = compare(new, KEYS | {"wear"}, old)
    assert comparison.accepted, comparison.reasons()
    assert comparison.new_key_results() == {"wear": (1, 2)}
    assert [r[0] for r in comparison.answered_by_new_faq()] == ["oos 0", "oos 1"]
    report = comparison.render()
    assert "wear" in report and "1/2 test questions answered" in report and "relabelled" in report


def test_a_new_key_without_test_questions_is_pointed_out() -> None:
    """Its quality is not measured: the report says so."""
    assert "no test questions" in compare(baseline(), KEYS | {"wear"}).render()


def test_below_the_floor_is_refused_even_within_tolerance() -> None:
    """91.7% -> 89.6%: only 2.1 points... but under a 90% minimum."""
    old = spoil(baseline(), "faq/a", 8, "nlu_fallback")
    new = spoil(spoil(old, "faq/b", 1, "nlu_fallback"), "faq/c", 1, "nlu_fallback")
    rules = Rules(tolerance=0.05, faq_floor=0.90)
    comparison = Comparison(Report(new), set(KEYS), Report(old), set(KEYS), rules)
    assert any("below the minimum" in r for r in comparison.reasons()), comparison.reasons()


def test_without_a_current_model_anything_is_accepted() -> None:
    """First training: nothing to compare with."""
    comparison = Comparison(Report(spoil(baseline(), "faq/a", 12, "nlu_fallback")), set(KEYS))
    assert comparison.accepted and "no current model" in comparison.render()
