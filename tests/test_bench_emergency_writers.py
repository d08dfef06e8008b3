"""bench/emergency_writers.py: the banks it holds out."""

from __future__ import annotations

from bench.emergency_writers import banks, writer_groups
from components.described_emergencies import CALM


def test_the_banks_are_read_with_their_kinds() -> None:
    """Every described example of data/emergency.yml, once, with its lookup's kind."""
    rows = banks(None)
    kinds = {kind for _, kind in rows}
    assert kinds == {"emergency", "self_harm", CALM}
    assert len({text for text, _ in rows}) == len(rows)
    assert all(text and not text.startswith("-") for text, _ in rows)


def test_each_described_example_belongs_to_one_group_of_writers() -> None:
    """Holding out a group never leaves one of its examples in the detector's other groups."""
    groups = writer_groups()
    rows = [row for group in groups.values() for row in group]
    assert all(groups.values())
    assert sorted(rows) == sorted(banks(None))
