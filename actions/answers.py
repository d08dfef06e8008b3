"""Answers to a message that asks several questions at once."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import utter_handoff

# parse output key of components/turn_resolver.py: `faq/<key>` or "handoff", in order
PARTS = "question_parts"
HANDOFF = "handoff"


class ActionAnswerParts(Action):
    """Each page answer the message asked for, then the phone for what the page doesn't answer."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_answer_parts"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        """Utter `utter_faq/<key>` for each answered part; one hand-off for the rest."""
        parts = [p for p in (tracker.latest_message or {}).get(PARTS) or [] if isinstance(p, str)]
        answers = [p for p in parts if p.startswith("faq/")]
        for key in answers:
            dispatcher.utter_message(response=f"utter_{key}")
        if HANDOFF in parts or not answers:
            utter_handoff(dispatcher, "utter_handoff_rest" if answers else "utter_handoff")
        return []
