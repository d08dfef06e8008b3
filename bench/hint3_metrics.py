"""The HINT3 paper's metrics, computed from (gold, predicted intent, confidence) rows.

Protocol (Arora et al. 2020, as summarised in the dataset's PROVENANCE.md): a top
intent whose confidence is below the threshold t counts as NO_NODES_DETECTED;
in-scope accuracy = correct top intent among in-scope test rows; OOS recall = share
of NO_NODES_DETECTED rows predicted as such; MCC = sklearn's matthews_corrcoef over
all labels; thresholds 0.1, 0.2, ..., 0.9.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Sequence, Tuple

from rasa.nlu.classifiers.fallback_classifier import (
    is_fallback_classifier_prediction,
    undo_fallback_prediction,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from sklearn.metrics import matthews_corrcoef

from bench.hint3_data import OOS_LABEL

THRESHOLDS: Tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 10))
ACCURACY_THRESHOLD = 0.1
RECALL_THRESHOLD = 0.5


def top_intent(parse: Dict[str, Any]) -> Tuple[str, float]:
    """The top intent and its confidence, ignoring the FallbackClassifier.

    When the top intent is `nlu_fallback`, Rasa's own `undo_fallback_prediction`
    restores the first non-fallback entry of the ranking (with its confidence).
    A parse whose ranking holds nothing but the fallback counts as out of scope
    with confidence 0.
    """
    if is_fallback_classifier_prediction(parse):
        parse = undo_fallback_prediction(parse)
        if is_fallback_classifier_prediction(parse):
            return OOS_LABEL, 0.0
    intent = parse.get(INTENT) or {}
    name = intent.get(INTENT_NAME_KEY)
    if not name:
        return OOS_LABEL, 0.0
    return str(name), float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)


def apply_threshold(intent: str, confidence: float, threshold: float) -> str:
    """The label after thresholding: out of scope when confidence < threshold."""
    return OOS_LABEL if confidence < threshold else intent


def thresholded(
    intents: Sequence[str], confidences: Sequence[float], threshold: float
) -> List[str]:
    """`apply_threshold` over a whole test set."""
    return [apply_threshold(i, c, threshold) for i, c in zip(intents, confidences, strict=True)]


def inscope_accuracy(golds: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of in-scope rows (gold != NO_NODES_DETECTED) with the correct label."""
    rows = [(g, p) for g, p in zip(golds, predicted, strict=True) if g != OOS_LABEL]
    return sum(g == p for g, p in rows) / len(rows) if rows else float("nan")


def oos_recall(golds: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of NO_NODES_DETECTED rows predicted as NO_NODES_DETECTED."""
    rows = [p for g, p in zip(golds, predicted, strict=True) if g == OOS_LABEL]
    return sum(p == OOS_LABEL for p in rows) / len(rows) if rows else float("nan")


def accuracy(golds: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of all rows (in scope and out of scope) with the correct label."""
    return sum(g == p for g, p in zip(golds, predicted, strict=True)) / len(golds) if golds else float("nan")


def mcc(golds: Sequence[str], predicted: Sequence[str]) -> float:
    """sklearn's multi-class Matthews correlation over all labels."""
    return float(matthews_corrcoef(list(golds), list(predicted)))


@dataclass(frozen=True)
class ThresholdMetrics:
    """All four metrics at one threshold."""

    threshold: float
    inscope_acc: float
    oos_recall: float
    accuracy: float
    mcc: float


def metrics_at(
    golds: Sequence[str],
    intents: Sequence[str],
    confidences: Sequence[float],
    threshold: float,
) -> ThresholdMetrics:
    """Metrics of one test set at one threshold."""
    predicted = thresholded(intents, confidences, threshold)
    return ThresholdMetrics(
        threshold=threshold,
        inscope_acc=inscope_accuracy(golds, predicted),
        oos_recall=oos_recall(golds, predicted),
        accuracy=accuracy(golds, predicted),
        mcc=mcc(golds, predicted),
    )


def curve(
    golds: Sequence[str],
    intents: Sequence[str],
    confidences: Sequence[float],
    thresholds: Sequence[float] = THRESHOLDS,
) -> List[ThresholdMetrics]:
    """Metrics at every threshold of the grid."""
    return [metrics_at(golds, intents, confidences, t) for t in thresholds]


def best_mcc(points: Sequence[ThresholdMetrics]) -> ThresholdMetrics:
    """The point with the highest MCC (the lowest threshold among ties)."""
    return max(points, key=lambda p: (p.mcc, -p.threshold))


def at_threshold(points: Sequence[ThresholdMetrics], threshold: float) -> ThresholdMetrics:
    """The point of the curve at a given threshold."""
    for point in points:
        if abs(point.threshold - threshold) < 1e-9:
            return point
    raise KeyError(f"threshold {threshold} not on the curve")


@dataclass(frozen=True)
class Summary:
    """The paper's headline numbers for one training set."""

    inscope_acc_at_01: float
    oos_recall_at_05: float
    mcc_at_05: float
    best_mcc: float
    best_mcc_threshold: float
    inscope_acc_at_best: float
    oos_recall_at_best: float
    accuracy_at_best: float

    def as_dict(self) -> Dict[str, float]:
        """Plain dict (for JSON/CSV)."""
        return asdict(self)


def summarise(points: Sequence[ThresholdMetrics]) -> Summary:
    """In-scope accuracy at 0.1, OOS recall and MCC at 0.5, best MCC and where."""
    best = best_mcc(points)
    at_05 = at_threshold(points, RECALL_THRESHOLD)
    return Summary(
        inscope_acc_at_01=at_threshold(points, ACCURACY_THRESHOLD).inscope_acc,
        oos_recall_at_05=at_05.oos_recall,
        mcc_at_05=at_05.mcc,
        best_mcc=best.mcc,
        best_mcc_threshold=best.threshold,
        inscope_acc_at_best=best.inscope_acc,
        oos_recall_at_best=best.oos_recall,
        accuracy_at_best=best.accuracy,
    )
