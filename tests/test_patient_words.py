"""Patients' shorthand, typing slips and shouting read in plain words (core/patient_words.py,
components/patient_words.py)."""

from __future__ import annotations

import inspect

import pytest
from rasa.engine.training.fingerprinting import calculate_fingerprint_key
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import core.patient_words
from components.patient_words import AS_TYPED, PatientWords, encoder_words
from core.patient_words import is_shouting, plain_words, respell


def known(word: str) -> bool:
    """The encoder's vocabulary, as the component uses it."""
    return word in encoder_words()


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("wut do they do 2 the muscle", "what do they do to the muscle"),
        ("wat does it even do 2 ur muscles", "what does it even do to your muscles"),
        ("so dn dont use meridans?", "so dry needling dont use meridians?"),
        ("MTrP aetiology?", "myofascial trigger point what causes?"),
        ("y do i get knots n how", "why do i get knots and how"),
        ("blood flow w/ needle in a TrP?", "blood flow with needle in a trigger point?"),
        ("Whats the diffrence between accupuncture and dry neeedling",
         "Whats the difference between acupuncture and dry needling"),
        ("contraindications?", "who should not get it?"),
        ("CAN NEEDLING GET RID OF THEM", "can needling get rid of them"),
        # the treatment's other names read as the page's first one
        ("HOW DOES TRIGGER POINT DRY NEEDLING WORK?", "how does dry needling work?"),
        ("What Does Intramuscular Stimulation Treat?", "What Does dry needling Treat?"),
        ("what is IMS?", "what is dry needling?"),
        ("tdn for a stiff neck?", "dry needling for a stiff neck?"),
    ],
)
def test_shorthand_and_slips_are_read_in_plain_words(typed: str, read: str) -> None:
    assert plain_words(typed, known) == read


@pytest.mark.parametrize(
    "text",
    [
        "I have 2 questions",
        # named both ways: the question is about the names
        "is IMS the same as dry needling?",
        "Is dry needling the same as acupuncture?",
        "my physio said I have a trigger point in my shoulder",
        "my 4 kids",
    ],
)
def test_plain_messages_are_left_as_they_are(text: str) -> None:
    assert plain_words(text, known) == text


def test_known_words_are_never_respelt() -> None:
    """A real English word close to a topic word ("needing", "breath") stays itself."""
    assert respell("needing", known) is None
    assert respell("bleeding", known) is None
    assert respell("accupuncture", known) == "acupuncture"


def test_another_word_is_no_slip_of_a_topic_word() -> None:
    """Words the encoder splits into pieces are respelt only when they keep the topic
    word's first letter and about its length: "puncture a lung" is not about acupuncture."""
    assert respell("puncture", nothing_known) is None
    assert respell("meridans", nothing_known) == "meridians"
    assert respell("phisiotherapy", nothing_known) == "physiotherapy"


def nothing_known(word: str) -> bool:
    """No word is one the encoder knows whole."""
    return False


def test_a_capitalised_abbreviation_is_not_shouting() -> None:
    assert not is_shouting("is IMS the same as DN?")
    assert is_shouting("WHAT IS A TRIGGER POINT")


def test_the_component_keeps_the_message_as_typed() -> None:
    """The language detector reads the text as typed: "acupuntura" is Spanish, not a slip."""
    component = PatientWords()
    message = Message(data={TEXT: "¿Qué es la acupuntura?"})
    component.process([message])
    assert message.get(AS_TYPED) == "¿Qué es la acupuntura?"
    plain = Message(data={TEXT: "what is a trigger point?"})
    component.process([plain])
    assert plain.get(TEXT) == "what is a trigger point?" and plain.get(AS_TYPED) is None


def test_training_examples_are_read_the_same_way() -> None:
    """Training examples and patients' messages are read in the same plain words, so a
    training example naming IMS is as near "how does dry needling work" as the message."""
    example = Message(data={TEXT: "how does IMS work", "intent": "faq"})
    PatientWords().process_training_data(TrainingData([example]))
    assert example.get(TEXT) == "how does dry needling work"


def test_changed_word_lists_read_the_training_data_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa's training cache keys a component on its own source; the plain-word reading
    lives in core.patient_words, so its version is part of PatientWords' key (else the
    training data read with a changed word list would be restored stale from the cache)."""
    before = calculate_fingerprint_key(PatientWords, {}, {})
    monkeypatch.setattr(
        "inspect.getsource",
        lambda obj, _real=inspect.getsource: _real(obj) + ("#" if obj is core.patient_words else ""),
    )
    assert calculate_fingerprint_key(PatientWords, {}, {}) != before
