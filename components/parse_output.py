"""Small helpers that change a parse result the way Rasa's own classifiers set it."""

from __future__ import annotations

from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

# parse output key of DescribedEmergencyDetector: the sentence read as an emergency, and
# how near it was to the examples (the RedFlagDetector leaves such a decision standing)
DESCRIBED_OUTPUT = "described_emergency"


def set_intent(message: Message, name: str, confidence: float = 1.0) -> None:
    """Make `name` the message's intent, first in its ranking, with `confidence`."""
    ranking = [
        entry for entry in (message.get(INTENT_RANKING_KEY) or []) if entry.get(INTENT_NAME_KEY) != name
    ]
    top = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
