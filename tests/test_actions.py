"""Unit tests of the custom actions, with rasa_sdk's Tracker and CollectingDispatcher."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerParts
from actions.handoff import ActionHandoff
from actions.privacy import ActionPrivacyNotice
from actions.rating import ActionRateAnswer
from channels.guard import HANDOFF_REPLY, render
from core.clinic import Clinic, load_clinic, phone_to_tel_uri
from core.handoff import RESPONSES

CLINIC = Clinic(name="Test Physio", phone="(780) 555-0100", address="1 Main St")


def tracker_with_intent(intent: str | None, text: str = "hi") -> Tracker:
    """A tracker whose latest user message has the given intent."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9} if intent else {}}
    return Tracker("patient", {}, latest, [], False, None, {}, "action_listen")


@pytest.fixture
def clinic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clinic details as a deployment's .env would set them."""
    monkeypatch.setenv("CLINIC_NAME", CLINIC.name)
    monkeypatch.setenv("CLINIC_PHONE", CLINIC.phone)
    monkeypatch.setenv("CLINIC_ADDRESS", CLINIC.address)


@pytest.mark.parametrize(
    ("phone", "uri"),
    [
        ("(780) 761-3777", "tel:+17807613777"),
        ("780.761.3777", "tel:+17807613777"),
        ("+1 780 761 3777", "tel:+17807613777"),
        ("+44 20 7946 0000", "tel:+442079460000"),
    ],
)
def test_phone_to_tel_uri(phone: str, uri: str) -> None:
    """Numbers as people write them become dialable tel: URIs."""
    assert phone_to_tel_uri(phone) == uri


def test_clinic_comes_from_environment(clinic_env: None) -> None:
    """Name, phone and address are read from the environment (.env, core.settings)."""
    assert load_clinic() == CLINIC


# The number on the clinic's page (../shared/seed), the default of CLINIC_PHONE.
PAGE_PHONE = "(780) 761-3777"


def test_clinic_defaults_are_the_pages_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset or blank values fall back to the clinic page's phone number."""
    monkeypatch.setenv("CLINIC_PHONE", "  ")
    monkeypatch.delenv("CLINIC_NAME", raising=False)
    clinic = load_clinic()
    assert clinic.phone == PAGE_PHONE
    assert clinic.tel_uri == "tel:+17807613777"
    assert clinic.name


def test_env_example_defaults_match_the_page() -> None:
    """.env.example documents the page's phone number as the default."""
    from pathlib import Path

    from dotenv import dotenv_values

    values = dotenv_values(Path(__file__).parent.parent / ".env.example")
    assert values["CLINIC_PHONE"] == PAGE_PHONE
    assert values["CLINIC_ADDRESS"] == "Downtown Edmonton"


def test_the_safety_nets_handoff_is_the_domains_filled_in(clinic_env: None) -> None:
    """The channels' own hand-off: `utter_handoff` of the domain, with the number as text,
    tel: link and call button."""
    text, [button] = render(HANDOFF_REPLY)
    assert "can't answer that here" in text and CLINIC.name in text
    assert "[(780) 555-0100](tel:+17805550100)" in text
    assert button["url"] == "tel:+17805550100"


def test_action_handoff_sends_the_domain_reply_with_the_clinic_and_a_call_button(clinic_env: None) -> None:
    """One reply from the domain, filled with the clinic's number and a tel: button."""
    dispatcher = CollectingDispatcher()
    events = ActionHandoff().run(dispatcher, tracker_with_intent("out_of_scope"), {})
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff"
    assert message["phone_link"] == "[(780) 555-0100](tel:+17805550100)"
    assert message["clinic_name"] == CLINIC.name
    [button] = message["buttons"]
    assert button["url"] == button["payload"] == "tel:+17805550100"


@pytest.mark.parametrize(
    ("intent", "response"),
    [
        ("book_appointment", "utter_handoff_booking"),
        ("contact", "utter_handoff_contact"),
        ("bot_challenge", "utter_iamabot"),
        ("other_language", "utter_other_language"),
        ("nlu_fallback", "utter_handoff"),
        (None, "utter_handoff"),
    ],
)
def test_action_handoff_follows_the_latest_intent(
    clinic_env: None, intent: str | None, response: str
) -> None:
    """Booking gets the booking wording, a bot question the offer of a person, and so on."""
    dispatcher = CollectingDispatcher()
    ActionHandoff().run(dispatcher, tracker_with_intent(intent), {})
    assert dispatcher.messages[0]["response"] == response


def test_every_handoff_reply_in_the_domain_carries_the_phone_link() -> None:
    """Each reply the hand-off actions send names the number as a tap-to-call link."""
    import yaml

    domain = yaml.safe_load((Path(__file__).parent.parent / "domain.yml").read_text(encoding="utf-8"))
    names = {
        *RESPONSES.values(), "utter_handoff", "utter_handoff_suggest", "utter_handoff_rest",
        "utter_rating_not_helpful",
    }
    for name in names:
        for variation in domain["responses"][name]:
            assert "{phone_link}" in variation["text"], name


