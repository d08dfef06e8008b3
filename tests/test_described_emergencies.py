"""The DescribedEmergencyDetector (components/described_emergencies.py): emergencies told in
words no red-flag phrase knows, found by their nearness to described examples, sentence by
sentence; calm look-alikes and calm readings left alone; trained, saved and loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.described_emergencies import MAX_SENTENCES, DescribedEmergencyDetector, sentences
from components.language_detector import OTHER_LANGUAGE
from components.parse_output import DESCRIBED_OUTPUT
from components.red_flags import RedFlagDetector
from core.red_flags import EMERGENCY, SELF_HARM, find_red_flag

EMERGENCIES = [
    "my grandpa keeps staring and cannot tell me what day it is, it started out of nowhere",
    "grandma is suddenly very confused and does not know who I am",
    "my dad went grey and sweaty and says he feels like he is going to die",
    "there is a heavy weight on me and my heart is racing like crazy",
]
SELF_HARMS = [
    "I keep thinking everyone would be better off without me around",
    "I have been planning how to stop being a burden for good",
]
CALMS = [
    "my grandpa had a bit of confusion years ago but he is fine, can he book?",
    "is it normal to feel a bit tired after the session?",
]
QUESTIONS = {
    "faq/what_is_dry_needling": ["what is dry needling", "what is IMS"],
    "out_of_scope": ["how much does a session cost", "do you direct bill insurance"],
}


def training_data() -> TrainingData:
    """Described examples as data/emergency.yml holds them, and a few intent examples."""
    examples = [
        Message(data={"text": text, "intent": intent.split("/")[0]})
        for intent, texts in QUESTIONS.items()
        for text in texts
    ]
    examples.append(Message(data={"text": "i can't breathe", "intent": EMERGENCY}))
    lookups = [
        {"name": "described_emergency", "elements": EMERGENCIES},
        {"name": "described_self_harm", "elements": SELF_HARMS},
        {"name": "described_calm", "elements": CALMS},
    ]
    return TrainingData(training_examples=examples, lookup_tables=lookups)


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    return LocalModelStorage(Path(tmp_path_factory.mktemp("described")))


@pytest.fixture(scope="module")
def detector(storage: LocalModelStorage) -> DescribedEmergencyDetector:
    """A detector trained on the examples above (and saved)."""
    component = DescribedEmergencyDetector.create(
        DescribedEmergencyDetector.get_default_config(), storage, Resource("described"), None  # type: ignore[arg-type]
    )
    component.train(training_data())
    return component


def parse(detector: DescribedEmergencyDetector, text: str, intent: str = "nlu_fallback") -> Message:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.0}})
    detector.process([message])
    return message


def intent_of(message: Message) -> Optional[str]:
    return (message.get("intent") or {}).get("name")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("grandad all of a sudden can't tell me what day it is and keeps staring", EMERGENCY),
        ("lately I keep planning how to stop being a burden to everyone, for good", SELF_HARM),
    ],
)
def test_a_described_emergency_gets_its_kind(
    detector: DescribedEmergencyDetector, text: str, kind: str
) -> None:
    assert find_red_flag(text) is None  # no phrase knows these words
    message = parse(detector, text)
    assert intent_of(message) == kind
    reading: Dict[str, Any] = message.get(DESCRIBED_OUTPUT)
    assert reading["kind"] == kind
    assert reading["similarity"] >= detector.config["similarity"]
    assert reading["margin"] >= detector.config["margin"]


def test_the_emergency_in_the_second_sentence_of_a_calm_story_counts(
    detector: DescribedEmergencyDetector,
) -> None:
    text = (
        "I booked an appointment for next week to get my shoulder looked at by the physio. "
        "Right now my grandpa suddenly can't tell me what day it is and just stares."
    )
    message = parse(detector, text)
    assert intent_of(message) == EMERGENCY
    assert message.get(DESCRIBED_OUTPUT)["words"].startswith("Right now my grandpa")


@pytest.mark.parametrize(
    "text",
    [
        "what is dry needling exactly?",  # an ordinary question
        "is it normal to feel a little tired after a session?",  # a calm look-alike
        "my grandad had some confusion years ago and he's fine now, can he come in?",
        "no confusion, no weight on my chest, just sore: is that normal?",  # denied
    ],
)
def test_calm_messages_are_left_alone(detector: DescribedEmergencyDetector, text: str) -> None:
    message = parse(detector, text)
    assert intent_of(message) == "nlu_fallback" and not message.get(DESCRIBED_OUTPUT)


def test_phrases_and_other_languages_are_left_to_their_own_components(
    detector: DescribedEmergencyDetector,
) -> None:
    assert not parse(detector, "I can't breathe, help").get(DESCRIBED_OUTPUT)  # the red-flag layer's
    foreign = parse(detector, "grandad all of a sudden can't tell me what day it is", intent=OTHER_LANGUAGE)
    assert intent_of(foreign) == OTHER_LANGUAGE


def test_the_red_flag_detector_leaves_a_described_emergency_asked_as_a_question(
    detector: DescribedEmergencyDetector,
) -> None:
    """A question's shape hands off a classifier's emergency, not a described one."""
    message = parse(detector, "is it normal that grandad suddenly can't tell me what day it is?")
    assert intent_of(message) == EMERGENCY
    RedFlagDetector().process([message])
    assert intent_of(message) == EMERGENCY


def test_the_examples_are_saved_and_loaded(
    storage: LocalModelStorage, detector: DescribedEmergencyDetector
) -> None:
    loaded = DescribedEmergencyDetector.load(
        DescribedEmergencyDetector.get_default_config(), storage, Resource("described"), None  # type: ignore[arg-type]
    )
    text = "grandad all of a sudden can't tell me what day it is and keeps staring"
    assert loaded.read(text) == detector.read(text)
    assert len(loaded.kinds) == len(EMERGENCIES) + len(SELF_HARMS) + len(CALMS) + 5


def test_untrained_it_reads_nothing(storage: LocalModelStorage) -> None:
    empty = DescribedEmergencyDetector.load(
        DescribedEmergencyDetector.get_default_config(), storage, Resource("never trained"), None  # type: ignore[arg-type]
    )
    assert empty.read("grandad all of a sudden can't tell me what day it is") is None


def test_a_message_is_read_whole_and_sentence_by_sentence() -> None:
    assert sentences("Hi. My grandpa suddenly stares at me. ok?") == [
        "Hi. My grandpa suddenly stares at me. ok?",
        "My grandpa suddenly stares at me.",
    ]


def test_thoughts_of_self_harm_read_from_a_question_need_a_nearer_example(
    storage: LocalModelStorage,
) -> None:
    """Pain's frustration is asked like despair ("why am I still in pain?")."""
    strict = DescribedEmergencyDetector.load(
        {**DescribedEmergencyDetector.get_default_config(), "self_harm_question_similarity": 0.99},
        storage, Resource("described"), None,  # type: ignore[arg-type]
    )
    said = "lately I keep planning how to stop being a burden to everyone, for good"
    assert strict.read(said) is not None and strict.read(said).kind == SELF_HARM
    assert strict.read(said + "?") is None


def test_a_long_story_is_read_at_its_start_and_end_only() -> None:
    story = " ".join(f"Sentence number {n} of my long story." for n in range(40))
    parts = sentences(story)
    assert len(parts) == 1 + MAX_SENTENCES
    assert parts[1].startswith("Sentence number 0 ") and parts[-1].startswith("Sentence number 39 ")


def test_a_denial_clears_thoughts_of_self_harm_asked_as_a_question(
    detector: DescribedEmergencyDetector,
) -> None:
    text = "I'm not suicidal, but lately I keep planning how to stop being a burden to everyone, for good?"
    assert detector.read(text) is None
