"""NLU reads a patient's message without their phone number, e-mail or health card number.

First in the pipeline: "what is a trigger point? my number is 780-555-0199" is understood
as "what is a trigger point?". The digits of a phone number made the classifiers hand off
a question they answer without it; no answer depends on an identifier. The event keeps the
message as typed (the tracker store masks it, stores/masking_tracker_store.py).
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from core.identifiers import without_identifiers


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class IdentifierFilter(GraphComponent):
    """Takes identifiers and their lead-in ("call me at") out of the text NLU reads."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No settings: the patterns are core.identifiers'."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IdentifierFilter:
        """Create the filter."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace each message's text by the text without identifiers (if it has any:
        other messages are left exactly as they are)."""
        for message in messages:
            text = message.get(TEXT)
            read = without_identifiers(text) if isinstance(text, str) and text else text
            if read != text:
                message.set(TEXT, read)
        return messages
