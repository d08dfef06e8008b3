"""The red-flag layer on its own (components/red_flags.py): one phrasing for each of its
patterns, which only that pattern catches, so that a pattern lost or broken fails here."""

from __future__ import annotations

import re
from typing import List, Tuple

import pytest

from components.red_flags import COMPILED, SELF_HARM, SELF_HARM_COMPILED, find_red_flag, normalise

# (kind, message): each message names one emergency as patients write it.
PHRASES: List[Tuple[str, str]] = [
    ("breathing", "I can't breathe properly since the session"),
    ("breathing", "I'm short of breath"),
    ("breathing", "my breathing feels hard"),
    ("breathing", "my breaths are short"),
    ("breathing", "it hurts when I take a deep breath"),
    ("breathing", "he is not breathing"),
    ("breathing", "I have chest pressure"),
    ("breathing", "my chest is really tight"),
    ("breathing", "there is a pain in my chest"),
    ("breathing", "her lips are turning blue"),
    ("breathing", "he is choking"),
    ("fainting", "my wife fainted in the car"),
    ("fainting", "I think I'm about to faint"),
    ("fainting", "I feel very faint"),
    ("fainting", "he is unconscious"),
    ("fainting", "my dad won't wake up"),
    ("fainting", "my son is not responding to me"),
    ("fainting", "she is having a seizure"),
    ("bleeding", "the needle spot keeps bleeding and it won't stop"),
    ("bleeding", "I cannot stop the bleeding"),
    ("bleeding", "the blood keeps coming"),
    ("bleeding", "it is bleeding heavily"),
    ("bleeding", "there is so much blood"),
    ("bleeding", "blood is pouring from my arm"),
    ("bleeding", "the bandage soaked through"),
    ("bleeding", "I bled through the gauze"),
    ("stroke", "his smile is lopsided"),
    ("stroke", "droopy on the left side"),
    ("stroke", "her words are slurred"),
    ("stroke", "I can't lift my arm"),
    ("stroke", "my arm went numb and I can't find my words"),
    ("stroke", "I think he is having a stroke"),
    ("stroke", "these look like signs of stroke"),
    ("stroke", "stroke symptoms in my mom"),
    ("stroke", "she cannot speak clearly"),
    ("allergy", "I'm going into anaphylaxis"),
    ("allergy", "I'm having a severe allergic reaction"),
    ("allergy", "allergic reaction and my lips are tingling"),
    ("allergy", "my tongue is swelling"),
    ("allergy", "hives and I feel dizzy"),
    ("allergy", "I have hives all over"),
    ("allergy", "where is my epipen"),
    (SELF_HARM, "I feel suicidal"),
    (SELF_HARM, "I want to kill myself"),
    (SELF_HARM, "I want to take my own life"),
    (SELF_HARM, "I just want to end it all"),
    (SELF_HARM, "I keep thinking about dying"),
    (SELF_HARM, "I don't want to wake up tomorrow"),
    (SELF_HARM, "everyone would be better off dead"),
    (SELF_HARM, "there's no point in living like this"),
    (SELF_HARM, "I want to hurt myself"),
    (SELF_HARM, "I have been self harming"),
]


def patterns() -> List[Tuple[str, re.Pattern]]:
    """Every (kind, pattern) of the layer."""
    found = [(SELF_HARM, p) for p in SELF_HARM_COMPILED]
    return found + [(kind, p) for kind, compiled in COMPILED.items() for p in compiled]


@pytest.mark.parametrize(("kind", "text"), PHRASES)
def test_each_phrasing_is_caught_as_its_kind(kind: str, text: str) -> None:
    flag = find_red_flag(text)
    assert flag is not None and flag.kind == kind, (text, flag)


def test_every_pattern_has_a_phrasing_only_it_catches() -> None:
    """So removing or breaking any one pattern makes a phrasing above go unnoticed."""
    texts = [normalise(text) for _, text in PHRASES]
    lonely = [
        pattern.pattern
        for _, pattern in patterns()
        if not any(
            pattern.search(text) and not any(o.search(text) for _, o in patterns() if o is not pattern)
            for text in texts
        )
    ]
    assert not lonely, lonely
