"""Whole conversations through the trained assistant and its action server.

One conversation test for each kind of message patients send (issue 12): follow-ups,
two questions at once, long messages, near misses, "did you mean", every kind of
emergency, other languages, asking for a person. Replies are read as `bench.devset`
reads them: `faq/<key>`, handoff, emergency, self_harm, language.
"""

from __future__ import annotations

import asyncio
import os
from typing import Iterator, List, Tuple

import pytest

from bench.devset import Assistant, Turn, free_port, start_action_server
from tests.conftest import MODEL, PROJECT

Conversation = List[Tuple[str, List[str]]]


@pytest.fixture(scope="module")
def assistant() -> Iterator[Assistant]:
    """The trained model with `make run`'s action server on a free port."""
    cwd = os.getcwd()
    os.chdir(PROJECT)
    port = free_port()
    server = start_action_server(port)
    try:
        yield Assistant(MODEL, port)
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.chdir(cwd)


def talk(assistant: Assistant, conversation: Conversation) -> List[Turn]:
    """Hold one conversation; the turns with what each got."""
    sender = assistant.new_conversation()
    turns = [Turn(text, expect) for text, expect in conversation]

    async def run() -> None:
        for turn in turns:
            await assistant.say(sender, turn)

    asyncio.run(run())
    return turns


def assert_right(turns: List[Turn]) -> None:
    """Every turn got exactly what it expects."""
    wrong = [(t.text, t.expect, t.got) for t in turns if not t.right()]
    assert not wrong, wrong


