"""The console's FAQs pages: browse every FAQ, teach or take away example questions, edit
an answer, add an FAQ; every answer checked against the clinic's page as staff write it.

Every change goes through the staff tool's engine with the CLI's rules
(retrain/trainingdata.py): checked in memory, read back through Rasa's reader, backed up,
then written; `undo` takes the last change back (retrain/backups.py). A change is refused,
with nothing written, when the data files changed since the page was loaded (the page's
version no longer matches), so one person never overwrites another's edit unseen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from console.accounts import StaffStore
from retrain.errors import UserError
from retrain.faithfulness import Checker, Embed, SentenceCheck
from retrain.project import Project
from retrain.text import KEY_PATTERN, MAX_KEY_LENGTH
from retrain.trainingdata import FAQ_PREFIX, TrainingSet, faq_label

CHANGED_SINCE = (
    "Someone changed the FAQs since you opened this page, so nothing was saved (your change "
    "could have undone theirs). Here is the page as it is now: make your change again."
)

# Names the FAQs pages' own addresses use (/staff/faqs/new, /staff/faqs/undo).
RESERVED = frozenset({"new", "undo"})


@dataclass
class Faq:
    """One FAQ as the pages show it."""

    key: str
    answer: str
    examples: List[str]
    tests: List[str]
    checks: List[SentenceCheck] = field(default_factory=list)

    @property
    def flagged(self) -> int:
        """How many sentences of its answer the page does not support."""
        return sum(not check.supported for check in self.checks)


def lines(text: str) -> List[str]:
    """The non-empty lines staff typed in a box, one question a line."""
    return [line for line in (text or "").splitlines() if line.strip()]


class FaqEditor:
    """The FAQs of one project, changed one at a time, each change in the audit log."""

    def __init__(self, project: Project, staff: StaffStore, embed: Embed) -> None:
        """Work on the data of `project`; check answers with sentence vectors from `embed`."""
        self.project = project
        self.staff = staff
        self.embed = embed
        self.lock = threading.Lock()
        self._checker: Optional[Checker] = None
        self._checker_lock = threading.Lock()

    # ----- reading

    def checker(self) -> Checker:
        """The faithfulness check against the clinic's page (the page encoded once)."""
        with self._checker_lock:
            if self._checker is None:
                self._checker = Checker.for_project(self.project, self.embed)
            return self._checker

    def check(self, answer: str) -> List[SentenceCheck]:
        """Each sentence of `answer` with the closest page sentence, flagged or not."""
        return self.checker().check(answer)

    def load(self) -> TrainingSet:
        """The training data as it is now."""
        return TrainingSet.load(self.project)

    def all(self, training: Optional[TrainingSet] = None) -> List[Faq]:
        """Every FAQ with its answer, examples and test questions (no check: that is per FAQ)."""
        training = training or self.load()
        answers, examples, tests = training.answers(), training.examples(), training.examples(test=True)
        return [
            Faq(key, answers.get(key, ""), examples.get(faq_label(key), []), tests.get(faq_label(key), []))
            for key in training.faq_keys()
        ]

    def one(self, key: str, training: Optional[TrainingSet] = None) -> Faq:
        """One FAQ, its answer checked against the page; a UserError for an unknown name."""
        training = training or self.load()
        self.known(key, training)
        faq = next(f for f in self.all(training) if f.key == key)
        faq.checks = self.check(faq.answer) if faq.answer else []
        return faq

    @staticmethod
    def known(key: str, training: TrainingSet) -> str:
        """`key` when it names an FAQ, else a UserError."""
        if not (len(key) <= MAX_KEY_LENGTH and KEY_PATTERN.match(key) and key in training.faq_keys()):
            shown = key if len(key) <= MAX_KEY_LENGTH else key[:MAX_KEY_LENGTH] + "..."
            raise UserError(f"There is no FAQ called {shown!r}. Choose one from the list of FAQs.")
        return key

    # ----- changes

    def _open(self, version: str) -> TrainingSet:
        """The data for a change, refused when it changed since the page was loaded."""
        training = self.load()
        if version != training.version():
            raise UserError(CHANGED_SINCE)
        return training

    def add_examples(self, key: str, texts: Sequence[str], test: bool, version: str, who: str) -> str:
        """Teach an FAQ more questions (or add test questions), as `make faq-examples`."""
        with self.lock:
            training = self._open(version)
            self.known(key, training)
            if not texts:
                raise UserError("Type at least one question, one a line.")
            added, _ = training.add_examples(faq_label(key), texts, test=test)
            kind = "test questions" if test else "questions"
            training.save(f"console: {who} added {len(added)} {kind} to {key}")
            self.staff.audit(who, f"added {len(added)} {kind} to {key}", " | ".join(added))
        return f"Added {len(added)} {kind} to {key}."

    def remove_examples(self, key: str, texts: Sequence[str], test: bool, version: str, who: str) -> str:
        """Take questions away from an FAQ."""
        with self.lock:
            training = self._open(version)
            self.known(key, training)
            if not texts:
                raise UserError("Tick the questions to remove first.")
            removed = training.remove_examples(faq_label(key), texts, test=test)
            kind = "test questions" if test else "questions"
            training.save(f"console: {who} removed {len(removed)} {kind} from {key}")
            self.staff.audit(who, f"removed {len(removed)} {kind} from {key}", " | ".join(removed))
        return f"Removed {len(removed)} {kind} from {key}."

    def set_answer(self, key: str, answer: str, confirmed: bool, version: str, who: str) -> str:
        """Replace an FAQ's answer; one the page does not support only when `confirmed`."""
        with self.lock:
            training = self._open(version)
            self.known(key, training)
            cleaned = training.set_answer(key, answer)
            flagged = self._require_confirmation(cleaned, confirmed)
            training.save(f"console: {who} changed the answer of {key}")
            note = f" ({flagged} sentences not on the clinic's page, confirmed)" if flagged else ""
            self.staff.audit(who, f"changed the answer of {key}{note}", cleaned)
        return f"Saved the new answer of {key}."

    def add_faq(
        self, key: str, answer: str, examples: Sequence[str], tests: Sequence[str],
        confirmed: bool, version: str, who: str,
    ) -> str:
        """A new FAQ with its answer, example questions and test questions, as `make faq-add`."""
        if key.strip().removeprefix(FAQ_PREFIX) in RESERVED:
            raise UserError(f"{key.strip()!r} is the name of a console page: choose another name.")
        with self.lock:
            training = self._open(version)
            key, added, tested = training.add_faq(key, answer, examples, tests)
            flagged = self._require_confirmation(training.new_answers[f"utter_{FAQ_PREFIX}{key}"], confirmed)
            training.save(f"console: {who} added the FAQ {key}")
            note = f" ({flagged} sentences not on the clinic's page, confirmed)" if flagged else ""
            counted = f"{len(added)} questions and {len(tested)} test questions"
            self.staff.audit(who, f"added the FAQ {key} with {counted}{note}", " | ".join(added + tested))
        return f"Added the FAQ {key}."

    def _require_confirmation(self, answer: str, confirmed: bool) -> int:
        """How many sentences are flagged; a UserError when some are and nobody confirmed."""
        flagged = sum(not check.supported for check in self.check(answer))
        if flagged and not confirmed:
            raise UserError(
                f"{flagged} sentence{'s' if flagged != 1 else ''} of the answer "
                f"{'are' if flagged != 1 else 'is'} not on the clinic's page (marked below). Nothing was "
                "saved. Change the answer, or tick \"I have checked: save it anyway\" if you are sure."
            )
        return flagged


def faq_counts(faqs: Sequence[Faq]) -> Dict[str, int]:
    """Totals for the list page."""
    return {
        "faqs": len(faqs),
        "examples": sum(len(f.examples) for f in faqs),
        "tests": sum(len(f.tests) for f in faqs),
    }
