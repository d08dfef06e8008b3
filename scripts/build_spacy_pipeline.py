"""Build the spaCy pipeline the NLU uses, from installed packages only.

No pretrained spaCy 3.4 pipeline can be downloaded here, so the install step saves a
blank English pipeline (spaCy's rule-based tokenizer) with a lookup lemmatizer whose
table comes from the `spacy-lookups-data` package ("knots" -> "knot").
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy

DEFAULT_TARGET = Path(".spacy/en_clinic")


def build(target: Path) -> Path:
    """Save a blank English pipeline with a lookup lemmatizer to `target`."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_TARGET)
    check = spacy.load(out)
    print(f"spaCy pipeline saved to {out}: {[t.lemma_ for t in check('my knots were hurting')]}")