CONVERSATIONS = {
    "follow-up: 'why?' repeats the last answer": [
        ("what is a trigger point?", ["faq/what_is_trigger_point"]),
        ("why?", ["faq/what_is_trigger_point"]),
    ],
    "follow-up read with the previous question": [
        ("what causes muscle knots?", ["faq/trigger_point_causes"]),
        ("even stress?", ["faq/trigger_point_causes"]),
    ],
    "follow-up naming what the last answer says, though alone it is out of scope": [
        ("what role does dry needling play in rehab?", ["faq/rehab_program"]),
        ("like massage?", ["faq/rehab_program"]),
    ],
    "follow-up naming something with a question of its own is no repeat": [
        ("what causes muscle knots?", ["faq/trigger_point_causes"]),
        ("do you do massage?", ["handoff"]),
    ],
    "texting shorthand after an answer": [
        ("what is dry needling?", ["faq/what_is_dry_needling"]),
        ("wut do they do 2 the muscle", ["faq/how_it_works"]),
    ],
    "clinical shorthand": [("MTrP aetiology?", ["faq/trigger_point_causes"])],
    "misspelt topic words": [
        ("whats the diffrence between accupuncture and dry neeedling", ["faq/vs_acupuncture"]),
    ],
    "follow-up: 'them' is what the last answer was about": [
        ("what is a trigger point?", ["faq/what_is_trigger_point"]),
        ("and how do you get them?", ["faq/trigger_point_causes"]),
    ],
    "follow-up: 'it' after an answer about dry needling": [
        ("how does dry needling work?", ["faq/how_it_works"]),
        ("when would a physio use it?", ["faq/when_to_use"]),
        ("can i do it on my neck?", ["handoff"]),
    ],
    "follow-up: 'what about after?' after a question about before": [
        ("can I exercise before my appointment?", ["handoff"]),
        ("what about after?", ["faq/exercise_after"]),
    ],
    "follow-up: 'and before?' after a question about after stays a near miss": [
        ("can I go to the gym after dry needling?", ["faq/exercise_after"]),
        ("and before?", ["handoff"]),
    ],
    "follow-up with nothing before it is handed off": [
        ("why?", ["handoff"]),
    ],
    "two page questions in one message": [
        ("what is a trigger point and what causes them?",
         ["faq/what_is_trigger_point", "faq/trigger_point_causes"]),
    ],
    "one page question and one the page does not answer": [
        ("what is dry needling? is it safe?", ["faq/what_is_dry_needling", "handoff"]),
    ],
    "a story that ends in a question": [
        ("I've had a sore back for months after moving house. My physio says I have "
         "knots all along my spine. Why do they form?", ["faq/trigger_point_causes"]),
    ],
    "near miss: who should not get it": [("who should not get dry needling?", ["handoff"])],
    "near miss: what to expect at a session": [
        ("what should I expect at my first IMS session?", ["handoff"]),
    ],
    "near miss: exercise before the appointment": [
        ("can I work out before my appointment?", ["handoff"]),
    ],
    "near miss: does it really work": [("does dry needling really work?", ["handoff"])],
    "near miss: when not to use it": [("when would a physio NOT use dry needling", ["handoff"])],
    "near miss: who is excluded": [("which patients are excluded from dry needling", ["handoff"])],
    "near miss: a typical session": [("tell me what a typical IMS treatment looks like", ["handoff"])],
    "near miss: a run right before": [("is it fine to do a long run right before IMS", ["handoff"])],
    "near miss: the morning of the appointment": [
        ("should i skip my workout the morning of my needling", ["handoff"]),
    ],
    "near miss: trigger finger": [("is trigger finger the same thing as a trigger point", ["handoff"])],
    "near miss: cramps at night": [("why do my feet cramp up at 3am", ["handoff"])],
    "near miss: cupping": [("is it like those suction cups athletes use", ["handoff"])],
    "near miss: who invented IMS": [("who came up with intramuscular stimulation and when", ["handoff"])],
    "near miss: bleeding": [("will there be blood", ["handoff"])],
    "a page question and one about cost": [
        ("what causes knots and how much does a session cost?",
         ["faq/trigger_point_causes", "handoff"]),
    ],
    "an off-page question after an answer is no follow-up": [
        ("what is dry needling?", ["faq/what_is_dry_needling"]),
        ("is it safe for kids?", ["handoff"]),
    ],
    "follow-up: 'yours' is dry needling after the acupuncture answer": [
        ("how is dry needling different from acupuncture?", ["faq/vs_acupuncture"]),
        ("how does yours work then", ["faq/how_it_works"]),
    ],
    "talk to a person": [("get me a human", ["handoff"])],
    "are you a bot": [("are you a bot?", ["handoff"])],
    "small talk around a question": [
        ("hi", ["greet"]),
        ("how does dry needling work?", ["faq/how_it_works"]),
        ("no thanks", ["deny"]),
    ],
    "a greeting before a question, thanks and goodbye in one message": [
        ("hello, what does the needle do to the muscle", ["greet", "faq/how_it_works"]),
        ("thx so much, have a good one", ["thank", "goodbye"]),
    ],
    "thanks with an acknowledgement is a thanks": [
        ("what causes knots?", ["faq/trigger_point_causes"]),
        ("cheers, that's really helpful", ["thank"]),
    ],
    "no more questions, and thanks": [
        ("what is a trigger point", ["faq/what_is_trigger_point"]),
        ("no more questions, thank you kindly", ["deny", "thank"]),
    ],
    "'what even is it' after naming a knot, or IMS": [
        ("ugh this knot in my calf is driving me nuts, what even is it", ["faq/what_is_trigger_point"]),
        ("My physio mentioned something called IMS for my shoulder. What is that exactly?",
         ["faq/what_is_dry_needling"]),
    ],
    "follow-up: 'what is it' is the conversation's subject": [
        ("isn't IMS just acupuncture?", ["faq/vs_acupuncture"]),
        ("ok so what is it then, in simple terms", ["faq/what_is_dry_needling"]),
    ],
    "an activity asked about as a bad idea after needling": [
        ("had IMS this morning, is my soccer game tonight a bad idea?", ["faq/exercise_after"]),
    ],
    "near miss: which is better": [("which is better for a stiff neck, IMS or massage?", ["handoff"])],
    "follow-up: 'why tho' repeats the answer": [
        ("can I go running after dry needling?", ["faq/exercise_after"]),
        ("why tho", ["faq/exercise_after"]),
    ],
}


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_conversation(assistant: Assistant, name: str) -> None:
    """Each kind of conversation gets the answers and hand-offs it asks for."""
    assert_right(talk(assistant, CONVERSATIONS[name]))


