"""Does an answer say only what the clinic's page says? Sentence by sentence.

Each sentence of an answer is compared with every sentence of the clinic's page
(web/static/index.html, the page patients read) with the assistant's own sentence
encoder (all-MiniLM-L6-v2, components/minilm_featurizer.py). The closest page sentence
and how close it is (cosine similarity) are shown to staff. A sentence is flagged as
"this claim is not on the clinic's page" when it is not close enough to any page
sentence, or when it is close but says something the page does not: a word of meaning
that is nowhere on the page (a disease, a body part, a promise), a number the page does
not give, or a negation the closest page sentence does not have ("not", "never").
How the threshold was chosen, and what it separates: docs/faithfulness.md.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set

import numpy as np

from retrain.project import Project

# A sentence less similar than this (cosine) to every page sentence is flagged.
THRESHOLD = 0.35
NOT_ON_PAGE = "this claim is not on the clinic's page"

Embed = Callable[[List[str]], np.ndarray]

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(\"“])")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)?")
_NUMBER = re.compile(r"\d")
NEGATIONS = frozenset(
    "not no never nor unable cannot can't don't doesn't isn't aren't won't none without".split()
)
# Words that add no claim of their own: grammar, and the plain words answers use to
# paraphrase (help, use, often...). A word outside this list and outside the page's own
# words is a claim the page does not make.
FUNCTION_WORDS = frozenset(
    """a an the and or but so as if than then that this these those there here it its it's
    is are was were be been being am do does did done has have had having will would can could
    should may might must shall to of in on at by for from with into onto out up down over
    under about after before during while when where which who whom whose what why how
    i me my we our us you your yours he she his her they them their one ones some any all
    each every both other another such also too very more most much many own same just
    only even still again back then once yet ever already really quite rather either
    called also known e g eg ie etc per like things thing way ways part lot lots
    help helps helped helping use used uses using make makes made making get gets got getting
    go goes going went gone come comes let lets put puts keep keeps give gives gave take takes
    work works worked working often sometimes usually mostly usual around near close by
    aim aims aimed main mainly kind kinds sort form forms set whether something""".split()
    # plain words a paraphrase of the page uses in place of the page's own
    + """also although though better between along bring brings regain lasting long small
    vessels squeeze squeezes press presses lump builds spreads gathers centre area example
    itself protects cause causes lead general harder holding limit prescribed clinic
    common ims intramuscular stimulation suits decides situation advice ask physiotherapist
    physiotherapists physio rather""".split()
)
OPPOSITES = [
    (frozenset("increase increases increased raise raises boost boosts more higher".split()),
     frozenset("decrease decreases decreased reduce reduces reduced lower lowers less".split())),
    (frozenset("same identical".split()), frozenset("different differ difference".split())),
]
AVOID = frozenset("avoid avoiding rest resting".split())
# What the page says of one of these, it does not say of the other.
SUBJECTS = {
    "dry needling": frozenset("needling ims intramuscular".split()),
    "acupuncture": frozenset("acupuncture".split()),
}
# How many words after "increase" or "reduce" name what increases or falls.
WINDOW = 3
# Page sentences this much less similar than the closest still count as "the page says".
NEAR = 0.15


def split_sentences(text: str) -> List[str]:
    """The sentences of a text (a full stop, ! or ? or ; before a capital starts a new one)."""
    text = " ".join(text.split())
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


class _PageText(HTMLParser):
    """The text of the page's article (<main>, and the lead under the title): its paragraphs
    and list items, headings left out.

    A list item is read with the sentence or heading that introduces the list ("... response
    to:", "When to Use Dry Needling:"), so that "injury" reads as the page means it.
    """

    BLOCKS = {"p", "li", "h1", "h2", "h3"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_main = 0
        self.block: Optional[str] = None
        self.text: List[str] = []
        self.units: List[str] = []
        self.lead = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "main":
            self.in_main += 1
        elif tag in self.BLOCKS and (self.in_main or ("class", "lead") in attrs):
            self.block, self.text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self.in_main -= 1
        elif tag == self.block:
            text = " ".join("".join(self.text).split())
            text = re.sub(r"\{\{[^}]*\}\}", "", text).strip()
            if tag == "p":
                self.lead = text if text.endswith(":") else ""
                self.units.append(text)
            elif tag == "li":
                self.units.append(f"{self.lead} {text}".strip())
            else:  # a heading introduces the list that may follow it
                self.lead = text.rstrip("?") + ":"
            self.block = None

    def handle_data(self, data: str) -> None:
        if self.block:
            self.text.append(data)


def page_sentences(page_html: str) -> List[str]:
    """The sentences of the clinic's page, as patients read them."""
    parser = _PageText()
    parser.feed(page_html)
    sentences: List[str] = []
    for unit in parser.units:
        for sentence in split_sentences(html.unescape(unit)):
            if sentence not in sentences and not sentence.endswith(":"):
                sentences.append(sentence)
    return sentences


def page_file(project: Project) -> Path:
    """The clinic's page the assistant's answers must keep to."""
    return project.root / "web" / "static" / "index.html"


def words(text: str) -> List[str]:
    """Lowercase words and numbers."""
    return _WORD.findall(text.lower().replace("’", "'"))


SUFFIXES = tuple("ational ation ness ments ment ing ies ied ed es er ly s al e y".split())


def stem(word: str) -> str:
    """A crude stem: enough that "muscles", "muscle" and "muscular" meet."""
    for suffix in SUFFIXES:
        if len(word) - len(suffix) >= 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@dataclass
class SentenceCheck:
    """One sentence of an answer and the page sentence closest to it."""

    sentence: str
    closest: str
    similarity: float
    problems: List[str] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        """Whether the page supports it."""
        return not self.problems


class Checker:
    """The faithfulness check against one page."""

    def __init__(self, sentences: Sequence[str], embed: Embed, threshold: float = THRESHOLD) -> None:
        """Compare against `sentences` (the page's), encoded with `embed`."""
        if not sentences:
            raise ValueError("the clinic's page has no sentences to compare with")
        self.sentences = list(sentences)
        self.embed = embed
        self.threshold = threshold
        self.vectors = embed(self.sentences)
        self.vocabulary: Set[str] = {stem(w) for s in self.sentences for w in words(s)}
        self.numbers: Set[str] = {w for s in self.sentences for w in words(s) if _NUMBER.search(w)}
        # Which treatment the page says each word of: a sentence naming neither speaks of
        # the page's own, dry needling.
        self.spoken_of: Dict[str, Set[str]] = {}
        for sentence in self.sentences:
            said = words(sentence)
            for word in said:
                self.spoken_of.setdefault(stem(word), set()).update(_subjects(said) or {"dry needling"})

    @classmethod
    def for_project(cls, project: Project, embed: Optional[Embed] = None) -> "Checker":
        """The check against the page of `project`, with the assistant's encoder by default."""
        text = page_file(project).read_text(encoding="utf-8")
        return cls(page_sentences(text), embed or minilm_embed)

    def check(self, answer: str) -> List[SentenceCheck]:
        """Every sentence of `answer` with its closest page sentence, flagged or not."""
        sentences = split_sentences(answer)
        if not sentences:
            return []
        scores = self.embed(sentences) @ self.vectors.T
        results = []
        for sentence, row in zip(sentences, scores, strict=True):
            best = int(np.argmax(row))
            near = [self.sentences[i] for i in np.flatnonzero(row >= row[best] - NEAR)]
            result = SentenceCheck(sentence, self.sentences[best], float(row[best]))
            result.problems = self.problems(sentence, result.closest, result.similarity, near)
            results.append(result)
        return results

    def _directed(self, direction: frozenset, objects: Set[str]) -> bool:
        """Whether a page sentence has a word of `direction` right before one of `objects`."""
        return any(_objects(words(sentence), direction) & objects for sentence in self.sentences)

    def problems(self, sentence: str, closest: str, similarity: float, near: Sequence[str]) -> List[str]:
        """Why the page does not support `sentence` (empty: it does).

        `closest` is the closest page sentence; `near` those almost as close.
        """
        found = []
        said = words(sentence)
        if similarity < self.threshold:
            found.append(f"no sentence of the page is close to it (the closest: {similarity:.2f})")
        new_words = sorted({
            w for w in said
            if not _NUMBER.search(w) and w not in FUNCTION_WORDS and w not in NEGATIONS
            and stem(w) not in self.vocabulary
        })
        if new_words:
            found.append("it uses words the page never uses: " + ", ".join(new_words))
        numbers = sorted({w for w in said if _NUMBER.search(w)} - self.numbers)
        if numbers:
            found.append("it gives numbers the page does not give: " + ", ".join(numbers))
        if _negated(said) and not any(_negated(words(other)) for other in near):
            found.append("it says \"not\" where the page does not")
        for one, other in OPPOSITES + [(b, a) for a, b in OPPOSITES]:
            objects = _objects(said, one)
            if objects and not self._directed(one, objects) and self._directed(other, objects):
                found.append(f"the page says the opposite ({', '.join(sorted(one & set(said)))})")
        avoided = _avoided(closest)
        if avoided & {stem(w) for w in said} and not (AVOID | NEGATIONS) & set(said):
            found.append("the page says to avoid this")
        mine = _subjects(said)
        if len(mine) == 1:
            others = sorted({
                w for w in said if w not in FUNCTION_WORDS
                and self.spoken_of.get(stem(w), mine) and not mine & self.spoken_of.get(stem(w), mine)
            })
            if others:
                found.append(
                    f"the page says {', '.join(others)} of another treatment, not of {next(iter(mine))}"
                )
        return found


def _objects(said: List[str], direction: frozenset) -> Set[str]:
    """The (stemmed) words of meaning right after a word of `direction` ("reduces blood flow")."""
    found: Set[str] = set()
    for i, word in enumerate(said):
        if word in direction:
            found |= {stem(w) for w in said[i + 1:i + 1 + WINDOW] if w not in FUNCTION_WORDS}
    return found


def _negated(said: List[str]) -> bool:
    """Whether a sentence says "not" (or never, unable, ...)."""
    return any(w in NEGATIONS or w.endswith("n't") for w in said)


def _avoided(page_sentence: str) -> Set[str]:
    """The (stemmed) words of what a page sentence says to avoid, up to the next comma."""
    match = re.search(r"\bavoid\b(.*?)(?:\bafter\b|[,.;]|$)", page_sentence, re.I)
    if not match:
        return set()
    return {stem(w) for w in words(match.group(1))} - {stem(w) for w in FUNCTION_WORDS}


def _subjects(said: List[str]) -> Set[str]:
    """Which of dry needling and acupuncture a sentence speaks of."""
    return {name for name, marks in SUBJECTS.items() if marks & set(said)}


def minilm_embed(texts: List[str]) -> np.ndarray:
    """L2-normalised sentence vectors from the encoder the assistant's pipeline uses."""
    from components.minilm_featurizer import shared_encoder

    return shared_encoder().encode(texts)[3] if texts else np.zeros((0, 384), dtype=np.float32)


def check_all(checker: Checker, answers: Dict[str, str]) -> Dict[str, List[SentenceCheck]]:
    """Every answer's sentences, by FAQ name."""
    return {key: checker.check(text) for key, text in answers.items()}
