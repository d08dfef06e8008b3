"""Messages in another language: recognised offline, answered with the clinic's number.

The assistant answers in English only. A message written in another language gets the
intent `other_language` and a `language` entity (ISO 639-1 code), and the domain's
`utter_other_language` says so in that language, with the phone number and 911.

Detection is langid.py's (`py3langid`: its model ships inside the package, nothing is
downloaded; about 75 MB in memory where Lingua's models took 250 MB per Rasa process),
limited to the languages of `LANGUAGES`. Short English with typos or slang can look
foreign to any detector, so a Latin-script message counts as foreign only when the
detector is sure and English is unlikely, and, unless it is very sure, only when the
English classifiers did not understand it either. The clinic's own terms
(dry needling, IMS, acupuncture, trigger point), which patients keep in English, are left
out before detecting.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.parse_output import set_intent
from components.patient_words import AS_TYPED

OTHER_LANGUAGE = "other_language"
LANGUAGE_ENTITY = "language"
# Languages told apart; the domain has replies for most of them, the rest get the English one.
LANGUAGES = ("en", "fr", "es", "pt", "tl", "vi", "de", "it", "pa", "hi", "zh", "ar", "ur")
# Intents that mean "not understood": a foreign message usually ends up in one of them.
NOT_UNDERSTOOD = {"nlu_fallback", "out_of_scope", OTHER_LANGUAGE}
CLINIC_TERMS = re.compile(
    r"\b(?:dry[- ]?needl\w*|needl\w*|ims|intra ?muscular stimulation|acupunct\w*|"
    r"trigger ?points?|physio\w*|ok|okay)\b",
    re.IGNORECASE,
)
WORD = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=1)
def detector() -> Any:
    """One langid.py identifier per process, with probabilities, limited to `LANGUAGES`."""
    import py3langid
    from py3langid.langid import LanguageIdentifier

    model = Path(py3langid.__file__).parent / "data" / "model.npz.xz"
    identifier = LanguageIdentifier.from_modelpath(model, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def non_latin_share(text: str) -> float:
    """Share of the letters of `text` that are not Latin script."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    latin = sum("LATIN" in unicodedata.name(c, "") for c in letters)
    return 1 - latin / len(letters)


def detect(text: str, understood: bool, settings: Dict[str, float]) -> Optional[str]:
    """The ISO 639-1 code of the language `text` is written in, if it is not English.

    `understood`: whether the English classifiers found a confident intent.
    """
    scores = {language: float(p) for language, p in detector().rank(CLINIC_TERMS.sub(" ", text))}
    if not scores:
        return None
    top = max(scores, key=scores.__getitem__)
    if top == "en":
        return None
    if non_latin_share(text) >= 0.5:
        return top
    if len(WORD.findall(CLINIC_TERMS.sub(" ", text))) < settings["min_words"]:
        return None
    if scores.get("en", 0.0) >= settings["max_english"]:
        return None
    needed = settings["sure"] if understood else settings["likely"]
    return top if scores[top] >= needed else None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class LanguageDetector(GraphComponent):
    """Sets intent `other_language` and a `language` entity on messages not in English.

    Place it after the classifiers and the FallbackClassifier (it reads whether they
    understood the message) and before the RedFlagDetector.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Thresholds on the detector's probability (0-1) for Latin-script messages."""
        return {
            # fewer words than this (clinic terms left out) are never called foreign
            "min_words": 2,
            # English at or above this confidence: English
            "max_english": 0.1,
            # foreign when the English classifiers understood nothing (gibberish scores
            # up to about 0.7 for some language)
            "likely": 0.8,
            # foreign even when they found a confident intent
            "sure": 0.9,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        """Keep the settings; load the detector's models now."""
        self.settings = {**self.get_default_config(), **config}
        detector()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """Create the detector."""
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        """Mark each message written in another language."""
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            # as typed: respelling "acupuntura" as "acupuncture" must not make it English
            typed = message.get(AS_TYPED) or message.get(TEXT) or ""
            language = detect(typed, intent not in NOT_UNDERSTOOD, self.settings)
            if language is None:
                continue
            set_intent(message, OTHER_LANGUAGE)
            text = message.get(TEXT) or ""
            entity = {
                "entity": LANGUAGE_ENTITY,
                "value": language,
                "start": 0,
                "end": len(text),
                "extractor": type(self).__name__,
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages
