"""Checks and normal forms for the texts staff type: example questions, FAQ names, answers."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import List, Optional, Sequence, Set, Tuple

from retrain.errors import UserError

MAX_EXAMPLE_LENGTH = 500
MAX_ANSWER_LENGTH = 1500
# Rasa fills {slot} in a response; the chat widget reads <...> and [text](link) as markup.
_ANSWER_MARKUP = re.compile(r"[<>{}]|\[[^\]]*\]\(")
MAX_KEY_LENGTH = 40
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_PUNCTUATION = re.compile(r"[^\w\s]|_", re.UNICODE)
# Words that carry little meaning when judging whether two questions are alike.
STOPWORDS = frozenset(
    "a an the i me my we our you your is are am be was were do does did can could should "
    "would will to of in on for at it this that and or with after before about what how "
    "when why where which who there any if so just get got need want like go going make know "
    "ok okay much many really still also have has had im ive dont doesnt its time day first next "
    "one new please pls u ur yes no not than then them they he she his her us from by as up out "
    "all some more very too".split()
    # and words every question about the clinic's topic shares
    + "dry needling needle needles ims intramuscular stimulation session sessions appointment "
    "treatment physio physiotherapist".split()
)


def clean(text: str) -> str:
    """Text as it is stored: one line, single spaces, no spaces at the ends."""
    return " ".join(str(text).split())


def normalise(text: str) -> str:
    """A form in which two questions that read the same are equal.

    Case, punctuation (including apostrophes) and spacing are ignored, so
    "What's IMS?" and "whats ims" are the same question.
    """
    folded = unicodedata.normalize("NFKC", text).casefold().replace("'", "").replace("\u2019", "")
    return " ".join(_PUNCTUATION.sub(" ", folded).split())


def content_words(text: str) -> Set[str]:
    """The meaningful words of a question (for similarity hints)."""
    return {w for w in normalise(text).split() if w not in STOPWORDS}


def similarity(a: str, b: str) -> float:
    """How much the meaningful words of two questions overlap (0 to 1, overlap coefficient)."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


def example_problem(text: str) -> Optional[str]:
    """Why `text` cannot be a training example, or None when it can."""
    if not normalise(text):
        return "it is empty (or only punctuation)"
    if len(text) > MAX_EXAMPLE_LENGTH:
        return f"it is longer than {MAX_EXAMPLE_LENGTH} characters: shorten it to the question itself"
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "it contains control characters"
    if _reads_as_markup(text):
        return (
            "Rasa would read the [square brackets] followed by (...) or {...} as entity "
            "markup: rephrase it without them"
        )
    return None


def _reads_as_markup(text: str) -> bool:
    """Whether Rasa's training data reader would take part of the text for entity markup."""
    from rasa.shared.nlu.training_data.entities_parser import find_entities_in_training_example

    return bool(find_entities_in_training_example(text))


def check_example(text: str) -> str:
    """The cleaned example, or a UserError saying why it is not acceptable."""
    cleaned = clean(text)
    problem = example_problem(cleaned)
    if problem:
        shown = cleaned if cleaned else repr(text)
        raise UserError(f"The question {shown!r} cannot be used: {problem}.")
    return cleaned


def suggest_key(text: str) -> str:
    """A valid FAQ name made from what someone typed ("What to wear?" -> what_to_wear)."""
    words = normalise(text).replace(" ", "_")
    words = re.sub(r"[^a-z0-9_]", "", unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode())
    words = re.sub(r"_+", "_", words).strip("_")
    if words and not words[0].isalpha():
        words = f"faq_{words}"
    return words[:MAX_KEY_LENGTH].rstrip("_")


def check_key(key: str) -> str:
    """A valid FAQ name (lowercase words joined by _), or a UserError with a suggestion."""
    key = key.strip()
    if key.startswith("faq/"):
        key = key[len("faq/"):]
    if KEY_PATTERN.match(key) and len(key) <= MAX_KEY_LENGTH:
        return key
    if not key:
        raise UserError("The FAQ name is empty. Use lowercase words joined by _, e.g. what_to_wear.")
    hint = suggest_key(key)
    suggestion = f" Did you mean {hint!r}?" if hint and KEY_PATTERN.match(hint) else ""
    raise UserError(
        f"{key!r} is not a valid FAQ name: use lowercase letters, digits and _ only, "
        f"starting with a letter, at most {MAX_KEY_LENGTH} characters (e.g. what_to_wear).{suggestion}"
    )


def check_answer(text: str) -> str:
    """The answer as one clean paragraph, or a UserError."""
    cleaned = clean(text)
    if not normalise(cleaned):
        raise UserError("The answer is empty: type the text the assistant should reply with.")
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise UserError("The answer contains control characters.")
    if len(cleaned) > MAX_ANSWER_LENGTH:
        raise UserError(
            f"The answer is {len(cleaned)} characters long; keep it under {MAX_ANSWER_LENGTH}: "
            "patients read it in a small chat window."
        )
    if _ANSWER_MARKUP.search(cleaned):
        raise UserError(
            "The answer must be plain text: no < >, { } or [text](link) markup (the assistant "
            "would not show it as written)."
        )
    return cleaned


def wrap_positions(text: str, width: int) -> List[int]:
    """Indexes of the spaces at which `text` is folded into lines of at most `width`."""
    positions: List[int] = []
    start = 0
    while len(text) - start > width:
        cut = text.rfind(" ", start, start + width + 1)
        if cut <= start:
            cut = text.find(" ", start + width)
            if cut == -1:
                break
        positions.append(cut)
        start = cut + 1
    return positions


# Two questions whose word sets overlap this much are one question written twice.
NEAR_DUPLICATE_OVERLAP = 0.8
# From this many words on, one word changed, added or dropped is a trivial variant.
NEAR_DUPLICATE_MIN_WORDS = 5


def _word_edits(a: Sequence[str], b: Sequence[str]) -> int:
    """Words to change, add or drop to turn a into b (Levenshtein distance over words)."""
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def near_duplicate(a: str, b: str) -> bool:
    """Whether two questions are one question written twice.

    The same normalised text, the same words reordered or mostly shared (word-set
    overlap of 0.8 or more), or one word changed, added or dropped in a question of
    five words or more ("whats IMS" and "What's IMS?" are one question).
    """
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return wa == wb
    sa, sb = set(wa), set(wb)
    if len(sa & sb) / len(sa | sb) >= NEAR_DUPLICATE_OVERLAP:
        return True
    return (
        min(len(wa), len(wb)) >= NEAR_DUPLICATE_MIN_WORDS
        and abs(len(wa) - len(wb)) <= 1
        and _word_edits(wa, wb) <= 1
    )


@lru_cache(maxsize=65536)
def _words(text: str) -> Tuple[str, ...]:
    """The normalised words of a text (cached: the development-set checks compare
    every message with every training example)."""
    return tuple(normalise(text).split())
