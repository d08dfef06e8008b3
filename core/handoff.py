"""The hand-off: which intents mean "call the clinic", which reply each gets, and its buttons.

The wording lives in the domain (`utter_handoff*`), filled with `clinic_details`: by the
hand-off action, and by the channels' safety net when the action server is down.
"""

from __future__ import annotations

from typing import Dict, Optional

from core.clinic import Clinic

# Intents the assistant does not answer itself: the patient is given the clinic's phone.
HANDOFF_INTENTS = frozenset(
    {"out_of_scope", "nlu_fallback", "book_appointment", "contact", "bot_challenge", "other_language"}
)
# The domain reply for each intent that is handed off; any other gets `utter_handoff`.
RESPONSES = {
    "book_appointment": "utter_handoff_booking",
    "contact": "utter_handoff_contact",
    "bot_challenge": "utter_iamabot",
    "other_language": "utter_other_language",
}
DEFAULT_RESPONSE = "utter_handoff"


def is_handoff(label: str) -> bool:
    """Whether a predicted label (an intent, or `faq/<key>`) ends in the phone hand-off."""
    return label in HANDOFF_INTENTS


def handoff_response(intent: Optional[str]) -> str:
    """The domain reply that hands off a message with this intent."""
    return RESPONSES.get(intent or "", DEFAULT_RESPONSE)


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
