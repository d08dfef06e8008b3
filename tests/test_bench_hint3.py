"""Unit tests of the HINT3 benchmark's metric and data code (no training)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.assistant_eval import report_scores
from bench.hint3 import table_rows
from bench.hint3_data import (
    OOS_LABEL,
    Example,
    PublishedRow,
    check_labels,
    intent_pairs,
    published_for,
    read_examples,
    read_published,
    resolve_hint3_dir,
    train_path,
    write_nlu_yaml,
)
from bench.hint3_metrics import (
    THRESHOLDS,
    apply_threshold,
    best_mcc,
    curve,
    inscope_accuracy,
    mcc,
    metrics_at,
    oos_recall,
    summarise,
    thresholded,
    top_intent,
)
from bench.parse_time import percentile

# A tiny test set with hand-computed results (see test_metrics_match_hand_computation).
GOLDS = ["A", "A", "B", OOS_LABEL, OOS_LABEL]
INTENTS = ["A", "B", "B", "A", "B"]
CONFIDENCES = [0.9, 0.3, 0.8, 0.2, 0.6]


def _parse(intent: str, confidence: float, ranking: list) -> dict:
    return {
        "text": "x",
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }


# ---------------------------------------------------------------- thresholds


def test_threshold_grid_is_exact_decimals() -> None:
    assert THRESHOLDS == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def test_below_threshold_is_out_of_scope_and_equal_is_kept() -> None:
    assert apply_threshold("A", 0.29, 0.3) == OOS_LABEL
    assert apply_threshold("A", 0.3, 0.3) == "A"
    assert apply_threshold("A", 0.31, 0.3) == "A"
    assert thresholded(INTENTS, CONFIDENCES, 0.5) == ["A", OOS_LABEL, "B", OOS_LABEL, "B"]


# ---------------------------------------------------------------- nlu_fallback


def test_fallback_is_undone_to_first_real_intent() -> None:
    parse = _parse("nlu_fallback", 0.6, [("nlu_fallback", 0.6), ("B", 0.42), ("A", 0.1)])
    assert top_intent(parse) == ("B", 0.42)


def test_prediction_without_fallback_is_unchanged() -> None:
    parse = _parse("A", 0.8, [("A", 0.8), ("B", 0.1)])
    assert top_intent(parse) == ("A", 0.8)


def test_ranking_of_only_the_fallback_counts_as_out_of_scope() -> None:
    parse = _parse("nlu_fallback", 0.6, [("nlu_fallback", 0.6)])
    assert top_intent(parse) == (OOS_LABEL, 0.0)


# ---------------------------------------------------------------- metrics


def test_metrics_match_hand_computation() -> None:
    # t=0.5 -> predicted A, OOS, B, OOS, B: correct 3 of 5; true counts A2 B1 OOS2,
    # predicted counts A1 B2 OOS2: MCC = (3*5 - (1*2+2*1+2*2)) / sqrt((25-9)*(25-9)) = 7/16.
    at_05 = metrics_at(GOLDS, INTENTS, CONFIDENCES, 0.5)
    assert at_05.mcc == pytest.approx(7 / 16)
    assert at_05.inscope_acc == pytest.approx(2 / 3)
    assert at_05.oos_recall == pytest.approx(1 / 2)
    assert at_05.accuracy == pytest.approx(3 / 5)
    # t=0.1 -> nothing is cut: correct 2; predicted counts A2 B3: MCC = 3/sqrt(12*16).
    at_01 = metrics_at(GOLDS, INTENTS, CONFIDENCES, 0.1)
    assert at_01.mcc == pytest.approx(3 / math.sqrt(12 * 16))
    assert at_01.oos_recall == 0.0


def test_best_mcc_takes_the_lowest_of_tied_thresholds() -> None:
    # t=0.7 and t=0.8 both give A, OOS, B, OOS, OOS: MCC = 11/sqrt(14*16).
    points = curve(GOLDS, INTENTS, CONFIDENCES)
    best = best_mcc(points)
    assert best.threshold == 0.7
    assert best.mcc == pytest.approx(11 / math.sqrt(14 * 16))
    assert [p.threshold for p in points] == list(THRESHOLDS)


def test_summary_reads_the_paper_thresholds() -> None:
    summary = summarise(curve(GOLDS, INTENTS, CONFIDENCES))
    assert summary.inscope_acc_at_01 == pytest.approx(2 / 3)
    assert summary.oos_recall_at_05 == pytest.approx(1 / 2)
    assert summary.mcc_at_05 == pytest.approx(7 / 16)
    assert summary.best_mcc_threshold == 0.7
    assert summary.accuracy_at_best == pytest.approx(4 / 5)


def test_scores_use_only_their_rows() -> None:
    assert inscope_accuracy(["A", OOS_LABEL], ["A", "A"]) == 1.0
    assert oos_recall(["A", OOS_LABEL], [OOS_LABEL, OOS_LABEL]) == 1.0
    assert math.isnan(oos_recall(["A"], ["A"]))
    assert mcc(["A", "B"], ["A", "B"]) == pytest.approx(1.0)


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError):
        inscope_accuracy(["A", "B"], ["A"])


# ---------------------------------------------------------------- CSV -> Rasa data

TRICKY = [
    Example('he said "hi": is #1 (the) [best] choice?', "ASK"),
    Example("  key: value # not a comment  ", "ASK"),
    Example("it's 100% - ok?", "OTHER"),
    Example("- starts with a dash", "OTHER"),
]


def test_conversion_round_trips_through_rasa(tmp_path: Path) -> None:
    data = write_nlu_yaml(TRICKY, tmp_path / "nlu.yml")
    assert sorted(intent_pairs(data)) == sorted(
        (e.sentence.strip(), e.label) for e in TRICKY
    )
    assert data.intents == {"ASK", "OTHER"}
    assert (tmp_path / "nlu.yml").read_text(encoding="utf-8").startswith("version:")


def test_conversion_rejects_text_rasa_would_read_as_an_entity(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_nlu_yaml([Example("[call me](phone)", "ASK")], tmp_path / "nlu.yml")


def test_read_examples_keeps_commas_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "x_train.csv"
    path.write_text('sentence,label\n"a, b ""c""",ASK\nplain,OTHER\n', encoding="utf-8")
    assert read_examples(path) == [Example('a, b "c"', "ASK"), Example("plain", "OTHER")]


