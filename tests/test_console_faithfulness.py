"""The faithfulness check (retrain/faithfulness.py) with the assistant's real encoder: every
sentence of every FAQ answer in data/ is on the clinic's page, every invented or distorted
claim of tests/faithfulness_claims.yml is flagged and every faithful paraphrase passes."""

from __future__ import annotations

from typing import Dict, List

import pytest
import yaml

from core.settings import apply_offline_env
from retrain.faithfulness import NOT_ON_PAGE, Checker, page_file, page_sentences, split_sentences
from retrain.project import Project
from retrain.trainingdata import TrainingSet
from tests.conftest import PROJECT

CLAIMS: Dict[str, List[str]] = yaml.safe_load(
    (PROJECT / "tests" / "faithfulness_claims.yml").read_text("utf-8")
)
SEED = PROJECT.parent / "shared" / "seed"


@pytest.fixture(scope="module")
def checker() -> Checker:
    apply_offline_env()
    return Checker.for_project(Project(PROJECT))


def test_the_measurement_set_is_large_enough() -> None:
    assert len(CLAIMS["invented"]) >= 30 and len(CLAIMS["paraphrases"]) >= 30
    assert "Dry needling cures arthritis." in CLAIMS["invented"]


def test_every_sentence_of_every_answer_in_data_is_on_the_page(checker: Checker) -> None:
    answers = TrainingSet.load(Project(PROJECT)).answers()
    assert len(answers) >= 8
    flagged = [
        (key, result.sentence, result.problems)
        for key, answer in answers.items() for result in checker.check(answer) if not result.supported
    ]
    assert flagged == []


@pytest.mark.parametrize("claim", CLAIMS["invented"])
def test_an_invented_claim_is_flagged(checker: Checker, claim: str) -> None:
    results = checker.check(claim)
    assert len(results) == 1 and not results[0].supported, results


@pytest.mark.parametrize("claim", CLAIMS["paraphrases"])
def test_a_paraphrase_of_the_page_passes(checker: Checker, claim: str) -> None:
    results = checker.check(claim)
    assert len(results) == 1 and results[0].supported, results


def test_each_sentence_gets_its_closest_page_sentence(checker: Checker) -> None:
    results = checker.check(
        "After a treatment you should avoid high-impact or strenuous activity. Dry needling cures arthritis."
    )
    assert [r.supported for r in results] == [True, False]
    assert results[0].closest.startswith("Avoid high impact or strenuous activities after treatments")
    assert 0.35 <= results[0].similarity <= 1.0
    assert any("arthritis" in problem for problem in results[1].problems)
    assert NOT_ON_PAGE == "this claim is not on the clinic's page"


def test_sentences_are_split_at_full_stops_not_inside_abbreviations() -> None:
    assert split_sentences("One, e.g. two. Three?  Four!") == ["One, e.g. two.", "Three?", "Four!"]
    assert split_sentences("   ") == []


def test_the_page_read_is_the_article_without_headings_or_placeholders() -> None:
    sentences = page_sentences(page_file(Project(PROJECT)).read_text("utf-8"))
    assert "Dry needling or IMS (Intramuscular Stimulation)" in sentences
    assert "Can You Exercise After Dry Needling?" not in sentences
    assert "When to Use Dry Needling: to manage pain" in sentences
    assert not any("{{" in s or "Privacy" in s or "911" in s for s in sentences)


@pytest.mark.skipif(not SEED.is_dir(), reason="the clinic's original page (../shared/seed) is not here")
def test_the_page_holds_every_sentence_of_the_clinics_original_page() -> None:
    served = " ".join(page_sentences(page_file(Project(PROJECT)).read_text("utf-8"))).replace("’", "'")
    original = (SEED / "000_607417860757db6e.txt").read_text("utf-8")
    start = original.index("Dry Needling is a technique")
    end = original.index("To learn more")
    for line in original[start:end].splitlines():
        line = line.replace("•", "").replace("’", "'").replace("– g.", "– e.g.").replace("–g.", "– e.g.")
        text = " ".join(line.split())
        if text and not text.endswith("?"):
            assert text.removesuffix(":") in served.replace(":", ""), text
