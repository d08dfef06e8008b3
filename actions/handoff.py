"""Hand the patient to the clinic's phone line instead of guessing.

The wording lives in the domain (`utter_handoff*`, `utter_iamabot`,
`utter_other_language`); this action picks the reply for the patient's last intent and
fills in the clinic's details from `.env`. `handoff_text` is the same general hand-off
for the channels' safety net, which must work when the action server is down.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic import Clinic, load_clinic

BOOKING_INTENTS = {"book_appointment"}
CONTACT_INTENTS = {"contact"}
# The reply for each intent that is handed off; any other gets `utter_handoff`.
RESPONSES = {
    "book_appointment": "utter_handoff_booking",
    "contact": "utter_handoff_contact",
    "bot_challenge": "utter_iamabot",
    "other_language": "utter_other_language",
}
# parse output key of components/turn_resolver.py: the closest page answers
SUGGESTIONS = "suggestions"


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


def clinic_details(clinic: Clinic) -> Dict[str, str]:
    """The variables the domain's hand-off replies use."""
    return {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_address": clinic.address,
        "phone_link": clinic.phone_link,
    }


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
            utter_handoff(dispatcher, RESPONSES.get(intent or "", "utter_handoff"))
        return []
