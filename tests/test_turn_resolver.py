"""Unit tests of the turn resolver's pieces that need no model: question parts, the
off-page topics from data/off_page.yml, and the margin a question of several must clear."""

from __future__ import annotations

import re
from typing import List

import pytest
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.turn_resolver import (
    WHAT_IS_IT,
    Match,
    answer_stems,
    contrast,
    conversation_topic,
    named_in_answer,
    question_parts,
)
from retrain.trainingdata import nlu_training_data
from tests.conftest import PROJECT


def training_data() -> TrainingData:
    """The NLU training data of data/, as `rasa train` reads it."""
    return nlu_training_data(PROJECT / "data")


@pytest.fixture(scope="module")
def off_page() -> List[re.Pattern]:
    """The off-page regexes, compiled as the resolver compiles them."""
    data = training_data()
    patterns = [f["pattern"] for f in data.regex_features if f["name"] == "off_page"]
    assert patterns, "data/off_page.yml holds no off_page regex"
    return [re.compile(pattern, re.I) for pattern in patterns]


def topic(off_page: List[re.Pattern], text: str) -> bool:
    return any(pattern.search(text) for pattern in off_page)


def test_no_page_question_of_the_training_data_is_off_page(off_page: List[re.Pattern]) -> None:
    """An off-page regex that matched a page question's example would hand that question off."""
    data = training_data()
    clashes = [
        (example.get("intent_response_key"), example.get("text"))
        for example in data.intent_examples
        if (example.get("intent_response_key") or "").startswith("faq/")
        and topic(off_page, example.get("text"))
    ]
    assert not clashes, clashes


@pytest.mark.parametrize(
    "text",
    [
        "is it safe?",
        "does it hurt",
        "how much does a session cost",
        "is it covered by my insurance?",
        "how many sessions will I need",
        "what happens during the session",
        "is dry needling effective for back pain?",
        "does IMS really work?",
        "can I have it while pregnant",
        "who should not get dry needling",
        "can I work out before my appointment?",
        "is it the same as cupping",
        "how often can I get dry needling?",
        "can I get it again next week?",
        "what other options are there besides needling",
        "which patients are excluded from dry needling",
        "when would a physio not use dry needling",
        "is it fine to do a long run right before IMS",
        "should i skip my workout the morning of my needling",
        "can i lift weights prior to the session",
        "is that a bad idea for someone like me",
        "is he not a good candidate",
        "is dry needling right for me",
        "would my husband be a good candidate for IMS?",
        "can any physio do needling or only some?",
        "are you not allowed to get it on blood thinners",
        "tell me what a typical IMS treatment looks like",
        "what should I expect?",
        "what's a session like",
        "what do they do at the appointment",
        "who is it not for?",
        "when should you avoid dry needling",
        "is trigger finger the same as a trigger point",
        "why do my feet cramp up at night",
        "is it like those suction cups athletes use",
        "who came up with intramuscular stimulation",
        "will there be blood",
        "do i need to undress for it",
        "when might it not be appropriate?",
        "does dry needling relieve pain?",
        "is needling okay for someone with a heart condition?",
        "can you even needle the jaw?",
        "do you offer anything for tennis elbow?",
        "will I pass out when the needle goes in?",
        "does IMS affect blood pressure?",
        "which one is better, IMS or massage?",
        "is needling better than stretching",
        "is needling a no-go for me",
        "could the needles bring on a migraine?",
        "do you needle close to or near the lungs",
        "was that from the needling?",
        "is it usual to be this sore for three days",
        "I'm allergic to nickel, are the needles ok",
        "do you take patients like my dad?",
        "will needling speed up my recovery",
    ],
)
def test_questions_the_page_does_not_answer_are_off_page(
    off_page: List[re.Pattern], text: str
) -> None:
    assert topic(off_page, text)


@pytest.mark.parametrize(
    "text",
    [
        "how does dry needling work?",
        "why does it work",
        "is it safe to exercise after dry needling?",
        "why do knots hurt so much",
        "does IMS work the same way as acupuncture?",
        "will needling help release my knots",
        "how soon can I go to the gym after IMS?",
        "can I exercise after my appointment?",
        "can I exercise after a session like this?",
        "I have a history of back pain, what is dry needling?",
        "what do they do in dry needling",
        "I developed knots from sitting all day, what causes them?",
        "how does dry needling relieve pain?",
        "had IMS this morning, is my run tonight a bad idea?",
        "just got needled, is soccer practice a no-go today",
    ],
)
def test_page_questions_are_not_off_page(off_page: List[re.Pattern], text: str) -> None:
    assert not topic(off_page, text)


