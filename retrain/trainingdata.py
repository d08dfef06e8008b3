"""The training data and held-out questions as staff edit them, through ruamel round-trip.

Every edit happens in memory first. Nothing is written until all of a command's input
has been checked and the edited files read back through Rasa's own YAML reader as
exactly the intended change; then the files are backed up and replaced atomically.
"""

from __future__ import annotations

import difflib
import hashlib
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from retrain import backups
from retrain.errors import UserError
from retrain.project import Project
from retrain.text import (
    check_answer,
    check_example,
    check_key,
    clean,
    near_duplicate,
    normalise,
    wrap_positions,
)
from retrain.yamldoc import Document, insert_after, write_atomically

if TYPE_CHECKING:
    from rasa.shared.nlu.training_data.training_data import TrainingData

RETRIEVAL_INTENT = "faq"
FAQ_PREFIX = f"{RETRIEVAL_INTENT}/"
RESPONSE_PREFIX = f"utter_{FAQ_PREFIX}"
OUT_OF_SCOPE = "out_of_scope"
# Intents that examples can never be given to.
NOT_LABELS = {RETRIEVAL_INTENT, "nlu_fallback"}
MIN_NEW_FAQ_EXAMPLES = 3
MIN_EXAMPLES_LEFT = 1  # removing examples never leaves an FAQ with fewer
ANSWER_WIDTH = 82  # folded answers wrap like the existing ones (88 columns with indent)
OUT_OF_SCOPE_ALIASES = {"out of scope", "out-of-scope", "outofscope", "oos", OUT_OF_SCOPE}

Pair = Tuple[str, str]  # (label, text)


def faq_label(key: str) -> str:
    """The intent label of an FAQ key (`faq/<key>`)."""
    return f"{FAQ_PREFIX}{key}"


def display(label: str) -> str:
    """A label as staff write it: the FAQ key without `faq/`."""
    return label[len(FAQ_PREFIX):] if label.startswith(FAQ_PREFIX) else label


@dataclass
class Block:
    """One `- intent: ... examples: |` item of an NLU file."""

    doc: Document
    index: int
    label: str

    @property
    def item(self) -> CommentedMap:
        """The YAML mapping of this item."""
        return self.doc.data["nlu"][self.index]

    @property
    def editable(self) -> bool:
        """Whether examples are a `|` block of `- text` lines (the form this tool writes)."""
        return isinstance(self.item.get("examples"), str)

    def examples(self) -> List[str]:
        """The example texts, read the way Rasa reads them."""
        value = self.item.get("examples")
        if isinstance(value, str):
            return [line[1:].strip("\n\r ") for line in value.splitlines() if line.startswith("-")]
        if isinstance(value, list):
            return [str(e.get("text", "")).strip() for e in value if isinstance(e, dict)]
        return []

    def append(self, texts: Sequence[str]) -> None:
        """Add example lines at the end of the block."""
        value = str(self.item["examples"])
        if value and not value.endswith("\n"):
            value += "\n"
        self.item["examples"] = LiteralScalarString(value + "".join(f"- {t}\n" for t in texts))

    def remove(self, norms: Set[str]) -> None:
        """Drop the example lines whose normal form is in `norms`."""
        lines = str(self.item["examples"]).splitlines(keepends=True)
        kept = [
            line for line in lines
            if not (line.startswith("-") and normalise(line[1:].strip("\n\r ")) in norms)
        ]
        self.item["examples"] = LiteralScalarString("".join(kept))


@dataclass
class Found:
    """Where a question already is."""

    label: str
    text: str
    path: Path
    test: bool


