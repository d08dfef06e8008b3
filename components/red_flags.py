"""The red-flag layer of the NLU pipeline: emergencies named in a message (the phrases and
how they are read: `core/red_flags.py`), whatever the classifiers say.

It sets the intent to `emergency`, or to `self_harm` for thoughts of suicide or self-harm
(whose reply adds the 9-8-8 helpline). Right after such a reply, a message that says the
emergency goes on is that emergency again. When the classifiers say `emergency` for a
message with no red flag that reads calm, the message is handed off instead: no 911 (a
classifier's `self_harm` is not cleared by a question's shape alone).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.parse_output import DESCRIBED_OUTPUT, set_intent
from core.red_flags import EMERGENCY, SELF_HARM, RedFlag, calm_reading, find_red_flag, goes_on

FALLBACK = "nlu_fallback"
# parse output key: which kind of red flag matched, and the words
RED_FLAG_OUTPUT = "red_flag"


def _still_going(text: str, tracker: Optional[DialogueStateTracker]) -> Optional[RedFlag]:
    """The previous message's red flag, when this one says the emergency goes on."""
    if tracker is None or not goes_on(text):
        return None
    for event in reversed(tracker.applied_events()):
        if isinstance(event, UserUttered):
            intent = (event.parse_data or {}).get(INTENT) or {}
            name = intent.get(INTENT_NAME_KEY)
            if name in (EMERGENCY, SELF_HARM):
                return RedFlag(name, "still going", text)
            return None
    return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class RedFlagDetector(GraphComponent):
    """Sets the intent to `emergency` or `self_harm` when a message names a red flag.

    Place it last in the pipeline: it overrides every earlier decision, fallback included.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No settings: the phrases are the module's."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        """Create the detector."""
        return cls()

    def process(
        self, messages: List[Message], tracker: Optional[DialogueStateTracker] = None
    ) -> List[Message]:
        """Set the red-flag intent with confidence 1 on each message that has one; hand
        off a message the classifiers took for an emergency that reads calm.

        `tracker` (the conversation so far, given by Rasa's recipe as to the TurnResolver):
        right after an emergency, a message that says it goes on is that emergency again.
        """
        for message in messages:
            text = message.get(TEXT) or ""
            flag = find_red_flag(text) or _still_going(text, tracker)
            if flag is not None:
                message.set(RED_FLAG_OUTPUT, {"kind": flag.kind, "words": flag.words}, add_to_output=True)
                set_intent(message, flag.intent)
                continue
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if message.get(DESCRIBED_OUTPUT):
                continue  # a described emergency: DescribedEmergencyDetector read it already
            calm = calm_reading(text) if intent in (EMERGENCY, SELF_HARM) else None
            # despair is often asked ("why should I even go on?"): the question shape alone
            # does not clear a classifier's self-harm
            if calm and not (intent == SELF_HARM and calm == "a question"):
                message.set(RED_FLAG_OUTPUT, {"kind": None, "calm": calm}, add_to_output=True)
                set_intent(message, FALLBACK, 0.0)
        return messages
