"""Emergencies described rather than named: a second net beside the red-flag phrases.

Patients describe an emergency in their own words ("every breath catches like a fish
hook", "grandpa's hand just wouldn't grip his cup") far more often than in the words a
phrase list knows. This component compares each sentence of a message with examples of
described emergencies and of calm messages with the same scary words (lookup tables in
data/emergency.yml), and with every other training example, in the sentence encoder's
space. A sentence much nearer an emergency than anything calm makes the message an
emergency (or thoughts of self-harm), unless the message reads calm (a symptom denied or
asked about, an idiom, someone looked after: `core.red_flags.calm_reading`).

It stays out of the intent classifiers on purpose: hundreds of emergency examples in DIET
made it answer ordinary questions worse. Messages the red-flag phrases already catch and
messages in other languages are left alone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.language_detector import OTHER_LANGUAGE
from components.minilm_featurizer import MiniLMFeaturizer, sentence_vectors, shared_encoder
from components.parse_output import DESCRIBED_OUTPUT, set_intent
from core.red_flags import EMERGENCY, SELF_HARM, calm_reading, find_red_flag

logger = logging.getLogger(__name__)

EMBEDDINGS_FILE = "embeddings.npy"
KINDS_FILE = "kinds.npy"
# the kinds of the stored examples: an emergency, thoughts of self-harm, or calm
CALM = "calm"
# a sentence is read on its own when it has at least this many words
MIN_WORDS = 3
# at most this many sentences are read on their own, the first and the last ones (a long
# story's emergency comes early or at its end), so the encoder's time stays bounded
MAX_SENTENCES = 16
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|;\s*")


@dataclass(frozen=True)
class Reading:
    """The nearest emergency example of a message's most alarming sentence."""

    kind: str
    similarity: float
    margin: float
    sentence: str


def sentences(text: str) -> List[str]:
    """The whole message, then each of its sentences of `MIN_WORDS` words or more."""
    parts = [part.strip() for part in _SENTENCE_END.split(text)]
    parts = [part for part in parts if len(part.split()) >= MIN_WORDS and part != text]
    if len(parts) > MAX_SENTENCES:
        parts = parts[: MAX_SENTENCES - 4] + parts[-4:]
    return [text, *parts]


