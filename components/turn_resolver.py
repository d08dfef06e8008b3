"""The turn in its conversation: two questions at once, long messages, follow-ups, "did you mean".

Runs after the FallbackClassifier, on what the classifiers made of the whole message, and
looks further where a whole-message reading falls short:

* **Several questions in one message** ("what is a trigger point and what causes them?"):
  each question is matched on its own against the training examples (nearest example,
  as in the similarity gate). Two page answers give intent `multi_question` with the
  answers in order; a page answer and a question the page does not answer give the answer
  and a hand-off. Nothing else is answered.
* **A story that ends in a question**: the question is read on its own.
* **Topics the page does not answer** (safety, cost, what a session is like... the
  `off_page` regexes in data/off_page.yml): a question that asks about one is handed
  off, alone or as one question of several, whatever the classifiers chose.
* **A near copy of a page question** (its nearest training example is all but the same
  text) gets that answer even when the classifiers hesitated or chose a hand-off.
* **Follow-ups** that need the previous turn: "why?" or "tell me more" right after an
  answer repeats that answer; "it", "them" and "yours" in a short, unclear message ("and how do
  you get them?") are read as what the conversation is about (trigger points, or dry
  needling); a follow-up that only names something the last answer says ("even stress?",
  "like massage?" after the answers that list them) gets that answer again; otherwise the
  message ("what about after?") is read together
  with the patient's previous message, and answered only if that reading is confident and
  the short message itself points the same way. "What about after?" right after a question
  about before (or the reverse) is that question asked the other way round.
* **Did you mean**: a message still not understood, but near two or three page answers,
  carries them as `suggestions` (the hand-off shows them as buttons, with the phone).
* **"What is it?"** with its subject named before, in the message ("this knot is killing
  me, what even is it") or in the conversation: the answer that says what that is.
* **Courtesies said together** ("thx so much, have a good one", "hello, what is IMS?",
  core/small_talk.py): each gets its reply, as parts of `multi_question`.

The conversation comes from Rasa's tracker: Rasa's default recipe gives a component whose
`process` takes a `tracker` argument the conversation so far (without this message).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Set, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RESPONSE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.lang.en.stop_words import STOP_WORDS

from components.minilm_featurizer import MiniLMFeaturizer, shared_encoder
from components.parse_output import set_intent
from core.small_talk import courtesies, leading_greeting

MULTI_QUESTION = "multi_question"
FALLBACK = "nlu_fallback"
RETRIEVAL_INTENT = "faq"
HANDOFF = "handoff"
GREET = "greet"
# parse output keys read by the actions (actions/answers.py, actions/handoff.py)
PARTS_OUTPUT = "question_parts"
SUGGESTIONS_OUTPUT = "suggestions"
RESOLVED_OUTPUT = "turn_resolver"
INDEX_FILE = "index.npz"
TITLES_FILE = "titles.json"
OFF_PAGE_FILE = "off_page.json"
ANSWER_WORDS_FILE = "answer_words.json"

QUESTION_WORDS = (
    r"what|whats|what's|wat|wut|how|hows|how's|why|when|where|who|which|can|could|cn|is|are|am|"
    r"does|do|did|should|will|would|may|any|anything|tell me|explain|describe|define|"
    r"difference|diff|pls|please"
)
QUESTION_START = re.compile(
    rf"^(?:and |also |so |but |ok |okay |plus )*(?:roughly |basically |just |quickly |actually |"
    rf"really |honestly )?(?:{QUESTION_WORDS})\b",
    re.I,
)
SENTENCE_END = re.compile(r"(?<=[?!.])\s+|\s*[;\n]\s*")
# "... and what causes them", "..., also can I ...": a second question inside a sentence
JOINED_QUESTION = re.compile(
    rf"(?:,\s*|\s+)(?:and|n|also|plus|as well as|&|\+)\s+(?=(?:also\s+)?(?:{QUESTION_WORDS})\b)", re.I
)
# Asking for more of the last answer
ELABORATE = re.compile(
    r"^(?:but |and |so |ok |okay |hmm+ |um+ |dang |oh )*(?:why|why so|why not|why is that|"
    r"why does (?:that|it) matter|how so|how come|what for|really|tell me more|more|"
    r"more (?:info|details|please)|explain|explain (?:that|it|more|please)|"
    r"(?:can|could) you explain(?: that| it| more)?|what do you mean|meaning|"
    r"(?:say|put) (?:that|it) (?:again|another way|differently|simpler)|in simpler (?:words|terms)|"
    r"simpler|i don'?t (?:get|understand)(?: it| that)?|huh|go on|and\??)"
    r"(?:\s+(?:tho|though|then|exactly|again|lol|please|pls))*\s*[?!.]*$",
    re.I,
)
# "what about after?", "and before?": the previous question, the other way round
CONTRAST = re.compile(
    r"^(?:and |so |ok |okay |but )*(?:(?:what|how) about |and )?(after(?:wards?)?|before)"
    r"(?: (?:then|that|it|the (?:session|appointment|treatment)))?\s*[?!.]*$",
    re.I,
)
# "it", "them", and "yours" ("how does yours work then", after acupuncture was compared)
PRONOUN = re.compile(r"\b(?:it|them|they|yours)\b", re.I)
# "what even is it", "could you tell me what that actually is": asking what the subject is
WHAT_IS_IT = re.compile(
    r"\bwhat(?:'s|s)?(?: (?:even|exactly|actually|really))?(?: (?:is|are))? (?:it|that|this|they)"
    r"(?: (?:(?:even|exactly|actually|really) )?(?:is|are))?(?: (?:exactly|even|actually|really|anyway))?"
    r"(?:,? in (?:plain|simple) (?:words|terms|english))?\s*[?!.]*\s*$",
    re.I,
)
TRIGGER_POINT_WORDS = re.compile(r"\b(?:knots?|trigger ?points?|nodules?|tp|trp|mtrp)s?\b", re.I)
NEEDLING_WORDS = re.compile(r"\b(?:needl\w*|ims|intramuscular|acupunct\w*)\b", re.I)
# what a page answer is about, for reading "it" and "them" after it
TRIGGER_POINT_ANSWERS = ("faq/what_is_trigger_point", "faq/trigger_point_causes")
# the answer that says what each subject is ("... what even is it")
DEFINITIONS = {"trigger points": "faq/what_is_trigger_point", "dry needling": "faq/what_is_dry_needling"}
# "even stress?", "like massage?", "and sitting all day at work?": the lead-in of a follow-up
# that names something, with no question of its own (not "can I ...", "is it ...")
NAMING_FOLLOW_UP = re.compile(
    r"^(?:(?:and|or|so|but|ok|okay|even|like|also|too|incl\w*|what about|how about|"
    r"same for|does that include|is that|that includes?)\b[\s,]*)+(?P<rest>[^?]*?)\s*[?!.]*$",
    re.I,
)
FILLER_WORDS = {"like", "tho", "though", "lol", "ok", "okay", "um", "hmm", "stuff", "thing", "things"}


@dataclass(frozen=True)
class Match:
    """The nearest page answer to a text, and whether it is to be trusted."""

    label: str
    similarity: float
    handoff_similarity: float

    runner_up: float = 0.0

    def answer(self, threshold: float, margin: float = 0.0) -> Optional[str]:
        """The `faq/<key>` label if confident, closer than any hand-off example and
        than any other page answer by `margin`."""
        if (
            self.similarity >= threshold
            and self.similarity > self.handoff_similarity
            and self.similarity - self.runner_up >= margin
        ):
            return self.label
        return None


def question_parts(text: str, own_topic: Callable[[str], bool] = lambda clause: False) -> List[str]:
    """The questions in a message: sentences and joined clauses that ask something.

    A sentence ending in "?" or starting like a question counts; statements ("I run
    marathons.") do not. A message with no such part is one question as a whole. A
    fragment asked right after a question, with no question word of its own ("Just knots,
    or range of motion too?"), narrows that question and is part of it, unless
    `own_topic(fragment)` says it raises a topic of its own ("And the cost?").
    """
    parts: List[str] = []
    for sentence in SENTENCE_END.split(text.strip()):
        for clause in JOINED_QUESTION.split(sentence):
            clause = clause.strip(" ,")
            asks = clause.endswith("?") or QUESTION_START.match(clause)
            if len(clause.split()) < 2 or not asks:
                continue
            if parts and not QUESTION_START.match(clause) and not own_topic(clause):
                parts[-1] = f"{parts[-1]} {clause}"
            else:
                parts.append(clause)
    return parts or [text]


def contrast(text: str, previous_text: str) -> Optional[str]:
    """The previous question asked again the other way round, for "what about after?"
    right after a question about before (and the reverse); None for anything else."""
    found = CONTRAST.match(text.strip())
    if not found:
        return None
    asked = found.group(1).lower()
    other = "before" if asked.startswith("after") else "after"
    if not re.search(rf"\b{other}\b", previous_text, re.I):
        return None
    return re.sub(rf"\b{other}\b", asked, previous_text, flags=re.I)


def stem(word: str) -> str:
    """A crude stem, enough to see "stressed" in "stress" and "injuries" in "injury"."""
    word = word.lower().strip("'")
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> Set[str]:
    """The stems of a text's words that carry meaning (not spaCy's stop words or fillers)."""
    words = re.findall(r"[a-z][a-z']+", text.lower())
    return {stem(w) for w in words if w not in STOP_WORDS and w not in FILLER_WORDS and len(w) > 2}


def answer_stems(texts: List[Dict[str, Any]]) -> Set[str]:
    """The content stems of an answer's texts (its variations in data/responses.yml)."""
    return set().union(*(content_stems(text.get(TEXT) or "") for text in texts))


def named_in_answer(text: str, answer: Set[str], answers: Dict[str, Set[str]]) -> bool:
    """Whether a follow-up that only names something ("even stress?") names what the last
    answer says: its words are mostly the answer's, one of them hardly in any other answer."""
    found = NAMING_FOLLOW_UP.match(text.strip())
    if not found or QUESTION_START.match(found.group("rest")):
        return False
    words = content_stems(found.group("rest"))
    said = words & answer
    distinctive = [w for w in said if sum(w in other for other in answers.values()) <= 2]
    return bool(distinctive) and len(words - said) < len(said)


def conversation_topic(last_answer: Optional[str], previous_text: str) -> Optional[str]:
    """What "it" and "them" refer to: the last answer's subject, else the previous message's."""
    if last_answer:
        return "trigger points" if last_answer in TRIGGER_POINT_ANSWERS else "dry needling"
    if TRIGGER_POINT_WORDS.search(previous_text):
        return "trigger points"
    if NEEDLING_WORDS.search(previous_text):
        return "dry needling"
    return None


def previous_turn(tracker: Optional[DialogueStateTracker]) -> Optional[UserUttered]:
    """The patient's last message before this one (in this session), if any."""
    if tracker is None:
        return None
    for event in reversed(tracker.applied_events()):
        if isinstance(event, UserUttered):
            return event
    return None


def answered_key(event: UserUttered) -> Optional[str]:
    """The page answer the assistant gave to `event` (the last, for several)."""
    parse = event.parse_data or {}
    name = (parse.get(INTENT) or {}).get(INTENT_NAME_KEY)
    if name == MULTI_QUESTION:
        keys = [p for p in parse.get(PARTS_OUTPUT) or [] if p.startswith(f"{RETRIEVAL_INTENT}/")]
        return keys[-1] if keys else None
    if name != RETRIEVAL_INTENT:
        return None
    selected = (parse.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}).get(RETRIEVAL_INTENT) or {}
    return (selected.get("response") or {}).get(INTENT_RESPONSE_KEY)


