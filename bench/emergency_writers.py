"""Described emergencies from a writer the detector never saw: leave one bank out.

The described emergencies of data/emergency.yml come from groups of writers, each group
being what the file held at the last revision before the next group's bank (`WRITERS`).
Each group in turn is held out: the DescribedEmergencyDetector's rule is given the other
groups and every training example, and reads the held-out group's emergencies that the
red-flag phrases miss (caught), its calm look-alikes and the development sets' calm
validation messages (false alarms). Messages that read calm (`calm_reading`) are left out,
as the detector clears them; its stricter bar for thoughts of self-harm asked as a
question is not applied. This measures how the detector's thresholds carry over to new
wordings without tuning on the development sets.
A logistic regression on the same sentence vectors is the alternative measured beside it.

    .venv/bin/python -m bench.emergency_writers
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bench.devset import load_singles
from components.described_emergencies import CALM, DescribedEmergencyDetector, nearest_emergency, sentences
from components.minilm_featurizer import sentence_vectors
from core.red_flags import calm_reading, find_red_flag
from retrain.trainingdata import nlu_training_data

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results" / "emergency_writers.json"
# Each group of writers and the last revision before the next group's bank: writers 1-2
# (before d3c80ba), writer 3 (before the fourth writer's bank); writer 4 is the rest.
WRITERS = (("writers 1-2", "76e9636"), ("writer 3", "dba2b27"), ("writer 4", None))
# (similarity, margin) of the detector's rule
RULES = [(0.55, 0.1), (0.5, 0.1), (0.55, 0.05), (0.5, 0.05), (0.45, 0.1)]
LOGISTIC_THRESHOLDS = [0.8, 0.9, 0.95]

Example = Tuple[str, str]


def banks(revision: Optional[str]) -> List[Example]:
    """(text, kind) of every described example in data/emergency.yml at `revision`
    (None: the working tree)."""
    path = "data/emergency.yml"
    text = (
        (PROJECT / path).read_text(encoding="utf-8")
        if revision is None
        else subprocess.run(
            ["git", "show", f"{revision}:{path}"], cwd=PROJECT, capture_output=True, text=True, check=True
        ).stdout
    )
    kinds = DescribedEmergencyDetector.get_default_config()["lookups"]
    return [
        (element, kinds[table["name"]])
        for table in RasaYAMLReader().reads(text).lookup_tables
        if table["name"] in kinds
        for element in table["elements"]
    ]


def calm_validation_messages() -> List[str]:
    """The development sets' single validation messages that are not emergencies."""
    return [
        turn.text
        for name in ("real_questions.csv", "personas.csv")
        for turn in load_singles(name)["validation"]
        if not turn.emergency_expected
    ]


class Vectors:
    """Sentence vectors, each text encoded once."""

    def __init__(self) -> None:
        self._cache: Dict[str, np.ndarray] = {}

    def __call__(self, texts: List[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            self._cache.update(zip(missing, sentence_vectors(missing), strict=True))
        return np.asarray([self._cache[t] for t in texts])


def evaluate(train: List[Example], held_out: List[Example], calm_messages: List[str],
             intent_examples: List[Example], vectors: Vectors) -> Dict[str, object]:
    """Caught and false alarms of each rule and of the logistic regression."""
    from sklearn.linear_model import LogisticRegression

    examples = train + intent_examples
    matrix = vectors([t for t, _ in examples])
    kinds = np.asarray([k for _, k in examples])

    def unflagged(texts: List[str]) -> List[str]:
        return [t for t in texts if not find_red_flag(t) and calm_reading(t) in (None, "a question")]

    groups = {
        "emergencies": unflagged([t for t, k in held_out if k != CALM]),
        "calm_look_alikes": unflagged([t for t, k in held_out if k == CALM]),
        "calm_validation": unflagged(calm_messages),
    }
    parts = {name: [sentences(t) for t in texts] for name, texts in groups.items()}
    readings = {
        name: [nearest_emergency(vectors(p), matrix, kinds, p) for p in found]
        for name, found in parts.items()
    }
    result: Dict[str, object] = {"sizes": {name: len(texts) for name, texts in groups.items()}}
    for similarity, margin in RULES:
        result[f"rule {similarity}/{margin}"] = {
            name: sum(r is not None and r.similarity >= similarity and r.margin >= margin for r in found)
            for name, found in readings.items()
        }
    model = LogisticRegression(class_weight="balanced", max_iter=2000).fit(matrix, kinds != CALM)
    scores = {
        name: [float(model.predict_proba(vectors(p))[:, 1].max()) for p in found]
        for name, found in parts.items()
    }
    for threshold in LOGISTIC_THRESHOLDS:
        result[f"logistic {threshold}"] = {
            name: sum(s >= threshold for s in found) for name, found in scores.items()
        }
    return result


def writer_groups() -> Dict[str, List[Example]]:
    """Today's described examples by group of writers, each example in the first group
    that had it."""
    current = set(banks(None))
    groups: Dict[str, List[Example]] = {}
    for name, revision in WRITERS:
        groups[name] = [row for row in banks(revision) if row in current]
        current -= set(groups[name])
    return groups


def main() -> int:
    """Hold out each group of writers in turn; print and save the figures."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    groups = writer_groups()
    data = nlu_training_data(PROJECT / "data")
    intent_examples = [
        (m.get("text"), m.get("intent") if m.get("intent") in ("emergency", "self_harm") else CALM)
        for m in data.intent_examples
    ]
    vectors, calm = Vectors(), calm_validation_messages()
    results = {
        f"{held} held out": evaluate(
            [row for name, rows in groups.items() if name != held for row in rows],
            groups[held], calm, intent_examples, vectors,
        )
        for held in groups
    }
    for split, figures in results.items():
        print(split, figures["sizes"])
        for name, counts in figures.items():
            if name != "sizes":
                print(f"  {name:16s} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
