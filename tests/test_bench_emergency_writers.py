"""bench/emergency_writers.py: the banks it holds out and the detector's reading."""

from __future__ import annotations

import numpy as np
import pytest

from bench.emergency_writers import alarm_margin, banks
from components.described_emergencies import CALM


def test_the_banks_are_read_with_their_kinds() -> None:
    """Every described example of data/emergency.yml, once, with its lookup's kind."""
    rows = banks(None)
    kinds = {kind for _, kind in rows}
    assert kinds == {"emergency", "self_harm", CALM}
    assert len({text for text, _ in rows}) == len(rows)
    assert all(text and not text.startswith("-") for text, _ in rows)


def test_the_reading_is_the_sentence_most_nearer_an_alarm_than_calm() -> None:
    """As the detector reads: the sentence whose nearest alarming example most outdoes
    its nearest calm one decides, with that example's similarity."""
    examples = np.eye(3, dtype=np.float32)
    alarming = np.array([True, False, False])
    vectors = np.array([[0.9, 0.8, 0.0], [0.7, 0.0, 0.1]], dtype=np.float32)
    similarity, margin = alarm_margin(vectors, examples, alarming)
    assert (similarity, margin) == pytest.approx((0.7, 0.6), abs=1e-6)
