"""The hand-off: which intents mean "call the clinic", which reply each gets, and its buttons.

The wording lives in the domain (`utter_handoff*`); `handoff_text` is the general hand-off
for the channels' safety net, which must work when the action server is down.
"""

from __future__ import annotations

from typing import Dict, Optional

from core.clinic import Clinic

# Intents the assistant does not answer itself: the patient is given the clinic's phone.
HANDOFF_INTENTS = frozenset(
    {"out_of_scope", "nlu_fallback", "book_appointment", "contact", "bot_challenge", "other_language"}
)
BOOKING_INTENTS = frozenset({"book_appointment"})
CONTACT_INTENTS = frozenset({"contact"})
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


def handoff_text(clinic: Clinic, intent: Optional[str]) -> str:
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