EMERGENCIES = {
    "breathing, after treatment": "I had needling near my shoulder blade an hour ago and now "
    "breathing hurts and it's getting shorter",
    "breathing, second in a message": "what is IMS? also I'm having trouble breathing",
    "chest": "my chest feels really tight right now and my left arm is numb",
    "fainting": "she passed out and is barely responding",
    "bleeding": "the spot where the needle went in keeps bleeding and it won't stop",
    "stroke": "my dad's face is drooping and his speech is slurred",
    "allergy": "my throat is swelling and I have hives everywhere",
    "breathing, texted": "cant get a full breath since my appt n it hurts",
    "breathing, second question of a story": "I had IMS on my back this morning. How long until it works? "
    "Also it's really hard to breathe now",
    "chest, second-language English": "after needle my chest is pain and breath no good",
    "fainting with dizziness": "I fainted after my session and I'm still really dizzy",
    "unresponsive": "he went limp and isnt answering",
    "bleeding, shouted": "STILL BLEEDING AFTER 30 MIN HELP",
    "stroke, arm weakness": "his arm suddenly went weak and he's slurring",
    "allergy, swallowing": "my lips are puffing up and i cant swallow",
}


@pytest.mark.parametrize("kind", sorted(EMERGENCIES))
def test_emergency_gets_911_first(assistant: Assistant, kind: str) -> None:
    """Every kind of emergency gets the 911 reply before anything else."""
    [turn] = talk(assistant, [(EMERGENCIES[kind], ["emergency"])])
    assert turn.got and turn.got[0] == "emergency", turn.got


def test_emergency_mid_conversation(assistant: Assistant) -> None:
    """An emergency after ordinary questions still gets 911."""
    assert_right(
        talk(
            assistant,
            [
                ("can I exercise after dry needling?", ["faq/exercise_after"]),
                ("wait I feel faint and my chest hurts", ["emergency"]),
            ],
        )
    )


def test_an_emergency_that_goes_on_gets_911_again(assistant: Assistant) -> None:
    """Right after the 911 reply, "it's getting worse" is the same emergency."""
    assert_right(
        talk(
            assistant,
            [
                ("the needle spot keeps bleeding", ["emergency"]),
                ("it's getting worse, what do i do", ["emergency"]),
                ("ok thanks, the ambulance is here", []),
            ],
        )
    )


@pytest.mark.parametrize(
    "text",
    [
        "I've been thinking about ending my life",
        "honestly i want to die, this pain never stops",
        "i feel like ending things",
        "nobody would miss me if i was gone",
    ],
)
def test_thoughts_of_suicide_get_911_and_988(assistant: Assistant, text: str) -> None:
    """Self-harm gets its own reply, which names 911 and the 9-8-8 helpline."""
    [turn] = talk(assistant, [(text, ["self_harm"])])
    assert turn.got == ["self_harm"]
    reply = assistant.agent.domain.responses["utter_self_harm"][0]["text"]
    assert "911" in reply and "9-8-8" in reply


@pytest.mark.parametrize(
    "text",
    [
        "I'm dying to try it",
        "what's the emergency number for booking",
        "this knot is killing me, what causes it?",
        "can dry needling cause a collapsed lung?",
        "is there an emergency appointment available",
        "who do I call in an emergency?",
        "has anyone ever passed out from this?",
        "I don't have any trouble breathing, just wondering about soreness",
    ],
)
def test_calm_messages_get_no_911(assistant: Assistant, text: str) -> None:
    """Scary words in a calm message are not an emergency."""
    [turn] = talk(assistant, [(text, [])])
    assert not turn.emergency_given, turn.got


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("fr", "Est-ce que je peux faire du sport après une séance de dry needling?"),
        ("es", "¿Qué es la punción seca y para qué sirve?"),
        ("pa", "ਕੀ ਡਰਾਈ ਨੀਡਲਿੰਗ ਨਾਲ ਦਰਦ ਹੁੰਦਾ ਹੈ?"),
        ("tl", "Masakit ba ang dry needling sa likod?"),
        ("zh", "干针治疗以后可以去健身房吗？"),
        ("ar", "ما الفرق بين الوخز بالإبر الجافة والوخز بالإبر الصينية؟"),
    ],
)
def test_other_languages_get_the_phone_in_their_language(
    assistant: Assistant, code: str, text: str
) -> None:
    """A message in another language gets the reply in that language, with the phone."""
    [turn] = talk(assistant, [(text, [f"language:{code}"])])
    assert_right([turn])


