"""Choose the FallbackClassifier threshold by cross-validation on the assistant's data.

Each fold trains the real pipeline (config.yml) on the other folds and parses its own
examples. The FallbackClassifier's decision is undone, so every prediction keeps the
SimilarityGate's score; then, for each candidate threshold, an example is:
- answered right: an FAQ example given its own answer (score >= threshold);
- answered wrong: any example given another FAQ answer (score >= threshold);
- handed off: everything else (score below threshold, or a hand-off intent).
A wrong medical answer costs twice an unneeded hand-off, so the threshold and veto margin
with the lowest `2 * wrong + needless hand-offs` are printed (the held-out test set plays
no part).

    python -m bench.threshold [--folds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import tempfile
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.nlu.classifiers.fallback_classifier import (
    is_fallback_classifier_prediction,
    undo_fallback_prediction,
)
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.model_selection import StratifiedKFold

from components.similarity_gate import GATE_OUTPUT, gated_score
from core.handoff import HANDOFF_INTENTS
from retrain.heldout import gold_label, predicted_label
from retrain.trainingdata import nlu_training_data

THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.91, 0.05)]
MARGINS = [0.0, 0.025, 0.05, 0.075, 0.1]
RESPONSE_THRESHOLD = 0.5  # config.yml's SimilarityGate response_threshold
UNGATED = {"emergency"}  # config.yml's SimilarityGate ungated_intents
WRONG_ANSWER_COST = 2.0
RESULTS = Path("bench/results/threshold_cv.json")
PREDICTIONS = Path("bench/results/threshold_cv_predictions.csv")


@dataclass(frozen=True)
class Outcome:
    """One cross-validated prediction and the similarity gate's evidence for it."""

    gold: str
    predicted: str
    similarity: float
    response_confidence: float
    veto_similarity: float
    ungated: bool

    def score(self, veto_margin: float) -> float:
        """The gated confidence under a given veto margin."""
        if self.ungated:
            return 1.0
        return gated_score(
            self.similarity, self.response_confidence, self.veto_similarity,
            RESPONSE_THRESHOLD, veto_margin,
        )


def load_training_data() -> TrainingData:
    """All NLU examples and FAQ responses of the assistant."""
    return nlu_training_data(Path("data"))


async def _parse(agent: Agent, texts: List[str]) -> List[dict]:
    return [await agent.parse_message(text) for text in texts]


def run_fold(data: TrainingData, train_idx: np.ndarray, test_idx: np.ndarray, workdir: Path) -> List[Outcome]:
    """Train on one split and score the other."""
    examples = data.intent_examples
    train = TrainingData([examples[i] for i in train_idx], responses=data.responses)
    nlu_file = workdir / "nlu.yml"
    RasaYAMLWriter().dump(nlu_file, train)
    model = train_nlu("config.yml", str(nlu_file), str(workdir), fixed_model_name="fold")
    agent = Agent.load(model)
    tests = [examples[i] for i in test_idx]
    parses = asyncio.run(_parse(agent, [m.get("text") for m in tests]))
    outcomes = []
    for message, parse in zip(tests, parses, strict=True):
        if is_fallback_classifier_prediction(parse):
            parse = undo_fallback_prediction(parse)
        gate = parse.get(GATE_OUTPUT) or {}
        outcomes.append(
            Outcome(
                gold_label(message),
                predicted_label(parse),
                gate.get("similarity", 0.0),
                gate.get("response_confidence", 0.0),
                gate.get("veto_similarity", 0.0),
                parse["intent"]["name"] in UNGATED,
            )
        )
    return outcomes


def is_answer(label: str) -> bool:
    """Whether a label makes the assistant give a medical (FAQ) answer."""
    return label.startswith("faq/")


def tally(outcomes: List[Outcome], threshold: float, veto_margin: float) -> Dict[str, float]:
    """Right answers, wrong answers and needless hand-offs at one setting."""
    right = wrong = needless = 0
    faq_total = sum(is_answer(o.gold) for o in outcomes)
    oos_total = sum(o.gold == "out_of_scope" for o in outcomes)
    oos_handed = 0
    for o in outcomes:
        answers = is_answer(o.predicted) and o.score(veto_margin) >= threshold
        if answers and o.predicted == o.gold:
            right += 1
        elif answers:
            wrong += 1
        elif is_answer(o.gold):
            needless += 1
        if o.gold == "out_of_scope" and (not answers or o.predicted in HANDOFF_INTENTS):
            oos_handed += 1
    return {
        "threshold": threshold,
        "veto_margin": veto_margin,
        "faq_accuracy": right / max(faq_total, 1),
        "oos_handoff": oos_handed / max(oos_total, 1),
        "wrong_answers": wrong,
        "needless_handoffs": needless,
        "cost": WRONG_ANSWER_COST * wrong + needless,
    }


def main() -> None:
    """Cross-validate, print the threshold table and the cheapest threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    data = load_training_data()
    labels = [gold_label(m) for m in data.intent_examples]
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=42)
    outcomes: List[Outcome] = []
    started = time.monotonic()
    for fold, (train_idx, test_idx) in enumerate(folds.split(labels, labels), start=1):
        print(f"fold {fold}/{args.folds}: training on {len(train_idx)}, scoring {len(test_idx)} "
              f"({time.monotonic() - started:.0f} s)", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            outcomes += run_fold(data, train_idx, test_idx, Path(tmp))
    rows = [tally(outcomes, t, m) for m in MARGINS for t in THRESHOLDS]
    print(f"\n{'margin':>6} {'threshold':>9} {'FAQ acc':>8} {'OOS handoff':>11} {'wrong':>6} "
          f"{'needless':>8} {'cost':>6}")
    for r in rows:
        print(f"{r['veto_margin']:6.2f} {r['threshold']:9.2f} {r['faq_accuracy']:8.1%} "
              f"{r['oos_handoff']:11.1%} {r['wrong_answers']:6d} {r['needless_handoffs']:8d} "
              f"{r['cost']:6.0f}")
    best = min(rows, key=lambda r: (r["cost"], -r["threshold"], -r["veto_margin"]))
    print(f"\nCheapest setting (wrong answer = {WRONG_ANSWER_COST:g} hand-offs): "
          f"threshold {best['threshold']:.2f}, veto margin {best['veto_margin']:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"folds": args.folds, "rows": rows, "best": best}, indent=2))
    with PREDICTIONS.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(list(Outcome.__dataclass_fields__))
        writer.writerows(astuple(o) for o in outcomes)
    print(f"Written to {RESULTS} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