def test_question_parts_split_sentences_and_joined_questions() -> None:
    assert question_parts("what is IMS? and what causes knots") == ["what is IMS?", "and what causes knots"]
    assert question_parts("I run marathons. Why do knots form?") == ["Why do knots form?"]
    assert question_parts("tell me about needling") == ["tell me about needling"]
    assert question_parts("what is IMS for + am i ok to lift after") == [
        "what is IMS for", "am i ok to lift after"]
    assert question_parts("is it part of rehab? also roughly how many visits") == [
        "is it part of rehab?", "also roughly how many visits"]


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("ugh this knot is driving me nuts, what even is it", True),
        ("My physio mentioned IMS. Could you tell me what that actually is?", True),
        ("so what is it exactly?", True),
        ("then what is it exactly, in plain words", True),
        ("what is it like?", False),
        ("what is it used for", False),
        ("what does it do", False),
    ],
)
def test_what_is_it_asks_what_the_subject_is(text: str, asks: bool) -> None:
    assert bool(WHAT_IS_IT.search(text)) is asks


def test_a_part_needs_a_margin_over_the_next_page_answer() -> None:
    clear = Match("faq/how_it_works", similarity=0.7, handoff_similarity=0.3, runner_up=0.6)
    close = Match("faq/how_it_works", similarity=0.7, handoff_similarity=0.3, runner_up=0.68)
    assert clear.answer(0.55, margin=0.05) == "faq/how_it_works"
    assert close.answer(0.55, margin=0.05) is None
    assert close.answer(0.55) == "faq/how_it_works"
    assert Match("faq/how_it_works", 0.7, handoff_similarity=0.75).answer(0.55) is None


def test_it_and_them_are_what_the_conversation_is_about() -> None:
    assert conversation_topic("faq/trigger_point_causes", "") == "trigger points"
    assert conversation_topic("faq/how_it_works", "") == "dry needling"
    assert conversation_topic(None, "my knots are killing me") == "trigger points"
    assert conversation_topic(None, "is the needling gonna hurt") == "dry needling"
    assert conversation_topic(None, "hi there") is None


def test_what_about_after_is_the_previous_question_the_other_way_round() -> None:
    previous = "can I exercise before my appointment?"
    assert contrast("what about after?", previous) == "can I exercise after my appointment?"
    assert contrast("and afterwards", "is a run ok before needling") == "is a run ok afterwards needling"
    assert contrast("ok what about before then?", "can i lift after IMS") == "can i lift before IMS"
    assert contrast("what about after?", "what is dry needling") is None
    assert contrast("what about massage?", previous) is None


@pytest.fixture(scope="module")
def answer_words() -> dict:
    """Each page answer's content words, as the resolver keeps them when it is trained."""
    responses = training_data().responses
    return {
        key.replace("utter_", "", 1): answer_stems(texts)
        for key, texts in responses.items()
        if key.startswith("utter_faq/")
    }


@pytest.mark.parametrize(
    ("text", "last_answer", "named"),
    [
        ("even stress?", "faq/trigger_point_causes", True),
        ("what about injuries?", "faq/trigger_point_causes", True),
        ("and sitting all day at work?", "faq/trigger_point_causes", True),
        ("like massage?", "faq/rehab_program", True),
        # asks a question of its own, not only names something
        ("can I get it if I'm stressed?", "faq/trigger_point_causes", False),
        ("and how do you get them?", "faq/what_is_trigger_point", False),
        # named, but not in that answer
        ("like acupuncture?", "faq/rehab_program", False),
        ("and massage?", "faq/trigger_point_causes", False),
        # a word in most answers says nothing about this one
        ("and pain?", "faq/what_is_dry_needling", False),
        ("what about the muscle?", "faq/how_it_works", False),
    ],
)
def test_a_follow_up_that_names_what_the_answer_says(
    answer_words: dict, text: str, last_answer: str, named: bool
) -> None:
    assert named_in_answer(text, answer_words[last_answer], answer_words) is named
