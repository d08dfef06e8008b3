"""Answers to a message that asks several things at once."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import utter_handoff

# parse output key of components/turn_resolver.py: `faq/<key>`, "handoff" or a courtesy
PARTS = "question_parts"
HANDOFF = "handoff"
# The reply to each courtesy; said back in this order (a hello first, a goodbye last).
COURTESY_REPLIES = {
    "greet": "utter_hello",
    "thank": "utter_you_are_welcome",
    "goodbye": "utter_goodbye",
    "deny": "utter_goodbye",
}


class ActionAnswerParts(Action):
    """Each page answer the message asked for, the phone for what the page doesn't answer,
    and a reply to each courtesy ("thanks, bye")."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_answer_parts"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        """A hello if greeted; `utter_faq/<key>` for each answered part; one hand-off for
        the rest; then "anything else?" after answers, or a welcome and a goodbye."""
        parts = [p for p in (tracker.latest_message or {}).get(PARTS) or [] if isinstance(p, str)]
        courtesies = list(dict.fromkeys(r for c, r in COURTESY_REPLIES.items() if c in parts))
        answers = [p for p in parts if p.startswith("faq/")]
        if "utter_hello" in courtesies:
            dispatcher.utter_message(response="utter_hello")
        for key in answers:
            dispatcher.utter_message(response=f"utter_{key}")
        if HANDOFF in parts or not (answers or courtesies):
            utter_handoff(dispatcher, "utter_handoff_rest" if answers else "utter_handoff")
        if answers:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        for reply in courtesies:
            if reply != "utter_hello":
                dispatcher.utter_message(response=reply)
        return []
