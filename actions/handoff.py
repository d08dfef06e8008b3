"""Hand the patient to the clinic's phone line instead of guessing.

The wording lives in the domain (`utter_handoff*`, `utter_iamabot`,
`utter_other_language`); which reply an intent gets is decided in `core.handoff`. This
action sends it, filled in with the clinic's details from `.env`, with a call button.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.clinic import load_clinic
from core.handoff import call_button, clinic_details, handoff_response

# parse output key of components/turn_resolver.py: the closest page answers
SUGGESTIONS = "suggestions"


def suggestion_buttons(latest_message: Dict[str, Any]) -> List[Dict[str, str]]:
    """A button per suggested page question; tapping it asks that question."""
    return [
        {"title": s["title"], "payload": s["title"]}
        for s in latest_message.get(SUGGESTIONS) or []
        if isinstance(s, dict) and s.get("title")
    ]


def utter_handoff(
    dispatcher: CollectingDispatcher, response: str, buttons: List[Dict[str, str]] | None = None
) -> None:
    """Send a domain reply with the clinic's details and a call button after any `buttons`."""
    clinic = load_clinic()
    dispatcher.utter_message(
        response=response,
        buttons=[*(buttons or []), call_button(clinic)],
        **clinic_details(clinic),
    )


class ActionHandoff(Action):
    """Tell the patient plainly to call the clinic, with the number as a tap-to-call link."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_handoff"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        """Send the hand-off reply for the latest intent ("did you mean" when unsure)."""
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name")
        suggestions = suggestion_buttons(latest) if intent == "nlu_fallback" else []
        if suggestions:
            utter_handoff(dispatcher, "utter_handoff_suggest", suggestions)
        else:
            utter_handoff(dispatcher, handoff_response(intent))
        return []
