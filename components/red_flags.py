"""Red flags: emergencies recognised from the words of a message, whatever the classifier says.

A missed emergency is the worst thing this assistant can do, so this layer does not depend
on any model's confidence. It looks for symptom phrases of six kinds anywhere in the
message (first, second or last sentence alike) and sets the intent to `emergency`, or to
`self_harm` for thoughts of suicide or self-harm (whose reply adds the 9-8-8 helpline).

Phrases are symptoms a person has now ("I can't breathe", "his face is drooping"), not
topics: "can needling collapse a lung?" is a question for the clinic, not a 911 call, and
idioms ("I'm dying to try it", "this knot is killing me", "the emergency number for
booking") match nothing. A symptom denied just before it ("no chest pain") does not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Pattern

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components.parse_output import set_intent

EMERGENCY = "emergency"
SELF_HARM = "self_harm"
# parse output key: which kind of red flag matched, and the words
RED_FLAG_OUTPUT = "red_flag"

_CANT = r"(?:can ?not|can'?t|cant|cannot|unable to|struggling to|hard to|trouble|difficulty|hurts? to|painful to)"
_PERSON = (
    r"he|hes|he's|she|shes|she's|they|they're|someone|somebody|my (?:husband|wife|partner|son|"
    r"daughter|mom|mother|dad|father|friend|child|kid|baby|grandma|grandpa)"
)
_IS = r"(?:is|are|'s|s|feels?|feeling|getting|got|went|has|have|keeps?)?"

# Each kind: phrases that describe the emergency happening now.
PATTERNS: Dict[str, List[str]] = {
    "breathing": [
        rf"\b{_CANT} (?:breathe?|breathing|catch (?:my|his|her|their) breath|get (?:any )?air)",
        r"\b(?:short(?:ness)? of breath|breathless|out of breath and|gasping|wheezing badly)",
        r"\bbreathing (?:is |gets |getting |has gotten |feels )?(?:hard|difficult|painful|shallow|short|shorter|worse|fast|laboured|labored|hurts)",
        r"\b(?:breath|breathing|breaths) (?:is |are |getting |keeps? )?(?:short|shorter|shallow)",
        r"\b(?:it )?hurts (?:when i|to) (?:breathe|take a (?:deep )?breath)",
        r"\bnot breathing\b",
        r"\bchest (?:pain|pains|tightness|pressure)",
        rf"\bchest {_IS} ?(?:really |very |so |super |kind of |kinda |a bit |a little )?(?:tight|tightening|hurts?|hurting|pounding|heavy|crushing|aches?|aching)",
        r"\bpain in (?:my|his|her|the) chest",
        r"\b(?:lips?|face) (?:is |are |turning |going )+blue",
        r"\b(?:heart attack|coughing up blood|choking)\b",
    ],
    "fainting": [
        r"\b(?:fainted|fainting|passed out|passing out|pass(?:ing)? out|blacked out|black(?:ing)? out|collapsed|keeled over)\b",
        r"\b(?:about|going) to faint\b",
        r"\bfeel(?:s|ing)? (?:very |really |so )?faint\b",
        r"\b(?:unconscious|unresponsive)\b",
        r"\b(?:not|barely|isn'?t|is not|won'?t|wont|will not) (?:waking up|wake up)",
        # a person not responding (an app "not responding" is no emergency)
        rf"\b(?:{_PERSON})\b[\w' ]{{0,30}}\b(?:not|barely|isn'?t|won'?t|wont|will not) (?:responding|respond)",
        r"\bseizure\b",
    ],
    "bleeding": [
        r"\b(?:bleed(?:ing|s)?|bled)\b[\w' ]{0,40}\b(?:won'?t|wont|will not|doesn'?t|does not|isn'?t|is not|can'?t|cant|hasn'?t|has not|never) (?:stop|stopping|stopped)",
        r"\b(?:can'?t|cant|cannot|unable to) (?:get (?:it|the bleeding) to )?stop (?:the )?bleed",
        r"\bblood (?:won'?t|wont|will not|doesn'?t|does not|keeps?) (?:stop|coming|pouring|flowing|gushing)",
        r"\b(?:bleeding|bleed) (?:a lot|heavily|badly|profusely|everywhere|like crazy|non ?stop)",
        r"\b(?:severe|heavy|lots of|so much|a lot of) (?:bleeding|blood)\b",
        r"\bblood (?:is )?(?:everywhere|soaking|pouring|gushing|spurting)",
        r"\bsoak(?:ed|ing)? through\b",
        r"\bbled through\b",
    ],
    "stroke": [
        r"\b(?:face|mouth|smile) (?:is |has |started |starting |went )?(?:drooping|droopy|drooped|droops|sagging|uneven|lopsided)",
        r"\b(?:droop(?:ing|y)?|numb|sagging) (?:on )?(?:one|the left|the right|left|right) side",
        r"\bslurr(?:ed|ing)\b",
        r"\b(?:can'?t|cant|cannot) (?:lift|raise|feel|move) (?:my|his|her|their|one) (?:arm|leg|hand)",
        r"\b(?:arm|leg|side) (?:is |went |suddenly )*(?:numb|weak|limp|dead)\b.{0,40}\b(?:face|speech|talk|speak|word)",
        r"\b(?:having|is having|has had) a stroke\b",
        r"\b(?:signs|symptoms) of (?:a )?stroke\b",
        r"\bstroke (?:right now|now|symptoms)\b",
        r"\b(?:can'?t|cant|cannot) (?:speak|talk) (?:properly|clearly|right)",
    ],
    "allergy": [
        r"\banaphyla",
        r"\b(?:severe|bad|serious) allergic reaction\b",
        r"\ballergic reaction\b.{0,60}\b(?:breath|throat|swell|hives|face|lips|tongue)",
        r"\b(?:throat|tongue|lips?|face|mouth) (?:is |are |feels? |started |keeps? )*(?:swelling|swollen|closing|swelled|puffing)",
        r"\bhives\b.{0,60}\b(?:breath|throat|swell|dizzy|faint)",
        r"\bhives (?:all over|everywhere)",
        r"\bepi ?-?pen\b",
    ],
}

SELF_HARM_PATTERNS: List[str] = [
    r"\bsuicid",
    r"\bkill(?:ing)? (?:my ?self|myself)\b",
    r"\b(?:end|take|ending|taking) my (?:own )?life\b",
    r"\bend it all\b",
    r"\b(?:want|wanna|going|thinking about|thoughts of|think about) (?:to )?(?:die|dying)\b",
    r"\b(?:don'?t|do not|dont) want to (?:live|be alive|be here|wake up)",
    r"\bbetter off dead\b",
    r"\bno (?:reason|point) (?:in |to )?(?:living|live|going on)\b",
    r"\b(?:hurt|harm|cut|cutting|hurting|harming) (?:my ?self|myself)\b",
    r"\bself[- ]?harm",
]

# A denial just before a symptom ("no chest pain", "not short of breath", "never fainted").
NEGATION = re.compile(
    r"\b(?:no|not|never|without|nor|don'?t have|doesn'?t have|didn'?t have|haven'?t had|hasn'?t had|"
    r"don'?t|doesn'?t|didn'?t|isn'?t|wasn'?t)\b[\w' ]{0,12}$"
)
# A symptom asked about as a possibility, not had: "can it cause chest pain?", "what if i faint?"
HYPOTHETICAL = re.compile(
    r"\b(?:can|could|does|do|will|would|might|may) (?:it|dry needling|needling|ims|the needles?|this|that|they|you)\b"
    r"[\w' ]{0,30}\b(?:cause|give|lead to|make|result in|trigger)\b[\w' ]{0,20}$"
    r"|\b(?:what if|in case|risk of|chance of|chances of|possible to|is it normal to|afraid of|scared of|"
    r"worried about|worry about|fear of|afraid i'?ll|scared i'?ll)\b[\w' ]{0,30}$"
)


def _compile(patterns: List[str]) -> List[Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


COMPILED = {kind: _compile(p) for kind, p in PATTERNS.items()}
SELF_HARM_COMPILED = _compile(SELF_HARM_PATTERNS)


@dataclass(frozen=True)
class RedFlag:
    """A red flag found in a message: the intent it calls for, its kind and the words."""

    intent: str
    kind: str
    words: str


def normalise(text: str) -> str:
    """Lower case, curly apostrophes straightened, whitespace collapsed."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(text.split())


