"""NLU reads patients' shorthand and typing slips in plain words (core/patient_words.py).

Second in the pipeline, after the identifier filter: "wut do they do 2 the muscle" is read
as "what do they do to the muscle". A word is respelt only when the sentence encoder's
vocabulary (all-MiniLM-L6-v2's word pieces) has no such whole word. The event keeps the
message as typed, and the language detector reads it as typed (`AS_TYPED`). The training
examples are read the same way.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from typing import Any, Dict, FrozenSet, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import core.patient_words
from components.minilm_featurizer import shared_encoder
from core.patient_words import plain_words

# The message's text before this component rewrote it (read by the language detector)
AS_TYPED = "text_as_typed"


@functools.lru_cache(maxsize=1)
def encoder_words() -> FrozenSet[str]:
    """The whole words of the encoder's vocabulary (not "##" word pieces)."""
    return frozenset(w for w in shared_encoder().tokenizer.get_vocab() if not w.startswith("##"))


def reading_version() -> str:
    """A hash of core.patient_words' source. Rasa's training cache keys a component on its
    own class source only; with this in PatientWords' fingerprint, a changed word list
    reads the training data again."""
    return hashlib.sha256(inspect.getsource(core.patient_words).encode("utf-8")).hexdigest()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class PatientWords(GraphComponent):
    """Spells out shorthand, respells misspelt topic words and lowers shouting."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No settings: the word lists are core.patient_words'."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PatientWords:
        """Create the component."""
        return cls()

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The word lists' version (`reading_version`)."""
        return reading_version()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The training examples in the same plain words (a featurizer's place in the
        recipe is what makes Rasa run this on them)."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace each message's text by its plain reading (when that differs)."""
        known = encoder_words()
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            read = plain_words(text, known.__contains__)
            if read != text:
                message.set(AS_TYPED, text)
                message.set(TEXT, read)
        return messages
