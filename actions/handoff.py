"""Hand the patient to the clinic's phone line instead of guessing."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic import Clinic, load_clinic

BOOKING_INTENTS = {"book_appointment"}
CONTACT_INTENTS = {"contact"}


def handoff_text(clinic: Clinic, intent: str | None) -> str:
    """The hand-off message for the patient's last intent; it always names the phone number."""
    if intent in BOOKING_INTENTS:
        lead = (
            "I can't book, change or cancel appointments here. "
            f"Please call {clinic.name} and our front desk will help you"
        )
    elif intent in CONTACT_INTENTS:
        lead = (
            f"You can reach {clinic.name} ({clinic.address}) by phone, "
            "and our front desk will be happy to help you"
        )
    else:
        lead = (
            "Sorry, I can't answer that here: I only answer the general questions "
            "about dry needling on our clinic's page. Please call "
            f"{clinic.name} and our team will help you"
        )
    return f"{lead}: {clinic.phone_link}"


def call_button(clinic: Clinic) -> Dict[str, str]:
    """A button that dials the clinic (widgets open `url`; the payload is the same URI)."""
    return {
        "title": f"Call {clinic.phone}",
        "type": "web_url",
        "url": clinic.tel_uri,
        "payload": clinic.tel_uri,
    }


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
        """Send the hand-off message for the latest intent."""
        clinic = load_clinic()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        dispatcher.utter_message(
            text=handoff_text(clinic, intent),
            buttons=[call_button(clinic)],
        )
        return []