def _clause_before(text: str, start: int) -> str:
    """The words of the same clause just before `start` (up to 40 characters)."""
    before = text[max(0, start - 40) : start]
    return re.split(r"[.!?;,]| but | and | so ", before)[-1]


def _counts(text: str, match: re.Match[str], kind: str) -> bool:
    """Whether a symptom match is had now, not denied nor only asked about."""
    before = _clause_before(text, match.start())
    if NEGATION.search(before):
        return False
    return not (kind != SELF_HARM and HYPOTHETICAL.search(before))


def find_red_flag(text: str) -> Optional[RedFlag]:
    """The first red flag in `text`, self-harm before the others; None if there is none."""
    lowered = normalise(text)
    for pattern in SELF_HARM_COMPILED:
        for match in pattern.finditer(lowered):
            if _counts(lowered, match, SELF_HARM):
                return RedFlag(SELF_HARM, SELF_HARM, match.group(0))
    for kind, patterns in COMPILED.items():
        for pattern in patterns:
            for match in pattern.finditer(lowered):
                if _counts(lowered, match, kind):
                    return RedFlag(EMERGENCY, kind, match.group(0))
    return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class RedFlagDetector(GraphComponent):
    """Sets the intent to `emergency` or `self_harm` when a message names a red flag.

    Place it last in the pipeline: it overrides every earlier decision, fallback included.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No settings: the phrases are the module's."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        """Create the detector."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Set the red-flag intent with confidence 1 on each message that has one."""
        for message in messages:
            flag = find_red_flag(message.get(TEXT) or "")
            if flag is None:
                continue
            message.set(RED_FLAG_OUTPUT, {"kind": flag.kind, "words": flag.words}, add_to_output=True)
            set_intent(message, flag.intent)
        return messages