def test_did_you_mean_offers_questions_and_the_phone(assistant: Assistant) -> None:
    """Unsure between page answers: questions as buttons, the phone, and a tap answers."""

    async def run() -> list:
        sender = assistant.new_conversation()
        return await assistant.agent.handle_text("needles and knots?", sender_id=sender)

    [reply] = asyncio.run(run())
    buttons = reply.get("buttons") or []
    questions = [b for b in buttons if not b["payload"].startswith("tel:")]
    assert len(questions) >= 2, reply
    assert any(b["payload"].startswith("tel:") for b in buttons), reply
    assert "tel:" in reply["text"]
    tapped = talk(assistant, [(questions[0]["payload"], [])])[0]
    assert len(tapped.faq_given) == 1, tapped.got


@pytest.mark.parametrize(
    "text",
    [
        "get me a human",
        "talk to a person",
        "can I speak to someone real",
        "representative",
        "customer service",
        "TALK TO A HUMAN",
        "I need a real person not a robot",
        "u r useless get me a person",
        "i want talk with real people",
        "this isn't helping, can I talk to staff?",
        "asdfgh",
        "help",
        "I need help",
        "I have a question about my appointment",
        "when is needling a bad idea",
    ],
)
def test_every_reply_without_an_answer_carries_the_phone(assistant: Assistant, text: str) -> None:
    """Asking for a person, or anything not answered: the number as text and a tap-to-call button."""
    from core.clinic import load_clinic

    clinic = load_clinic()

    async def run() -> list:
        return await assistant.agent.handle_text(text, sender_id=assistant.new_conversation())

    replies = asyncio.run(run())
    assert replies, text
    assert any(clinic.phone in (r.get("text") or "") for r in replies), replies
    assert any(
        b.get("payload") == clinic.tel_uri for r in replies for b in r.get("buttons") or []
    ), replies


HELPED = '/rate_answer{"rating": "helpful"}'
DID_NOT_HELP = '/rate_answer{"rating": "not_helpful"}'


def test_every_answer_can_be_rated_and_the_rating_is_kept(assistant: Assistant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two labelled buttons under each answer; "didn't help" gets the phone; a typed question
    still works afterwards; the rating is in the tracker store (as `make run` keeps it)."""
    from rasa.core.agent import Agent

    from core.clinic import load_clinic
    from retrain.questions import RATED_NOT_HELPFUL, handoff_intents, rating, unanswered
    from stores.masking_tracker_store import MaskingSQLTrackerStore

    clinic = load_clinic()
    db = str(tmp_path / "conversations.db")
    agent = Agent.load(
        str(MODEL), action_endpoint=assistant.agent.action_endpoint,
        tracker_store=MaskingSQLTrackerStore(dialect="sqlite", db=db),
    )

    async def run() -> list:
        said = [await agent.handle_text(text, sender_id="rater") for text in (
            "what is a trigger point?", HELPED, "can I exercise after dry needling?", DID_NOT_HELP,
            "what causes muscle knots?",
        )]
        store = MaskingSQLTrackerStore(agent.domain, dialect="sqlite", db=db)
        return [said, list((await store.retrieve_full_tracker("rater")).events)]

    (answer, helped, second, did_not_help, typed), events = asyncio.run(run())
    buttons = answer[-1]["buttons"]
    assert "anything else" in answer[-1]["text"]
    assert [(b["title"], b["payload"]) for b in buttons] == [
        ("This answer helped", HELPED), ("This answer didn't help", DID_NOT_HELP)]
    assert second[-1]["buttons"] == buttons  # on every answer
    assert [r["text"] for r in helped] == [
        "Thank you for telling us! Anything else about dry needling, just ask."]
    assert clinic.phone in did_not_help[0]["text"] and clinic.tel_uri in did_not_help[0]["text"]
    assert did_not_help[0]["buttons"][0]["payload"] == clinic.tel_uri
    assert "anything else" in typed[-1]["text"] and len(typed) == 2  # answered again
    assert [rating(e) for e in events if getattr(e, "intent_name", None) == "rate_answer"] == [
        "helpful", "not_helpful"]
    [rated] = unanswered(events, handoff_intents())
    assert (rated.text, rated.reason) == ("can I exercise after dry needling?", RATED_NOT_HELPFUL)