def answered_as_follow_up(message: Message) -> bool:
    """Whether a reading of the message in the light of the conversation answered it."""
    return (message.get(RESOLVED_OUTPUT) or {}).get("how") == "follow-up"


def set_answer(message: Message, key: str, confidence: float) -> None:
    """Make `key` (`faq/<name>`) the message's answer, as the ResponseSelector sets one."""
    set_intent(message, RETRIEVAL_INTENT, confidence)
    selectors = dict(message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {})
    selected = dict(selectors.get(RETRIEVAL_INTENT) or {})
    selected["response"] = {
        **(selected.get("response") or {}),
        INTENT_RESPONSE_KEY: key,
        "utter_action": f"utter_{key}",
        "confidence": confidence,
    }
    selectors[RETRIEVAL_INTENT] = selected
    message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selectors, add_to_output=True)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class TurnResolver(GraphComponent):
    """Compound questions, long messages, follow-ups and suggestions (module docstring)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Needs the sentence encoder (its features, and itself for parts of messages)."""
        return [MiniLMFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults (config.yml sets the values the assistant uses)."""
        return {
            "featurizer_alias": "minilm",
            # a follow-up is answered at this similarity or above (the fallback's)
            "threshold": 0.45,
            # a question that is part of a message: matched without the classifiers, so
            # it needs to be closer to its answer's examples
            "part_threshold": 0.55,
            # ... and closer to it than to any other page answer by this much: the second
            # question of "how does it release a muscle? what's the physiology?" asks
            # more of the first, and would otherwise get a third, unrelated answer
            "part_margin": 0.05,
            # labels that mean "the page does not answer this"
            "handoff_labels": ["out_of_scope", "book_appointment", "contact"],
            # follow-ups: at most this many words; the short message alone must be at
            # least this close to the answer that the two messages together point to
            "followup_max_words": 8,
            "followup_floor": 0.25,
            # "it" read as the conversation's subject in messages of at most this many words
            # ("ok and when would my physio decide to use it")
            "pronoun_max_words": 14,
            # a story before one question: at least this many words ("makes sense." is none)
            "story_words": 8,
            # a message this close to a page question's example gets that answer, even when
            # the classifiers chose otherwise (a near copy of a training question). Only
            # near-identical wordings: near misses such as "what does dry needling actually
            # involve" (a hand-off) sit just below it (bench/data/README.md)
            "near_copy": 0.95,
            # suggestions: page answers at least this close, at most this many
            "suggestion_floor": 0.3,
            "max_suggestions": 3,
            # the name of the training data's regexes for topics the page does not answer
            "off_page_regex": "off_page",
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        embeddings: Optional[np.ndarray] = None,
        labels: Optional[List[str]] = None,
        titles: Optional[Dict[str, str]] = None,
        off_page: Optional[List[str]] = None,
        answer_words: Optional[Dict[str, List[str]]] = None,
    ) -> None:
        """Create the resolver with the training examples it matches against."""
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.embeddings = embeddings if embeddings is not None else np.zeros((0, 1), np.float32)
        self.labels = np.asarray(labels or [])
        self.titles = titles or {}
        self.off_page = [re.compile(pattern, re.I) for pattern in off_page or []]
        self.answer_words = {key: set(words) for key, words in (answer_words or {}).items()}
        self._encoder: Any = None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TurnResolver:
        """Create an untrained resolver."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Remember each page-answer and hand-off example, and each answer's first question."""
        handoff = set(self.config["handoff_labels"])
        vectors, labels, titles = [], [], {}
        for example in training_data.intent_examples:
            label = example.get(INTENT_RESPONSE_KEY) or example.get(INTENT)
            if not (label.startswith(f"{RETRIEVAL_INTENT}/") or label in handoff):
                continue
            vector = MiniLMFeaturizer.sentence_embedding(example, self.config["featurizer_alias"])
            if vector is None:
                continue
            vectors.append(vector)
            labels.append(label)
            if label.startswith(f"{RETRIEVAL_INTENT}/"):
                titles.setdefault(label, _title(example.get(TEXT)))
        self.embeddings = np.vstack(vectors).astype(np.float32) if vectors else self.embeddings
        self.labels = np.asarray(labels)
        self.titles = titles
        off_page = [
            feature["pattern"]
            for feature in training_data.regex_features
            if feature.get("name") == self.config["off_page_regex"]
        ]
        self.off_page = [re.compile(pattern, re.I) for pattern in off_page]
        answer_words = {
            key.replace("utter_", "", 1): sorted(answer_stems(said))
            for key, said in training_data.responses.items()
            if key.startswith(f"utter_{RETRIEVAL_INTENT}/")
        }
        self.answer_words = {key: set(words) for key, words in answer_words.items()}
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / INDEX_FILE, embeddings=self.embeddings, labels=self.labels)
            (directory / TITLES_FILE).write_text(json.dumps(titles), encoding="utf-8")
            (directory / OFF_PAGE_FILE).write_text(json.dumps(off_page), encoding="utf-8")
            (directory / ANSWER_WORDS_FILE).write_text(json.dumps(answer_words), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TurnResolver:
        """Load the saved examples."""
        try:
            with model_storage.read_from(resource) as directory:
                index = np.load(directory / INDEX_FILE)
                titles = json.loads((directory / TITLES_FILE).read_text(encoding="utf-8"))
                off_page = json.loads((directory / OFF_PAGE_FILE).read_text(encoding="utf-8"))
                words = directory / ANSWER_WORDS_FILE
                answer_words = json.loads(words.read_text(encoding="utf-8")) if words.exists() else {}
                return cls(
                    config,
                    model_storage,
                    resource,
                    index["embeddings"],
                    list(index["labels"]),
                    titles,
                    off_page,
                    answer_words,
                )
        except (ValueError, FileNotFoundError):
            return cls(config, model_storage, resource)

    # -- matching -----------------------------------------------------------------

    def _encode(self, texts: List[str]) -> np.ndarray:
        """Sentence embeddings of texts that are not whole messages (parts, follow-ups)."""
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder.encode(texts)[3]

    def match(self, vector: np.ndarray) -> Match:
        """The nearest page answer to `vector`, and the nearest hand-off example's similarity."""
        similarities = self.embeddings @ vector
        is_handoff = ~np.char.startswith(self.labels.astype(str), f"{RETRIEVAL_INTENT}/")
        answers = np.where(is_handoff, -1.0, similarities)
        best = int(np.argmax(answers))
        handoff = float(np.max(similarities[is_handoff])) if is_handoff.any() else 0.0
        others = np.where(self.labels == self.labels[best], -1.0, answers)
        return Match(str(self.labels[best]), float(answers[best]), handoff, float(np.max(others)))

    def off_page_topic(self, text: str) -> Optional[str]:
        """The words of `text` that ask about a topic the page does not answer, if any."""
        for pattern in self.off_page:
            found = pattern.search(text)
            if found:
                return found.group(0)
        return None

    def ranked_answers(self, vector: np.ndarray) -> List[tuple[str, float]]:
        """Every page answer with its nearest example's similarity, nearest first."""
        similarities = self.embeddings @ vector
        best: Dict[str, float] = {}
        for label, similarity in zip(self.labels, similarities, strict=True):
            if str(label).startswith(f"{RETRIEVAL_INTENT}/"):
                best[str(label)] = max(best.get(str(label), -1.0), float(similarity))
        return sorted(best.items(), key=lambda item: -item[1])

    # -- the turn -----------------------------------------------------------------

    def process(
        self, messages: List[Message], tracker: Optional[DialogueStateTracker] = None
    ) -> List[Message]:
        """Resolve each message in the light of its parts and of the conversation."""
        if not len(self.labels):
            return messages
        for message in messages:
            self._resolve(message, tracker)
        return messages

    def _resolve(self, message: Message, tracker: Optional[DialogueStateTracker]) -> None:
        text = message.get(TEXT) or ""
        said = courtesies(text)
        if said:
            # one courtesy ("thank you dear, that's very kind of you") keeps its own intent
            # and rule; several are parts of multi_question
            if len(said) == 1:
                set_intent(message, said[0])
            else:
                self._set_parts(message, said)
            self._note(message, "courtesies", said)
            return
        self._resolve_question(message, text, tracker)
        if leading_greeting(text)[0]:
            self._greet_back(message)

    def _greet_back(self, message: Message) -> None:
        """A greeting before a page question: a hello, then the answer(s)."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent == RETRIEVAL_INTENT:
            selected = (message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}).get(RETRIEVAL_INTENT) or {}
            key = (selected.get("response") or {}).get(INTENT_RESPONSE_KEY)
            if key:
                self._set_parts(message, [GREET, key])
        elif intent == MULTI_QUESTION:
            self._set_parts(message, [GREET, *(message.get(PARTS_OUTPUT) or [])])

    def _resolve_question(
        self, message: Message, text: str, tracker: Optional[DialogueStateTracker]
    ) -> None:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if not text or intent not in (RETRIEVAL_INTENT, FALLBACK, "out_of_scope", MULTI_QUESTION):
            return
        threshold = float(self.config["part_threshold"])
        margin = float(self.config["part_margin"])
        parts = question_parts(text, lambda clause: bool(self.off_page_topic(clause)))
        if parts != [text]:
            matches = list(map(self.match, self._encode(parts)))
            off_page = [self.off_page_topic(part) for part in parts]
            clear = [m.answer(threshold, margin) for m in matches]
            outcomes = [
                HANDOFF if topic else self._part_answer(match, answer, set(clear)) or HANDOFF
                for topic, match, answer in zip(off_page, matches, clear, strict=True)
            ]
            answers = list(dict.fromkeys(o for o in outcomes if o != HANDOFF))
            if len(answers) >= 2 or (answers and HANDOFF in outcomes):
                self._set_parts(message, outcomes)
                return
            if len(parts) == 1 and intent in (FALLBACK, MULTI_QUESTION) and not off_page[0]:
                # a story ending in one question: that question, as sure as a whole message
                alone = matches[0].answer(float(self.config["threshold"]))
                answers = [alone] if alone else []
            elif self._is_story(text, parts) and clear[0] and not self.off_page_topic(text):
                # ... and when the story led the classifiers elsewhere (an injury story read
                # as out of scope, a knee replacement as rehab), its clear question decides
                answers = [clear[0]]
                intent = FALLBACK
            if len(answers) == 1 and intent in (FALLBACK, MULTI_QUESTION):
                set_answer(message, answers[0], threshold)
                self._note(message, "question", parts)
                return
        elif intent == MULTI_QUESTION:
            set_intent(message, FALLBACK, 0.0)
        topic = self.off_page_topic(text)
        if topic:
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == RETRIEVAL_INTENT:
                set_intent(message, FALLBACK, 0.0)
            self._note(message, "off page", [topic])
            return
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == RETRIEVAL_INTENT:
            self._reread_reference(message, text, tracker)
            return
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) not in (FALLBACK, "out_of_scope"):
            return
        if self._near_copy(message) or self._named_in_answer(message, text, tracker):
            return
        if self._own_subject(message, text):
            return
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != FALLBACK:
            return
        if self._follow_up(message, text, tracker):
            return
        self._suggest(message)

    def _is_story(self, text: str, parts: List[str]) -> bool:
        """One question after a story of at least `story_words` words."""
        told = len(text.split()) - len(parts[0].split())
        return len(parts) == 1 and told >= int(self.config["story_words"])

    def _part_answer(
        self, match: Match, clear: Optional[str], sure: Set[Optional[str]]
    ) -> Optional[str]:
        """A part's answer: `clear` (its answer clear of the next by the margin), or, if
        none, the answer another part clearly has ("what are trigger points and why do
        they hurt?"), or a near copy of a page question ("whats dry needling", whose
        runner-up, "what is dry needling used for", is always close)."""
        if clear:
            return clear
        close = match.answer(float(self.config["part_threshold"]))
        if close in sure or match.answer(float(self.config["near_copy"])):
            return close
        return None

    def _near_copy(self, message: Message) -> bool:
        """Answer a message that is all but a copy of a page question's training example."""
        vector = MiniLMFeaturizer.sentence_embedding(message, self.config["featurizer_alias"])
        if vector is None:
            return False
        match = self.match(vector)
        key = match.answer(float(self.config["near_copy"]))
        if key is None:
            return False
        set_answer(message, key, match.similarity)
        self._note(message, "near copy", [key])
        return True

    def _set_parts(self, message: Message, outcomes: List[str]) -> None:
        """Intent `multi_question`: answer each page question (and courtesy), hand off the
        rest (once)."""
        kept: List[str] = []
        for outcome in outcomes:
            if outcome not in kept:
                kept.append(outcome)
        set_intent(message, MULTI_QUESTION)
        message.set(PARTS_OUTPUT, kept, add_to_output=True)

    def _follow_up(
        self, message: Message, text: str, tracker: Optional[DialogueStateTracker]
    ) -> bool:
        previous = previous_turn(tracker)
        if previous is None or not previous.text:
            return False
        last_answer = answered_key(previous)
        if ELABORATE.match(text.strip()):
            if last_answer:
                set_answer(message, last_answer, float(self.config["threshold"]))
                self._note(message, "elaborate", [last_answer])
                return True
            return False
        if WHAT_IS_IT.search(text) and self._define(message, conversation_topic(last_answer, previous.text)):
            return True
        words = len(text.split())
        if words <= int(self.config["pronoun_max_words"]):
            self._pronoun_reading(message, text, conversation_topic(last_answer, previous.text))
            if answered_as_follow_up(message):
                return True
        if words > int(self.config["followup_max_words"]):
            return False
        contrasted = contrast(text, previous.text)
        if contrasted is not None:
            return self._read_as(message, contrasted)
        together, alone = self._encode([f"{previous.text} {text}", text])
        match = self.match(together)
        key = match.answer(float(self.config["threshold"]))
        if key is None or self.match(alone).handoff_similarity > match.similarity:
            return False
        alone_similarity = dict(self.ranked_answers(alone)).get(key, 0.0)
        if alone_similarity < float(self.config["followup_floor"]):
            return False
        set_answer(message, key, match.similarity)
        self._note(message, "follow-up", [last_answer or ""])
        return True

    def _named_in_answer(
        self, message: Message, text: str, tracker: Optional[DialogueStateTracker]
    ) -> bool:
        """Repeat the last answer to a follow-up that names what it says ("like massage?"
        after the rehab answer), even one that alone reads as out of scope."""
        previous = previous_turn(tracker)
        last_answer = answered_key(previous) if previous is not None else None
        if not last_answer:
            return False
        if not named_in_answer(text, self.answer_words.get(last_answer, set()), self.answer_words):
            return False
        set_answer(message, last_answer, float(self.config["threshold"]))
        self._note(message, "named in the answer", [last_answer])
        return True

    def _own_subject(self, message: Message, text: str) -> bool:
        """Answer "this knot is killing me, what even is it" and "...something called IMS.
        Could you tell me what that actually is?" with what the message's subject is."""
        found = WHAT_IS_IT.search(text)
        return bool(found) and self._define(message, conversation_topic(None, text[: found.start()]))

    def _define(self, message: Message, topic: Optional[str]) -> bool:
        """Give `message` the answer that says what `topic` is, if there is one."""
        key = DEFINITIONS.get(topic or "")
        if key is None or key not in self.answer_words:
            return False
        set_answer(message, key, float(self.config["threshold"]))
        self._note(message, "what it is", [topic or ""])
        return True

    def _pronoun_reading(self, message: Message, text: str, topic: Optional[str]) -> Optional[Match]:
        """Answer a short message whose "it", "them" or "yours" is `topic`, what the
        conversation is about, read with that subject in its place, if that reading is
        confident. Returns the reading's match (None without a pronoun or a subject)."""
        if not topic or not PRONOUN.search(text):
            return None
        read = PRONOUN.sub(topic, text)
        match = self.match(self._encode([read])[0])
        self._answer_as(message, read, match)
        return match

    def _reread_reference(
        self, message: Message, text: str, tracker: Optional[DialogueStateTracker]
    ) -> None:
        """A short message answered by the classifiers, but whose "it", "them" or "yours"
        refers to the answer just given ("will the needles make them go away" after the
        trigger point answer): a confident reading with the subject in its place decides,
        and one nearer a hand-off example than any page answer ("can I do it on my neck?"
        after the when-to-use answer) is handed off."""
        previous = previous_turn(tracker)
        if previous is None or not previous.text:
            return
        last_answer = answered_key(previous)
        if not last_answer or len(text.split()) > int(self.config["followup_max_words"]):
            return
        match = self._pronoun_reading(message, text, conversation_topic(last_answer, previous.text))
        unclear = match is not None and match.handoff_similarity > match.similarity
        if unclear and not answered_as_follow_up(message):
            set_intent(message, FALLBACK, 0.0)
            self._note(message, "unclear reference", [text])

    def _read_as(self, message: Message, read: str) -> bool:
        """Answer `message` as if it said `read`, if that is confidently a page question
        (a topic the page does not answer stays handed off)."""
        if self.off_page_topic(read):
            self._note(message, "off page", [read])
            return True
        match = self.match(self._encode([read])[0])
        # the nearest hand-off example is often the previous question itself, the other
        # way round ("... before my appointment"): the off-page topics decide that instead
        return self._answer_as(message, read, Match(match.label, match.similarity, 0.0, match.runner_up))

    def _answer_as(self, message: Message, read: str, match: Match) -> bool:
        """Give `message` the answer of `match` (the reading `read`) if it is confident."""
        key = match.answer(float(self.config["threshold"]), float(self.config["part_margin"]))
        if key is None:
            return False
        set_answer(message, key, float(self.config["threshold"]))
        self._note(message, "follow-up", [read])
        return True

    def _suggest(self, message: Message) -> None:
        vector = MiniLMFeaturizer.sentence_embedding(message, self.config["featurizer_alias"])
        if vector is None:
            return
        match = self.match(vector)
        if match.handoff_similarity >= match.similarity:
            return
        floor = float(self.config["suggestion_floor"])
        close = [
            {"key": key, "title": self.titles.get(key, key)}
            for key, similarity in self.ranked_answers(vector)[: int(self.config["max_suggestions"])]
            if similarity >= floor
        ]
        if len(close) >= 2:
            message.set(SUGGESTIONS_OUTPUT, close, add_to_output=True)

    @staticmethod
    def _note(message: Message, how: str, using: List[str]) -> None:
        message.set(RESOLVED_OUTPUT, {"how": how, "using": using}, add_to_output=True)


def _title(text: str) -> str:
    """A training question as a button title: capitalised, ending in "?"."""
    text = text.strip().rstrip("?.! ")
    return f"{text[:1].upper()}{text[1:]}?"
