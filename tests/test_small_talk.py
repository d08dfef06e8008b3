"""Courtesies said together (core/small_talk.py)."""

from __future__ import annotations

from typing import List

import pytest

from core.small_talk import courtesies, leading_greeting


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("thx so much, have a good one", ["thank", "goodbye"]),
        ("ok thank u, bye", ["thank", "goodbye"]),
        ("thank you and goodbye", ["thank", "goodbye"]),
        ("no more questions, thank you kindly", ["deny", "thank"]),
        ("no that's everything, thanks, bye", ["deny", "thank", "goodbye"]),
        ("awesome thanks, bye!", ["thank", "goodbye"]),
        ("Thank you dear, that's very kind of you.", ["thank"]),
        ("hi there, thanks", ["greet", "thank"]),
    ],
)
def test_a_message_of_courtesies_only(text: str, said: List[str]) -> None:
    assert courtesies(text) == said


@pytest.mark.parametrize("text", ["Thanks!", "hello", "hi there", "ok", "nope"])
def test_a_lone_courtesy_is_left_to_the_classifiers(text: str) -> None:
    assert courtesies(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "thanks, what is IMS?",
        "thanks for nothing",
        "bye, I can't breathe",
        "history of IMS",
        "high blood pressure and needling?",
    ],
)
def test_anything_else_in_the_message_leaves_it_to_the_classifiers(text: str) -> None:
    assert courtesies(text) == []


def test_a_greeting_before_a_question() -> None:
    assert leading_greeting("hello, what does the needle do to the muscle") == (
        True, "what does the needle do to the muscle")
    assert leading_greeting("Hey there! whats a trigger point") == (True, "whats a trigger point")
    assert leading_greeting("Hello? anybody there") == (True, "anybody there")
    assert leading_greeting("history of IMS") == (False, "history of IMS")
    assert leading_greeting("highly recommended?")[0] is False
