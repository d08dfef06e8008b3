"""Courtesies said together: "thx so much, have a good one", "hello, what is IMS?".

A message made only of courtesies (two kinds, or one with an acknowledgement such as
"that's very kind of you") gets a reply to each (welcome, then goodbye), and a greeting
before a page question gets a hello before the answer. Plain words only: anything else in
a message leaves it to the classifiers.
"""

from __future__ import annotations

import re
from typing import List, Tuple

# Each courtesy, as the small-talk intent whose reply answers it.
COURTESIES = {
    "greet": (
        r"(?:hi+|hello+|hey+|hiya|howdy|greetings|good (?:morning|afternoon|evening|day))"
        r"(?: there| again| everyone| all)?"
    ),
    "thank": (
        r"(?:(?:ok(?:ay)?|oh|awesome|great|cool|perfect|lovely|brilliant|nice) )?"
        r"(?:thanks|thank you|thank u|thanx|thx|ty|tysm|cheers|much appreciated|appreciate it)"
        r"(?: so much| very much| kindly| a lot| again| for (?:the|your) help)?(?: dear| mate| guys)?"
    ),
    "goodbye": (
        r"(?:ok(?:ay)? )?(?:bye+|bye bye|goodbye|good bye|see (?:ya|you)|cya|take care|later|"
        r"have a (?:good|nice|great|lovely) (?:one|day|night|evening|weekend))"
    ),
    "deny": (
        r"(?:no |nope |nah )?(?:no more questions|that'?s all|that'?s it|that'?s everything|"
        r"nothing else|no thanks)|nope|nah"
    ),
}
# Acknowledgements said with courtesies ("awesome", "that's very kind of you"): no reply of
# their own.
ACKNOWLEDGEMENTS = re.compile(
    r"(?:ok(?:ay)?|awesome|great|cool|perfect|lovely|brilliant|nice|got it|that helps|"
    r"(?:that'?s|that was|you'?re|you have been) (?:very |so |really )?(?:kind|helpful|clear)"
    r"(?: of you)?|very (?:kind|helpful)(?: of you)?)",
    re.I,
)
_CLAUSE = re.compile(
    "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in COURTESIES.items()), re.I
)
_SEPARATOR = re.compile(r"\s*(?:[,.!;:?]+|\band\b)\s*|\s+(?=\b(?:bye|have a|take care)\b)", re.I)
_LEADING_GREETING = re.compile(rf"^\s*(?:{COURTESIES['greet']})\b\s*[,.!?:;-]*\s*", re.I)


def courtesies(text: str) -> List[str]:
    """The courtesies of a message made of nothing else, in order ([] otherwise).

    Two or more kinds ("thanks, bye"), or one with an acknowledgement ("thank you dear,
    that's very kind of you"); a lone courtesy is left to the classifiers.
    """
    kinds: List[str] = []
    acknowledged = False
    for clause in _SEPARATOR.split(text.strip()):
        if not clause:
            continue
        found = _CLAUSE.fullmatch(clause)
        if not found:
            if not ACKNOWLEDGEMENTS.fullmatch(clause):
                return []
            acknowledged = True
            continue
        kind = found.lastgroup or ""
        if kind not in kinds:
            kinds.append(kind)
    return kinds if len(kinds) >= 2 or (kinds and acknowledged) else []


def leading_greeting(text: str) -> Tuple[bool, str]:
    """Whether a message opens with a greeting, and the rest of it ("hello, what is IMS?")."""
    found = _LEADING_GREETING.match(text)
    if not found:
        return False, text
    return True, text[found.end():]
