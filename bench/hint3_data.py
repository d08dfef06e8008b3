"""HINT3 v1 files: reading the CSVs, converting them to Rasa NLU data, published results.

The dataset is read in place (default ../shared/datasets/hint3 beside the repository, or $HINT3_DIR);
nothing of it is copied into the repository. Training files are converted with
Rasa's own `RasaYAMLWriter` and read back with Rasa's reader to prove that every
sentence and label survived the round trip.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence, Tuple

from rasa.shared.nlu.training_data.formats.rasa_yaml import (
    STRIP_SYMBOLS,
    RasaYAMLWriter,
)
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# The shared data sits beside the repository (../shared), wherever it is cloned.
DEFAULT_HINT3_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "hint3"
HINT3_DIR_ENV = "HINT3_DIR"
DATASETS: Tuple[str, ...] = ("sofmattress", "curekart", "powerplay11")
VARIANTS: Tuple[str, ...] = ("full", "subset")
OOS_LABEL = "NO_NODES_DETECTED"
PLATFORMS: Tuple[str, ...] = ("rasa", "dialogflow", "luis", "haptik", "bert")
PUBLISHED_FILE = "published_results.csv"


class Example(NamedTuple):
    """One CSV row: a user sentence and its label."""

    sentence: str
    label: str


@dataclass(frozen=True)
class PublishedRow:
    """One platform's published summary for one training set (paper, HINT3 v1)."""

    platform: str
    dataset: str
    inscope_acc_at_01: float
    oos_recall_at_05: float
    mcc_at_05: float
    best_mcc: float
    best_mcc_threshold: float


def resolve_hint3_dir(cli_value: str | None = None) -> Path:
    """The HINT3 root: the CLI value, else $HINT3_DIR, else the shared default."""
    value = cli_value or os.environ.get(HINT3_DIR_ENV)
    return Path(value).expanduser().resolve() if value else DEFAULT_HINT3_DIR


def train_path(root: Path, dataset: str, variant: str) -> Path:
    """v1/train/{dataset}_train.csv (full) or {dataset}_subset_train.csv (subset)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    stem = dataset if variant == "full" else f"{dataset}_subset"
    return root / "v1" / "train" / f"{stem}_train.csv"


def test_path(root: Path, dataset: str) -> Path:
    """v1/test/{dataset}_test.csv (the same test set for full and subset)."""
    return root / "v1" / "test" / f"{dataset}_test.csv"


def training_set_name(dataset: str, variant: str) -> str:
    """The name the paper and published_results.csv use: `curekart` or `curekart_subset`."""
    return dataset if variant == "full" else f"{dataset}_subset"


def read_examples(path: Path) -> List[Example]:
    """Rows of a HINT3 CSV (columns `sentence,label`); every row needs both."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"sentence", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected columns sentence,label, got {reader.fieldnames}")
        examples = []
        for line, row in enumerate(reader, start=2):
            sentence, label = row.get("sentence"), (row.get("label") or "").strip()
            if sentence is None or not sentence.strip() or not label:
                raise ValueError(f"{path}:{line}: empty sentence or label")
            examples.append(Example(sentence, label))
    return examples


def label_counts(examples: Sequence[Example]) -> Dict[str, int]:
    """Number of examples per label."""
    return dict(Counter(example.label for example in examples))


def check_labels(train: Sequence[Example], test: Sequence[Example]) -> List[str]:
    """Labels with fewer than Rasa's recommended 2 examples (Rasa only warns).

    Raises if the training set contains the out-of-scope label or if an in-scope
    test label has no training example at all.
    """
    counts = label_counts(train)
    if OOS_LABEL in counts:
        raise ValueError(f"training data must not contain {OOS_LABEL}")
    missing = sorted({e.label for e in test} - set(counts) - {OOS_LABEL})
    if missing:
        raise ValueError(f"test labels without any training example: {missing}")
    minimum = TrainingData.MIN_EXAMPLES_PER_INTENT
    return sorted(label for label, count in counts.items() if count < minimum)


def to_training_data(examples: Sequence[Example]) -> TrainingData:
    """Rasa training data with one intent example per row (label = intent name)."""
    for example in examples:
        if "/" in example.label:
            raise ValueError(f"label {example.label!r} would be a retrieval intent")
    return TrainingData(
        [Message.build(text=e.sentence, intent=e.label) for e in examples]
    )


def intent_pairs(data: TrainingData) -> List[Tuple[str, str]]:
    """(text, intent) of every intent example, in order."""
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def write_nlu_yaml(examples: Sequence[Example], path: Path) -> TrainingData:
    """Write examples as a Rasa YAML NLU file and check Rasa reads back the same.

    Rasa strips surrounding whitespace from examples and drops exact duplicates
    (same text and intent); any other difference (escaping, entity syntax in the
    text, ...) raises ValueError. Returns the training data as Rasa reads it.
    """
    data = to_training_data(examples)
    path.parent.mkdir(parents=True, exist_ok=True)
    RasaYAMLWriter().dump(path, data)
    expected = {(e.sentence.strip(STRIP_SYMBOLS), e.label) for e in examples}
    loaded = load_data(str(path))
    pairs = intent_pairs(loaded)
    if len(pairs) != len(expected) or set(pairs) != expected:
        raise ValueError(f"{path}: Rasa does not read back the examples it was given")
    return loaded


def _float(value: str) -> float:
    return float(value) if value not in ("", None) else float("nan")


def read_published(root: Path) -> List[PublishedRow]:
    """The authors' per-platform summaries from published_results.csv."""
    with (root / PUBLISHED_FILE).open(newline="", encoding="utf-8") as handle:
        return [
            PublishedRow(
                platform=row["platform"],
                dataset=row["dataset"],
                inscope_acc_at_01=_float(row["inscope_acc_at_0.1"]),
                oos_recall_at_05=_float(row["oos_recall_at_0.5"]),
                mcc_at_05=_float(row["mcc_at_0.5"]),
                best_mcc=_float(row["best_mcc"]),
                best_mcc_threshold=_float(row["best_mcc_threshold"]),
            )
            for row in csv.DictReader(handle)
        ]


def published_for(
    rows: Sequence[PublishedRow], dataset: str, variant: str
) -> Tuple[List[PublishedRow], str]:
    """Published rows to compare a training set with, and which set they are for.

    Uses the rows of the same training set when the CSV has them (it has subset
    rows); otherwise falls back to the full-set rows of the dataset.
    """
    name = training_set_name(dataset, variant)
    same = [row for row in rows if row.dataset == name]
    if same:
        return same, name
    return [row for row in rows if row.dataset == dataset], dataset
