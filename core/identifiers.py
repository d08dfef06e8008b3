"""Patients' identifiers in what they type: phone numbers, e-mail addresses and 9-digit
health card numbers (Alberta's personal health number).

The tracker store keeps them masked (`[phone]`, ...: stores/masking_tracker_store.py), and
NLU reads the message without them (components/identifiers.py), so a number given with a
question never changes its answer.
"""

from __future__ import annotations

import re
from typing import List, Pattern, Tuple

# Most specific first: a phone number's ten digits hold nine.
IDENTIFIERS: List[Tuple[Pattern[str], str]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w+])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)\d{5}[\s-]?\d{4}(?!\d)|(?<!\d)\d{3}[\s-]\d{3}[\s-]\d{3}(?!\d)"), "[health card]"),
]
PLACEHOLDER = re.compile("|".join(re.escape(placeholder) for _, placeholder in IDENTIFIERS))
# "my number is", "call me at", "email:", "or" ... just before an identifier.
LEAD_IN = re.compile(
    r"(?:\b(?:my|our|the)\s+(?:cell(?:\s*phone)?|phone|mobile|number|e-?mail(?:\s+address)?|"
    r"health\s*card|phn|ahcip)(?:\s+(?:number|no\.?|#))?(?:\s+is|\s*:)?|"
    r"(?:\b(?:you|u)\s+can\s+|\bplease\s+)?\b(?:call|text|reach|e-?mail|contact)\s+me(?:\s+(?:at|on))?|"
    r"\b(?:phone|cell|e-?mail)\s*:|\b(?:phn|ahcip)\s*[:#]?|\b(?:or|and)|&|/)\s*$",
    re.IGNORECASE,
)


def mask(text: str) -> str:
    """`text` with each identifier replaced by its placeholder."""
    for pattern, placeholder in IDENTIFIERS:
        text = pattern.sub(placeholder, text)
    return text


def without_identifiers(text: str) -> str:
    """`text` without its identifiers and the words that introduce them ("my number is");
    the masked text if nothing else is left ("call me at [phone]")."""
    masked = mask(text)
    if masked == text:
        return text
    pieces = PLACEHOLDER.split(masked)
    kept = [LEAD_IN.sub("", piece) for piece in pieces[:-1]] + [pieces[-1]]
    cleaned = re.sub(r"\s+([,.?!])", r"\1", re.sub(r"\s{2,}", " ", " ".join(kept)))
    cleaned = cleaned.lstrip(" ,;.:-").rstrip(" ,;")
    return cleaned or masked
