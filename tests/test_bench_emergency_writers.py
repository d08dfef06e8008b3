"""bench/emergency_writers.py: the banks it holds out."""

from __future__ import annotations

from bench.emergency_writers import banks
from components.described_emergencies import CALM


def test_the_banks_are_read_with_their_kinds() -> None:
    """Every described example of data/emergency.yml, once, with its lookup's kind."""
    rows = banks(None)
    kinds = {kind for _, kind in rows}
    assert kinds == {"emergency", "self_harm", CALM}
    assert len({text for text, _ in rows}) == len(rows)
    assert all(text and not text.startswith("-") for text, _ in rows)