@dataclass
class TrainingSet:
    """All NLU files of data/ plus the held-out test file, and the FAQ answers."""

    project: Project
    docs: Dict[Path, Document] = field(default_factory=dict)
    added: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    new_answers: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, project: Project) -> "TrainingSet":
        """Read data/*.yml and the test file."""
        if not project.data_dir.is_dir():
            raise UserError(f"No data/ folder in {project.root}: run this from the project folder.")
        paths = sorted(project.data_dir.glob("*.yml")) + sorted(project.data_dir.glob("*.yaml"))
        if project.test_file.exists():
            paths.append(project.test_file)
        return cls(project, {p: Document.load(p) for p in paths})

    # ----- reading

    def version(self) -> str:
        """A fingerprint of the files as loaded: it changes when anyone edits one of them."""
        digest = hashlib.sha256()
        for path, doc in sorted(self.docs.items()):
            digest.update(f"{path.name}\0{len(doc.original)}\0".encode("utf-8"))
            digest.update(doc.original.encode("utf-8"))
        return digest.hexdigest()[:32]

    def _blocks(self, test: bool) -> List[Block]:
        blocks = []
        for path, doc in self.docs.items():
            if (path == self.project.test_file) != test or not isinstance(doc.data, dict):
                continue
            for i, item in enumerate(doc.data.get("nlu") or []):
                if isinstance(item, dict) and "intent" in item:
                    blocks.append(Block(doc, i, str(item["intent"])))
        return blocks

    def blocks(self, test: bool = False) -> List[Block]:
        """Training blocks (or, with test=True, held-out test blocks), in file order."""
        return self._blocks(test)

    def _answer_docs(self) -> List[Document]:
        return [
            doc for path, doc in self.docs.items()
            if path != self.project.test_file and isinstance(doc.data, dict)
            and isinstance(doc.data.get("responses"), dict)
        ]

    def answers(self) -> Dict[str, str]:
        """FAQ key -> answer text (the first text of `utter_faq/<key>`)."""
        found: Dict[str, str] = {}
        for doc in self._answer_docs():
            for name, variants in doc.data["responses"].items():
                if str(name).startswith(RESPONSE_PREFIX) and variants:
                    text = str(variants[0].get("text", ""))
                    found[str(name)[len(RESPONSE_PREFIX):]] = " ".join(text.split())
        return found

    def examples(self, test: bool = False) -> Dict[str, List[str]]:
        """Label -> example texts."""
        by_label: Dict[str, List[str]] = {}
        for block in self.blocks(test):
            by_label.setdefault(block.label, []).extend(block.examples())
        return by_label

    def faq_keys(self) -> List[str]:
        """Every FAQ key that has examples or an answer."""
        keys = {display(label) for label in self.examples() if label.startswith(FAQ_PREFIX)}
        return sorted(keys | set(self.answers()))

    def labels(self) -> List[str]:
        """Every label examples can be given: FAQ keys (as faq/<key>) and other intents."""
        intents = {label for label in self.examples() if not label.startswith(FAQ_PREFIX)}
        return [faq_label(k) for k in self.faq_keys()] + sorted(intents - NOT_LABELS)

    def index(self) -> Dict[str, List[Found]]:
        """Normal form -> where the question is (training data and test questions)."""
        found: Dict[str, List[Found]] = {}
        for test in (False, True):
            for block in self.blocks(test):
                for text in block.examples():
                    found.setdefault(normalise(text), []).append(
                        Found(block.label, text, block.doc.path, test)
                    )
        return found

    def resolve_label(self, name: str) -> str:
        """The label for what staff typed: an FAQ key, out_of_scope, or another intent."""
        raw = " ".join(name.split())
        cleaned = raw.lower()
        labels = self.labels()
        if cleaned in OUT_OF_SCOPE_ALIASES and OUT_OF_SCOPE in labels:
            return OUT_OF_SCOPE
        for candidate in (faq_label(cleaned.removeprefix(FAQ_PREFIX)), cleaned):
            if candidate in labels:
                return candidate
        shown = [display(label) for label in labels]
        close = difflib.get_close_matches(cleaned.removeprefix(FAQ_PREFIX), shown, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UserError(
            f"There is no FAQ or label called {raw!r}.{hint}\n"
            f"Known: {', '.join(shown)}\n(`make faq-list` shows them; `make faq-add` creates a new FAQ.)"
        )

    # ----- checking

    def check_new_examples(
        self, label: str, texts: Iterable[str], test: bool = False, skip_existing: bool = False
    ) -> Tuple[List[str], List[str]]:
        """Cleaned texts that can be added to `label`, and those skipped as already there.

        Raises UserError for an empty or unusable text, a text given twice, a question
        already there (unless `skip_existing`), one that belongs to another label, and a
        training question that is also a test question (or the other way round).
        """
        index = self.index()
        seen: Dict[str, str] = {}
        accepted: List[str] = []
        skipped: List[str] = []
        for raw in texts:
            text = check_example(raw)
            norm = normalise(text)
            if norm in seen:
                raise UserError(f"The question {text!r} is given twice (as {seen[norm]!r}).")
            seen[norm] = text
            hits = index.get(norm) or self._near_duplicates(text, test=not test)
            problem = self._conflict(label, text, hits, test)
            if problem == "same":
                if skip_existing:
                    skipped.append(text)
                    continue
                where = "a test question" if test else "an example"
                raise UserError(f"{text!r} is already {where} of {display(label)}.")
            if problem:
                raise UserError(problem)
            accepted.append(text)
        return accepted, skipped

    def _near_duplicates(self, text: str, test: bool) -> List[Found]:
        """Test questions (or training examples) that `text` repeats with a word or so changed."""
        return [
            Found(block.label, other, block.doc.path, test)
            for block in self.blocks(test)
            for other in block.examples()
            if near_duplicate(text, other)
        ]

    def _conflict(self, label: str, text: str, found: List[Found], test: bool) -> Optional[str]:
        """Why `text` cannot be added to `label`: "same" when it is already there."""
        for hit in found:
            if hit.test == test and hit.label == label:
                return "same"
        for hit in found:
            if hit.test == test:
                kind = "a test question" if test else "an example"
                move = "" if test else " To give it to this one instead, use `make faq-move`."
                return (
                    f"{text!r} is already {kind} of {display(hit.label)} (as {hit.text!r} in "
                    f"{self.project.relative(hit.path)}). A question can teach only one answer.{move}"
                )
        for hit in found:
            if test:
                return (
                    f"{text!r} repeats the training example {hit.text!r} of {display(hit.label)}: "
                    "a test question must be a wording the assistant was not trained on."
                )
            return (
                f"{text!r} repeats {hit.text!r}, one of the held-out test questions "
                f"({display(hit.label)}, in {self.project.relative(hit.path)}): training on it "
                "would make the test meaningless. Leave it out or use a different wording."
            )
        return None

    # ----- editing (in memory)

    def add_examples(
        self, label: str, texts: Sequence[str], test: bool = False, skip_existing: bool = False
    ) -> Tuple[List[str], List[str]]:
        """Check and add examples (or test questions) to an existing label.

        Returns (added, skipped as already there).
        """
        accepted, skipped = self.check_new_examples(label, texts, test, skip_existing)
        if accepted:
            self._append(label, accepted, test)
        return accepted, skipped

    def _append(self, label: str, texts: Sequence[str], test: bool) -> None:
        blocks = [b for b in self.blocks(test) if b.label == label and b.editable]
        if blocks:
            blocks[-1].append(texts)
        else:
            self._new_block(label, texts, test)
        self.added.update((label, t) for t in texts)

    def _new_block(self, label: str, texts: Sequence[str], test: bool) -> None:
        """Start a block for a label that has none yet, after the last FAQ block."""
        blocks = self.blocks(test)
        faq_blocks = [b for b in blocks if b.label.startswith(FAQ_PREFIX)]
        anchor = (faq_blocks or blocks or [None])[-1]
        if anchor is None:
            target = self.project.test_file if test else self.project.data_dir / "faq.yml"
            raise UserError(f"{self.project.relative(target)} has no `nlu:` examples to add to.")
        item = CommentedMap()
        item["intent"] = label
        item["examples"] = LiteralScalarString("".join(f"- {t}\n" for t in texts))
        insert_after(anchor.doc.data["nlu"], anchor.index, None, item)

    def add_faq(
        self, key: str, answer: str, examples: Sequence[str], tests: Sequence[str] = ()
    ) -> Tuple[str, List[str], List[str]]:
        """Check and add a new FAQ: answer, training examples, optional test questions.

        Returns the cleaned key, examples and test questions.
        """
        key = self.check_new_key(key)
        answer = check_answer(answer)
        label = faq_label(key)
        accepted, _ = self.check_new_examples(label, examples)
        if len(accepted) < MIN_NEW_FAQ_EXAMPLES:
            raise UserError(
                f"A new FAQ needs at least {MIN_NEW_FAQ_EXAMPLES} example questions (got "
                f"{len(accepted)}): the different ways patients might ask it."
            )
        tested, _ = self.check_new_examples(label, tests, test=True)
        both = {normalise(t) for t in accepted} & {normalise(t) for t in tested}
        if both:
            raise UserError(
                "A test question must not also be an example question: " + ", ".join(sorted(both))
            )
        self._add_answer(key, answer)
        self._append(label, accepted, test=False)
        if tested:
            self._append(label, tested, test=True)
        return key, accepted, tested

    def check_new_key(self, key: str) -> str:
        """A valid name for a new FAQ (cleaned), or a UserError."""
        key = check_key(key)
        if key in self.faq_keys():
            raise UserError(
                f"There is already an FAQ called {key!r}. To teach it more questions, use "
                f"`make faq-examples FAQ={key}`."
            )
        if key in self.examples():
            raise UserError(f"{key!r} is already the name of another label: choose another name.")
        return key

    def _add_answer(self, key: str, answer: str) -> None:
        docs = self._answer_docs()
        if not docs:
            raise UserError("No file in data/ has a `responses:` section for the FAQ answers.")
        holders = [d for d in docs if any(str(k).startswith(RESPONSE_PREFIX) for k in d.data["responses"])]
        doc = (holders or docs)[-1]
        responses = doc.data["responses"]
        names = list(responses.keys())
        faq_positions = [i for i, n in enumerate(names) if str(n).startswith(RESPONSE_PREFIX)]
        text = FoldedScalarString(answer)
        text.fold_pos = wrap_positions(answer, ANSWER_WIDTH)
        value = CommentedSeq([CommentedMap([("text", text)])])
        name = f"{RESPONSE_PREFIX}{key}"
        if names:
            insert_after(responses, (faq_positions or [len(names) - 1])[-1], name, value)
        else:
            responses[name] = value
        self.new_answers[name] = answer

    def set_answer(self, key: str, answer: str) -> str:
        """Replace the answer of an existing FAQ (its first text). Returns the cleaned answer."""
        answer = check_answer(answer)
        name = f"{RESPONSE_PREFIX}{key}"
        for doc in self._answer_docs():
            variants = doc.data["responses"].get(name)
            if not variants:
                continue
            if not isinstance(variants[0], dict) or "text" not in variants[0]:
                raise UserError(f"The answer of {key} is not a plain text answer: it cannot be edited here.")
            if " ".join(str(variants[0]["text"]).split()) == answer:
                raise UserError("The answer is unchanged: nothing to save.")
            text = FoldedScalarString(answer)
            text.fold_pos = wrap_positions(answer, ANSWER_WIDTH)
            variants[0]["text"] = text
            self.new_answers[name] = answer
            return answer
        raise UserError(f"There is no answer for the FAQ {key!r}.")

    def remove_examples(self, label: str, texts: Sequence[str], test: bool = False) -> List[str]:
        """Take example questions (or test questions) away from a label. Returns those removed.

        Refuses a question that is not one of the label's, and leaving a label without any
        training example (the assistant could never give that answer).
        """
        have = {normalise(t): t for t in self.examples(test).get(label, [])}
        norms: List[str] = []
        for raw in texts:
            norm = normalise(clean(raw))
            if norm not in have:
                kind = "a test question" if test else "an example"
                raise UserError(f"{clean(raw)!r} is not {kind} of {display(label)} (any more).")
            if norm not in norms:
                norms.append(norm)
        if not test and len(have) - len(norms) < MIN_EXAMPLES_LEFT:
            raise UserError(
                f"That would leave {display(label)} with no example questions, so the assistant could "
                "never give its answer. Keep at least one."
            )
        blocks = [b for b in self.blocks(test) if b.label == label]
        if any(not b.editable for b in blocks):
            raise UserError(
                f"The questions of {display(label)} are written in a form this tool does not edit."
            )
        for block in blocks:
            for text in block.examples():
                if normalise(text) in norms:
                    self.removed[(label, text)] += 1
            block.remove(set(norms))
        return [have[n] for n in norms]

    def check_move(self, texts: Sequence[str], to_label: str) -> Dict[str, List["Found"]]:
        """Where each of `texts` is now (normal form -> places), or a UserError."""
        index = self.index()
        moves: Dict[str, List[Found]] = {}
        for raw in texts:
            text = check_example(raw)
            norm = normalise(text)
            hits = [h for h in index.get(norm, []) if not h.test]
            if not hits:
                raise UserError(f"{text!r} is not an example of any FAQ or label, so it cannot be moved.")
            if any(h.label == to_label for h in hits):
                raise UserError(f"{text!r} is already an example of {display(to_label)}.")
            if norm in moves:
                raise UserError(f"The question {text!r} is given twice.")
            moves[norm] = hits
        counts = Counter(h.label for hits in moves.values() for h in hits)
        left = self.examples()
        for label, n in counts.items():
            if len(left.get(label, [])) - n < 1:
                raise UserError(
                    f"Moving these would leave {display(label)} with no examples at all, so "
                    "the assistant could never give that answer."
                )
        return moves

    def move_examples(self, texts: Sequence[str], to_label: str) -> List[Tuple[str, str]]:
        """Give existing training examples to another label. Returns (text, from label)."""
        moves = self.check_move(texts, to_label)
        for block in self.blocks():
            norms = {n for n, hits in moves.items() if any(h.label == block.label for h in hits)}
            if norms & {normalise(t) for t in block.examples()}:
                block.remove(norms)
        self.removed.update((h.label, h.text) for hits in moves.values() for h in hits)
        self._append(to_label, [hits[0].text for hits in moves.values()], test=False)
        return [(hits[0].text, hits[0].label) for hits in moves.values()]

    # ----- saving

    def changed(self) -> Dict[Path, str]:
        """New content of the files the edits changed."""
        return {path: doc.dump() for path, doc in self.docs.items() if doc.edited}

    def verify(self, changed: Dict[Path, str]) -> None:
        """Read the edited files back with Rasa's reader: they must hold exactly the change."""
        before: Counter = Counter()
        after: Counter = Counter()
        answers: Dict[str, str] = {}
        for path, text in changed.items():
            old, new = _read_with_rasa(self.docs[path].original), _read_with_rasa(text)
            before.update(old[0])
            after.update(new[0])
            answers.update({k: v for k, v in new[1].items() if old[1].get(k) != v})
        expected = before + self.added
        expected.subtract(self.removed)
        expected = +expected
        if +after != expected or answers != self.new_answers:
            raise RuntimeError(
                "Refusing to save: the edited files would not read back as the intended change. "
                "Nothing was written; please report this."
            )

    def save(self, command: str) -> List[Path]:
        """Verify, back up and write the changed files. Returns the paths written."""
        changed = self.changed()
        if not changed:
            return []
        for path in changed:
            self.docs[path].check_editable()
        self.verify(changed)
        backups.save(self.project, command, {p: self.docs[p].original for p in changed}, changed)
        for path, text in changed.items():
            write_atomically(path, text)
        return list(changed)


def _read_with_rasa(text: str) -> Tuple[Counter, Dict[str, str]]:
    """(label, text) examples and FAQ answers in a YAML text, as Rasa reads them."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = RasaYAMLReader().reads(text)
    pairs = Counter(
        (m.get("intent_response_key") or m.get("intent"), m.get("text")) for m in data.intent_examples
    )
    answers = {
        name: " ".join(str(variants[0].get("text", "")).split())
        for name, variants in data.responses.items() if variants
    }
    return pairs, answers


def nlu_training_data(data_dir: Path) -> "TrainingData":
    """Every NLU file of `data_dir` (examples, regexes, responses), as `rasa train` reads it."""
    from rasa.shared.importers.importer import TrainingDataImporter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TrainingDataImporter.load_from_dict(training_data_paths=[str(data_dir)]).get_nlu_data()
