"""Patients' shorthand and typing slips, rewritten into the plain words NLU was trained on.

"wut do they do 2 the muscle", "so dn dont use meridans?", "MTrP aetiology?": texting
shorthand, clinical abbreviations and misspelt words of the page's topic are read as
"what do they do to the muscle", "so dry needling dont use meridians?" and "myofascial
trigger point what causes?". Shouting is lowered, and the treatment's other names (IMS,
intramuscular stimulation, trigger point dry needling) are read as "dry needling". Nothing
else changes: a word is only respelt when it is no English word the encoder knows and is
close to one of the topic's.
"""

from __future__ import annotations

import difflib
import re
from typing import Callable, Dict, Iterable, Optional

# Texting shorthand and clinical abbreviations -> plain words (whole words, any case)
SHORTHAND: Dict[str, str] = {
    "u": "you", "ur": "your", "r": "are", "wut": "what", "wat": "what", "wht": "what",
    "thx": "thanks", "thnx": "thanks", "tho": "though", "bc": "because", "cuz": "because",
    "coz": "because", "abt": "about", "b4": "before", "pls": "please", "plz": "please",
    "ppl": "people", "rly": "really", "smth": "something", "sth": "something",
    "wanna": "want to", "gonna": "going to", "idk": "i don't know",
    "w/o": "without", "dn": "dry needling", "tdn": "trigger point dry needling",
    "tp": "trigger point", "tps": "trigger points", "trp": "trigger point",
    "trps": "trigger points", "mtrp": "myofascial trigger point",
    "mtrps": "myofascial trigger points", "tx": "treatment", "txs": "treatments",
    "post-tx": "after treatment", "pre-tx": "before treatment", "sx": "symptoms",
    "aetiology": "what causes", "etiology": "what causes", "pathophys": "what happens",
    "pathophysiology": "what happens", "moa": "how does it work",
    "indications": "what is it used for", "contraindications": "who should not get it",
    "contraindicated": "not allowed", "pts": "patients",
}
# "y", "n", "2" and "4" are shorthand only in these places
_BEFORE_OBJECT = (
    r"(?=\s+(?:the|my|your|ur|his|her|our|their|this|that|a|an|me|you|u|it|them|do|be|get|go|"
    r"help|work)\b)"
)
CONTEXTUAL = [
    (re.compile(r"^((?:(?:so|but|and|ok)\s+)?)y\b(?=\s+\w)", re.I), r"\1why"),
    (re.compile(r"(?<=\w)\s+n\s+(?=\w)", re.I), " and "),
    (re.compile(r"\b2" + _BEFORE_OBJECT, re.I), "to"),
    (re.compile(r"\b4" + _BEFORE_OBJECT, re.I), "for"),
    (re.compile(r"\bw/(?=\s)", re.I), "with"),
]
# Words of the page's topic that patients misspell ("meridans", "accupuncture")
TOPIC_WORDS = (
    "acupuncture acupuncturist meridians meridian needling needle needles intramuscular "
    "stimulation myofascial trigger muscle muscles knots physiotherapy physiotherapist "
    "physio exercise exercising exercises treatment treatments rehabilitation massage "
    "stretching posture tightness capillaries difference different chronic release "
    "therapy appointment session strenuous workout soreness breathing breathe breath "
    "bleeding chest allergic swelling dizzy fainted unconscious suicide shoulder "
    "injury injured physiotherapists physios"
).split()
WORD = re.compile(r"[A-Za-z][A-Za-z'/-]*[A-Za-z]|[A-Za-z0-9]+")
SHOUTING_SHARE = 0.6
# letters a typing slip adds or drops ("accupuncture", "meridans")
MAX_LENGTH_SLIP = 2
# The page's own other names for the treatment ("Dry needling or IMS (Intramuscular
# Stimulation)") and other clinics' ones. The encoder weighs such names more than the
# question's own words ("how does trigger point dry needling work?" is nearer "are trigger
# point injections the same as dry needling" than "how does dry needling work"), so a
# message naming the treatment one way only is read with the page's first name for it.
TREATMENT_NAMES = re.compile(
    r"\b(?:(?:trigger[- ]point|functional|myofascial|deep) dry needling|dry needle(?: therapy|"
    r" treatment)?|intra-?muscular (?:electrical )?stimulation|ims)\b",
    re.I,
)
DRY_NEEDLING = re.compile(r"\bdry needling\b", re.I)


def is_shouting(text: str) -> bool:
    """Most letters in capitals (an all-caps "IMS" alone is not shouting)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) >= SHOUTING_SHARE


def respell(word: str, known: Callable[[str], bool], topic: Iterable[str] = TOPIC_WORDS) -> Optional[str]:
    """The topic word a misspelt word stands for, or None when it is a known word or no
    topic word is close enough. A slip keeps the word's first letter and about its length:
    "puncture", a word the encoder splits into pieces, is no "acupuncture"."""
    lower = word.lower()
    if len(lower) < 5 or not lower.isalpha() or known(lower):
        return None
    candidates = [t for t in topic if t[0] == lower[0] and abs(len(t) - len(lower)) <= MAX_LENGTH_SLIP]
    close = difflib.get_close_matches(lower, candidates, n=1, cutoff=0.8)
    return close[0] if close else None


def plain_words(text: str, known: Callable[[str], bool] = lambda word: True) -> str:
    """`text` with shorthand spelt out, topic words respelt and shouting lowered.

    `known(word)` says whether a lower-case word is one the encoder knows (then it is
    never respelt); by default every word is known.
    """
    if is_shouting(text):
        text = text.lower()
    for pattern, replace in CONTEXTUAL:
        text = pattern.sub(replace, text)

    def rewrite(found: re.Match) -> str:
        word = found.group(0)
        return SHORTHAND.get(word.lower()) or respell(word, known) or word

    return one_name(WORD.sub(rewrite, text))


def one_name(text: str) -> str:
    """`text` with the treatment's other names read as "dry needling", unless it names it
    both ways ("is IMS the same as dry needling?" asks about the names themselves)."""
    if DRY_NEEDLING.search(TREATMENT_NAMES.sub("", text)):
        return text
    return TREATMENT_NAMES.sub("dry needling", text)
