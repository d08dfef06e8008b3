"""The console's inbox: the questions the assistant handed off, answered with "did you
mean" suggestions, or answered and then rated "didn't help" by the patient.

Read from the tracker store the way `make questions-export` reads them
(retrain/questions.py), without those already in the training data or test questions and
those staff dismissed. Repeats are one question; similar questions are grouped with the
project's sentence encoder (all-MiniLM-L6-v2, components/minilm_featurizer.py). Each
group gets a suggested answer: the label of the nearest training example, shown, never
applied by itself. Phone numbers and e-mail addresses are masked on screen and never
taught: a question is taught without them, as NLU reads it (core/identifiers.py).

Giving questions to an FAQ or marking them for the phone goes through the same engine
and rules as the CLI (retrain/trainingdata.py): test questions are never trained on, a
question teaches only one answer, and `undo` takes the last change back (retrain/backups.py).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

from console.accounts import StaffStore
from core.identifiers import mask, without_identifiers
from retrain import backups
from retrain.errors import UserError
from retrain.project import Project
from retrain.questions import REASONS, Asked, Group, group, read_unanswered
from retrain.text import normalise
from retrain.trainingdata import FAQ_PREFIX, OUT_OF_SCOPE, TrainingSet, display

# Two questions whose sentence vectors are at least this close (cosine) are one group.
GROUP_SIMILARITY = 0.6
# The suggestion names the nearest example only when it is at least this close.
SUGGEST_SIMILARITY = 0.4
# How many of the nearest training examples vote for the suggestion.
NEIGHBOURS = 5
MAX_GROUPS = 200

Embed = Callable[[List[str]], np.ndarray]


def minilm_embed(texts: List[str]) -> np.ndarray:
    """L2-normalised sentence vectors from the encoder the assistant's pipeline uses."""
    from components.minilm_featurizer import shared_encoder

    return shared_encoder().encode(texts)[3] if texts else np.zeros((0, 384), dtype=np.float32)


class CachedEmbed:
    """An `Embed` that encodes each text once per process (training examples barely change)."""

    _shared: Dict[Embed, Dict[str, np.ndarray]] = {}

    def __init__(self, embed: Embed) -> None:
        """Wrap `embed`; every wrapper of the same `embed` shares its vectors."""
        self.embed = embed
        self.vectors = self._shared.setdefault(embed, {})
        self.lock = threading.Lock()

    def __call__(self, texts: List[str]) -> np.ndarray:
        """Vectors of `texts`, in order."""
        with self.lock:
            missing = sorted({t for t in texts if t not in self.vectors})
            for start in range(0, len(missing), 64):
                batch = missing[start:start + 64]
                self.vectors.update(zip(batch, self.embed(batch), strict=True))
            if not texts:
                return np.zeros((0, 0), dtype=np.float32)
            return np.stack([self.vectors[t] for t in texts])


@dataclass
class Question:
    """One wording patients typed, asked one or more times."""

    shown: str  # masked: what staff see
    teach: str  # without identifiers: what an FAQ would be taught
    times: int
    latest: float
    reasons: Set[str] = field(default_factory=set)  # retrain.questions.REASONS


@dataclass
class InboxGroup:
    """Similar questions, handled with one click."""

    questions: List[Question]
    suggestion: Optional[str] = None  # a label: faq/<key> or out_of_scope
    nearest: str = ""
    ident: str = field(init=False, default="")

    def __post_init__(self) -> None:
        """The group's id: the same questions give the same id on the next page load."""
        norms = sorted(normalise(q.teach) for q in self.questions)
        self.ident = hashlib.sha256("\n".join(norms).encode("utf-8")).hexdigest()[:16]

    @property
    def times(self) -> int:
        """How often its questions were asked, together."""
        return sum(q.times for q in self.questions)

    @property
    def latest(self) -> float:
        """When one of them was last asked."""
        return max(q.latest for q in self.questions)

    @property
    def reasons(self) -> List[str]:
        """Why its questions are here ("handed off", "did you mean", "rated not helpful")."""
        found = set().union(*(q.reasons for q in self.questions))
        return [reason for reason in REASONS if reason in found]

    @property
    def suggested_faq(self) -> str:
        """The suggested FAQ's name, or "" when the suggestion is not an FAQ."""
        return display(self.suggestion) if self.suggestion and self.suggestion.startswith(FAQ_PREFIX) else ""