def nearest_emergency(
    vectors: np.ndarray, examples: np.ndarray, kinds: np.ndarray, texts: List[str]
) -> Optional[Reading]:
    """For the sentence whose nearest emergency example most outdoes its nearest calm
    one: that example's kind, its similarity and the margin. None without examples."""
    alarming = kinds != CALM
    if not alarming.any() or alarming.all():
        return None
    similarities = vectors @ examples.T
    best_alarm = similarities[:, alarming].max(axis=1)
    best_calm = similarities[:, ~alarming].max(axis=1)
    row = int(np.argmax(best_alarm - best_calm))
    kind = kinds[alarming][int(np.argmax(similarities[row, alarming]))]
    return Reading(str(kind), float(best_alarm[row]), float(best_alarm[row] - best_calm[row]), texts[row])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class DescribedEmergencyDetector(GraphComponent):
    """Sets `emergency` or `self_harm` for a message that describes one in new words.

    Place it just before the RedFlagDetector, which leaves its decision standing.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults (chosen on the development sets' validation rows: docs/performance.md)."""
        return {
            # alias of the MiniLMFeaturizer whose sentence embedding is the whole message's
            "featurizer_alias": "minilm",
            # nearest emergency example at least this similar...
            "similarity": 0.5,
            # ... and nearer than the nearest calm example by at least this much
            "margin": 0.1,
            # thoughts of self-harm read from a question need a nearer example: pain's
            # frustration is asked alike ("why am I still in pain?")
            "self_harm_question_similarity": 0.65,
            # lookup tables of data/ with the described examples of each kind
            "lookups": {
                "described_emergency": EMERGENCY,
                "described_self_harm": SELF_HARM,
                "described_calm": CALM,
            },
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        examples: Optional[np.ndarray] = None,
        kinds: Optional[np.ndarray] = None,
    ) -> None:
        """Create the detector with its stored examples (none before training)."""
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.examples = examples if examples is not None else np.zeros((0, 384), np.float32)
        self.kinds = kinds if kinds is not None else np.zeros((0,), dtype="<U16")

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DescribedEmergencyDetector:
        """Create an untrained detector."""
        return cls(config, model_storage, resource)

    def _examples(self, training_data: TrainingData) -> Tuple[List[str], List[str]]:
        """(texts, kinds): the lookup tables' examples, and every intent example (an
        emergency's as its kind, all others as calm)."""
        texts: List[str] = []
        kinds: List[str] = []
        lookups: Dict[str, str] = self.config["lookups"]
        for table in training_data.lookup_tables:
            kind = lookups.get(table.get("name", ""))
            if kind is not None:
                elements = [e for e in table.get("elements", []) if isinstance(e, str)]
                texts += elements
                kinds += [kind] * len(elements)
        for example in training_data.intent_examples:
            intent = example.get(INTENT)
            if example.get(TEXT):
                texts.append(example.get(TEXT))
                kinds.append(intent if intent in (EMERGENCY, SELF_HARM) else CALM)
        return texts, kinds

    def train(self, training_data: TrainingData) -> Resource:
        """Encode and keep every example with its kind."""
        texts, kinds = self._examples(training_data)
        if texts:
            self.examples = sentence_vectors(texts)
            self.kinds = np.asarray(kinds)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Save the encoded examples and their kinds into the model."""
        with self._model_storage.write_to(self._resource) as directory:
            np.save(directory / EMBEDDINGS_FILE, self.examples)
            np.save(directory / KINDS_FILE, self.kinds)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> DescribedEmergencyDetector:
        """Load the encoded examples."""
        try:
            with model_storage.read_from(resource) as directory:
                examples = np.load(directory / EMBEDDINGS_FILE)
                kinds = np.load(directory / KINDS_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("DescribedEmergencyDetector has no examples; it will not detect.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, examples, kinds)

    def read(self, text: str, whole: Optional[np.ndarray] = None) -> Optional[Reading]:
        """The message's most alarming sentence, when it reads as an emergency.

        `whole`: the message's own sentence vector, when the featurizer made it already.
        """
        parts = sentences(text)
        if whole is None:
            vectors = shared_encoder().encode(parts)[3]
        elif len(parts) > 1:
            vectors = np.vstack([whole.reshape(1, -1), shared_encoder().encode(parts[1:])[3]])
        else:
            vectors = whole.reshape(1, -1)
        reading = nearest_emergency(vectors, self.examples, self.kinds, parts)
        if reading is None:
            return None
        if reading.similarity < self.config["similarity"] or reading.margin < self.config["margin"]:
            return None
        # a question's shape alone does not clear it: emergencies are often asked
        # ("is it normal that I can't finish a sentence?")
        calm = calm_reading(text)
        if calm not in (None, "a question"):
            return None
        asked = calm == "a question" or text.rstrip().endswith("?")
        if asked and reading.kind == SELF_HARM:
            return reading if reading.similarity >= self.config["self_harm_question_similarity"] else None
        return reading

    def process(self, messages: List[Message]) -> List[Message]:
        """Set the emergency intent on each message that describes one."""
        for message in messages:
            text = message.get(TEXT) or ""
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if not text.strip() or intent == OTHER_LANGUAGE or find_red_flag(text):
                continue
            whole = MiniLMFeaturizer.sentence_embedding(message, self.config["featurizer_alias"])
            reading = self.read(text, whole)
            if reading is None:
                continue
            message.set(
                DESCRIBED_OUTPUT,
                {"kind": reading.kind, "similarity": round(reading.similarity, 3),
                 "margin": round(reading.margin, 3), "words": reading.sentence},
                add_to_output=True,
            )
            set_intent(message, reading.kind, reading.similarity)
        return messages