def test_did_you_mean_shows_the_suggestions_then_the_call_button(clinic_env: None) -> None:
    """Unsure between answers: a button per suggested question, then the phone."""
    latest = {
        "text": "needles?",
        "intent": {"name": "nlu_fallback", "confidence": 0.0},
        "suggestions": [
            {"key": "faq/how_it_works", "title": "How does dry needling work?"},
            {"key": "faq/what_is_dry_needling", "title": "What is dry needling?"},
        ],
    }
    tracker = Tracker("patient", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    ActionHandoff().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_suggest"
    assert [b["payload"] for b in message["buttons"]] == [
        "How does dry needling work?", "What is dry needling?", "tel:+17805550100",
    ]


def rated(value: str) -> Tracker:
    """A tracker whose latest message is a tap on a rating button."""
    latest = {
        "text": f'/rate_answer{{"rating": "{value}"}}',
        "intent": {"name": "rate_answer", "confidence": 1.0},
        "entities": [{"entity": "rating", "value": value}],
    }
    return Tracker("patient", {}, latest, [], False, None, {}, "action_listen")


def test_a_helpful_rating_gets_thanks_and_an_unhelpful_one_the_phone(clinic_env: None) -> None:
    """ "This answer didn't help": thanks, the number as a link and a call button."""
    dispatcher = CollectingDispatcher()
    assert ActionRateAnswer().run(dispatcher, rated("helpful"), {}) == []
    [thanks] = dispatcher.messages
    assert thanks["response"] == "utter_rating_thanks" and not thanks["buttons"]
    dispatcher = CollectingDispatcher()
    ActionRateAnswer().run(dispatcher, rated("not_helpful"), {})
    [sorry] = dispatcher.messages
    assert sorry["response"] == "utter_rating_not_helpful"
    assert sorry["phone_link"] == "[(780) 555-0100](tel:+17805550100)"
    assert sorry["buttons"][0]["payload"] == "tel:+17805550100"
    dispatcher = CollectingDispatcher()
    ActionRateAnswer().run(dispatcher, rated("excellent"), {})  # typed by hand: only a thanks
    assert dispatcher.messages[0]["response"] == "utter_rating_thanks"


def test_answer_parts_answers_each_and_hands_off_the_rest(clinic_env: None) -> None:
    """Several questions: each page answer in order, one hand-off for the rest, then "anything
    else?" (with the rating buttons)."""
    latest = {
        "text": "what is it? is it safe?",
        "intent": {"name": "multi_question"},
        "question_parts": ["faq/what_is_dry_needling", "handoff"],
    }
    tracker = Tracker("patient", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    ActionAnswerParts().run(dispatcher, tracker, {})
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_faq/what_is_dry_needling", "utter_handoff_rest", "utter_anything_else",
    ]
    assert dispatcher.messages[1]["buttons"][0]["payload"] == "tel:+17805550100"


@pytest.mark.parametrize(
    ("parts", "replies"),
    [
        (["faq/what_is_trigger_point", "faq/trigger_point_causes"],
         ["utter_faq/what_is_trigger_point", "utter_faq/trigger_point_causes", "utter_anything_else"]),
        (["greet", "faq/how_it_works"], ["utter_hello", "utter_faq/how_it_works", "utter_anything_else"]),
        (["thank", "goodbye"], ["utter_you_are_welcome", "utter_goodbye"]),
        (["deny", "thank"], ["utter_you_are_welcome", "utter_goodbye"]),
        (["thank", "goodbye", "deny"], ["utter_you_are_welcome", "utter_goodbye"]),
    ],
)
def test_answer_parts_say_each_courtesy_back(
    clinic_env: None, parts: List[str], replies: List[str]
) -> None:
    """"hello, what ...?" gets a hello before the answer; "thanks, bye" a welcome and a goodbye."""
    latest = {"text": "...", "intent": {"name": "multi_question"}, "question_parts": parts}
    tracker = Tracker("patient", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    ActionAnswerParts().run(dispatcher, tracker, {})
    assert [m["response"] for m in dispatcher.messages] == replies


def test_typed_entities_cannot_change_the_phone_number(clinic_env: None) -> None:
    """A patient typing /greet{"clinic_phone": "555"} does not change what is shown."""
    tracker = Tracker(
        "patient",
        {"clinic_phone": "555", "phone_link": "555"},
        {"text": '/greet{"phone_link": "555"}', "intent": {"name": "greet"},
         "entities": [{"entity": "phone_link", "value": "555"}]},
        [], False, None, {}, "action_listen",
    )
    dispatcher = CollectingDispatcher()
    ActionHandoff().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["phone_link"] == "[(780) 555-0100](tel:+17805550100)"


def test_privacy_notice_says_how_long_and_where_to_read_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """The domain's notice, filled in with RETENTION_DAYS and PRIVACY_URL from the settings."""
    monkeypatch.setenv("RETENTION_DAYS", "14")
    monkeypatch.setenv("PRIVACY_URL", "https://clinic.example/privacy")
    dispatcher = CollectingDispatcher()
    assert ActionPrivacyNotice().run(dispatcher, tracker_with_intent("start_chat"), {}) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_privacy_notice"
    assert (message["retention_days"], message["privacy_url"]) == (14, "https://clinic.example/privacy")