@dataclass
class Outcome:
    """What an action did, in words for staff."""

    message: str
    taught: List[str] = field(default_factory=list)
    refused: List[str] = field(default_factory=list)


def count_questions(count: int) -> str:
    """"1 question", "2 questions"."""
    return f"{count} question{'' if count == 1 else 's'}"


def _question(repeat: Group) -> Question:
    wording = repeat.wording
    reasons = {a.reason for a in repeat.asked}
    return Question(
        mask(wording), without_identifiers(wording), len(repeat.asked), repeat.latest.timestamp, reasons
    )


class Inbox:
    """The inbox of one project, with the staff database that keeps dismissals and the audit log."""

    def __init__(self, project: Project, staff: StaffStore, embed: Embed = minilm_embed) -> None:
        """Read conversations and data of `project`; keep dismissals in `staff`."""
        self.project = project
        self.staff = staff
        self.embed = CachedEmbed(embed)
        self.lock = threading.Lock()  # one change to the data files at a time
        self._parsed: Optional[Tuple[tuple, TrainingSet]] = None

    # ----- reading

    def view(self) -> Tuple[List[InboxGroup], List[str]]:
        """The groups, and the FAQ names staff can give them to (the data read once)."""
        training = self._read_only_training()
        return self.groups(training), training.faq_keys()

    def _read_only_training(self) -> TrainingSet:
        """The training data for reading, parsed again only when one of its files changed."""
        files = sorted(self.project.data_dir.glob("*.y*ml")) + [self.project.test_file]
        stats = [(str(f), f.stat()) for f in files if f.exists()]
        stamp = tuple((name, st.st_mtime_ns, st.st_size, st.st_ino) for name, st in stats)
        with self.lock:
            if self._parsed is None or self._parsed[0] != stamp:
                self._parsed = (stamp, TrainingSet.load(self.project))
            return self._parsed[1]

    def groups(
        self, training: Optional[TrainingSet] = None, asked: Optional[Iterable[Asked]] = None
    ) -> List[InboxGroup]:
        """The unanswered questions not yet dealt with, grouped, newest first.

        All of the tracker store's, or only `asked` (the Insights page's period).
        """
        training = training or TrainingSet.load(self.project)
        known = training.index()
        dismissed = self.staff.dismissed()
        asked = read_unanswered(self.project) if asked is None else asked
        questions = [
            q for q in map(_question, group(asked))
            if normalise(q.teach) and not {normalise(q.teach), normalise(q.shown)} & (set(known) | dismissed)
        ]
        clusters = self._cluster(questions)
        self._suggest(clusters, training)
        return sorted(clusters, key=lambda g: -g.latest)[:MAX_GROUPS]

    def _cluster(self, questions: Sequence[Question]) -> List[InboxGroup]:
        """Most asked first, each question joins the group whose centre it is closest to."""
        ordered = sorted(questions, key=lambda q: (-q.times, -q.latest))
        vectors = self.embed([q.teach for q in ordered])
        members: List[List[int]] = []
        centres: List[np.ndarray] = []
        for i, vector in enumerate(vectors):
            scores = [float(centre @ vector) for centre in centres]
            best = int(np.argmax(scores)) if scores else -1
            if best >= 0 and scores[best] >= GROUP_SIMILARITY:
                members[best].append(i)
                centre = vectors[members[best]].mean(axis=0)
                centres[best] = centre / max(float(np.linalg.norm(centre)), 1e-9)
            else:
                members.append([i])
                centres.append(vector)
        return [InboxGroup([ordered[i] for i in indexes]) for indexes in members]

    def _suggest(self, clusters: List[InboxGroup], training: TrainingSet) -> None:
        """Each group's suggestion: the label most of the nearest training examples have.

        The group's centre votes among its NEIGHBOURS nearest examples, each with its
        similarity: one near example of another label does not outvote several of one.
        """
        examples: List[Tuple[str, str]] = [
            (label, text) for label, texts in training.examples().items()
            if label.startswith(FAQ_PREFIX) or label == OUT_OF_SCOPE for text in texts
        ]
        if not clusters or not examples:
            return
        known = self.embed([text for _, text in examples])
        for cluster in clusters:
            centre = self.embed([q.teach for q in cluster.questions]).mean(axis=0)
            scores = known @ (centre / max(float(np.linalg.norm(centre)), 1e-9))
            nearest = np.argsort(-scores)[:NEIGHBOURS]
            if scores[nearest[0]] < SUGGEST_SIMILARITY:
                continue
            votes: Dict[str, float] = {}
            for index in nearest:
                votes[examples[index][0]] = votes.get(examples[index][0], 0.0) + float(scores[index])
            label = max(votes, key=votes.__getitem__)
            best = next(index for index in nearest if examples[index][0] == label)
            cluster.suggestion, cluster.nearest = examples[best]

    def find(self, ident: str, training: Optional[TrainingSet] = None) -> InboxGroup:
        """The group with this id, or a UserError when it is no longer in the inbox."""
        for candidate in self.groups(training):
            if candidate.ident == ident:
                return candidate
        raise UserError(
            "Those questions are no longer in the inbox (someone may have dealt with them "
            "already): nothing was changed. Here is the inbox as it is now."
        )

    # ----- changes

    def teach(self, ident: str, name: str, who: str) -> Outcome:
        """Give a group's questions to an FAQ (or, with name out_of_scope, to the phone)."""
        with self.lock:
            training = TrainingSet.load(self.project)
            label = training.resolve_label(name)
            if not (label.startswith(FAQ_PREFIX) or label == OUT_OF_SCOPE):
                raise UserError(f"{display(label)!r} is not an FAQ: choose one of the list.")
            chosen = self.find(ident, training)
            accepted: List[str] = []
            refused: List[str] = []
            for question in chosen.questions:
                try:
                    new, _ = training.check_new_examples(
                        label, accepted + [question.teach], skip_existing=True
                    )
                except UserError as error:
                    refused.append(mask(str(error)))
                    continue
                accepted = new
            if not accepted:
                raise UserError("Nothing was changed:\n" + "\n".join(refused))
            added, _ = training.add_examples(label, accepted, skip_existing=True)
            target = "the phone (out_of_scope)" if label == OUT_OF_SCOPE else display(label)
            training.save(f"console: {who} gave {count_questions(len(added))} to {target}")
            self.staff.audit(who, f"gave {count_questions(len(added))} to {target}", " | ".join(added))
        return Outcome(f"Gave {count_questions(len(added))} to {target}.", added, refused)

    def dismiss(self, ident: str, who: str) -> Outcome:
        """Take a group out of the inbox without teaching anything (undone with `bring_back`)."""
        with self.lock:
            chosen = self.find(ident)
            norms = [normalise(q.teach) for q in chosen.questions]
            self.staff.dismiss(norms, who)
            shown = [q.shown for q in chosen.questions]
            self.staff.audit(who, f"dismissed {count_questions(len(shown))}", " | ".join(shown))
        return Outcome(f"Dismissed {count_questions(len(shown))}.")

    def bring_back(self, who: str) -> Outcome:
        """Put the most recently dismissed questions back in the inbox."""
        with self.lock:
            norms = self.staff.undismiss_latest()
            if not norms:
                raise UserError("No dismissed questions to bring back.")
            self.staff.audit(who, f"brought back {count_questions(len(norms))}")
        return Outcome(f"Brought back {count_questions(len(norms))}.")

    def last_change(self) -> Optional[str]:
        """What `undo` would take back, for people (the CLI's changes count too)."""
        folder = backups.latest(self.project)
        return backups.describe(folder) if folder else None

    def undo(self, who: str) -> Outcome:
        """Take back the last change to the training data, as `make faq-undo` does."""
        with self.lock:
            described = self.last_change()
            restored = backups.undo(self.project)
            self.staff.audit(who, "undid a change", described or "")
        return Outcome(f"Undone: {described}. Restored {', '.join(restored)}.")