def test_check_labels() -> None:
    train = [Example("a", "A"), Example("b", "A"), Example("c", "C")]
    assert check_labels(train, [Example("x", "A"), Example("y", OOS_LABEL)]) == ["C"]
    with pytest.raises(ValueError):
        check_labels(train, [Example("x", "MISSING")])
    with pytest.raises(ValueError):
        check_labels(train + [Example("d", OOS_LABEL)], [])


# ---------------------------------------------------------------- published results


def _published_rows() -> list:
    return [
        PublishedRow("rasa", "d", 0.5, 0.4, 0.3, 0.45, 0.9),
        PublishedRow("luis", "d", 0.5, 0.4, 0.3, 0.55, 0.2),
    ]


def _entry(best: float) -> dict:
    return {
        "dataset": "d",
        "variant": "full",
        "training_set": "d",
        "summary": {
            "inscope_acc_at_01": 0.7,
            "oos_recall_at_05": 0.6,
            "mcc_at_05": 0.5,
            "best_mcc": best,
            "best_mcc_threshold": 0.5,
        },
    }


def test_table_marks_whether_ours_beats_the_best_published() -> None:
    rows = table_rows(_entry(0.56), _published_rows())
    assert [r["system"] for r in rows] == ["ours", "published:rasa", "published:luis"]
    assert rows[0]["beats_best_published_best_mcc"] is True
    assert rows[0]["best_published_platform"] == "luis"
    assert table_rows(_entry(0.55), _published_rows())[0]["beats_best_published_best_mcc"] is False


def test_subset_falls_back_to_full_rows_only_without_subset_rows() -> None:
    rows, name = published_for(_published_rows(), "d", "subset")
    assert name == "d" and len(rows) == 2


HINT3 = resolve_hint3_dir()


@pytest.mark.skipif(not (HINT3 / "published_results.csv").exists(), reason="no HINT3 dataset")
def test_read_published_results() -> None:
    rows = read_published(HINT3)
    assert {r.platform for r in rows} == {"rasa", "dialogflow", "luis", "haptik", "bert"}
    assert len(rows) == 30
    subset, name = published_for(rows, "sofmattress", "subset")
    assert name == "sofmattress_subset" and len(subset) == 5
    rasa = next(r for r in rows if r.platform == "rasa" and r.dataset == "sofmattress")
    assert rasa.best_mcc == pytest.approx(0.5258050832127276)
    assert rasa.best_mcc_threshold == 0.9


@pytest.mark.skipif(not (HINT3 / "v1").exists(), reason="no HINT3 dataset")
def test_every_hint3_training_file_converts(tmp_path: Path) -> None:
    for variant in ("full", "subset"):
        examples = read_examples(train_path(HINT3, "powerplay11", variant))
        data = write_nlu_yaml(examples, tmp_path / f"{variant}.yml")
        assert len(data.intents) == len({e.label for e in examples})


# ---------------------------------------------------------------- assistant reports


def test_report_scores_reads_rasa_report() -> None:
    report = {
        "accuracy": 0.9,
        "macro avg": {"precision": 0.8, "recall": 0.7, "f1-score": 0.75, "support": 10},
        "weighted avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.88, "support": 10},
        "faq": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 4},
    }
    scores = report_scores(report)
    assert scores["macro_f1"] == 0.75 and scores["weighted_f1"] == 0.88
    assert scores["accuracy"] == 0.9


def test_percentile_nearest_rank() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([5.0], 0.95) == 5.0
    assert percentile(list(range(1, 101)), 0.95) == 95
