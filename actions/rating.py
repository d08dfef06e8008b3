"""The patient's one-tap rating of an answer (the buttons of `utter_anything_else`).

The rating itself is the `rating` entity of the `rate_answer` message, so it is kept in
the tracker store with the conversation; the console reads it there (console/insights.py).
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import utter_handoff

RATING = "rating"
HELPFUL = "helpful"
NOT_HELPFUL = "not_helpful"


def latest_rating(tracker: Tracker) -> str:
    """The rating the latest message carries ("" when none)."""
    value = next(tracker.get_latest_entity_values(RATING), "")
    return str(value) if value in (HELPFUL, NOT_HELPFUL) else ""


class ActionRateAnswer(Action):
    """Thank the patient; when the answer did not help, give the clinic's phone as well."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_rate_answer"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        """`utter_rating_not_helpful` with the phone, or `utter_rating_thanks`."""
        if latest_rating(tracker) == NOT_HELPFUL:
            utter_handoff(dispatcher, "utter_rating_not_helpful")
        else:
            dispatcher.utter_message(response="utter_rating_thanks")
        return []
