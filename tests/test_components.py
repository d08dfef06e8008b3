"""Unit tests of the custom NLU components (encoder and similarity gate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.minilm_featurizer import (
    DEFAULT_ENCODER_PATH,
    MiniLMFeaturizer,
    SentenceEncoder,
    default_model_path,
    encoder_threads,
    load_encoder,
    pool_per_token,
)
from components.similarity_gate import SimilarityGate
from tests.conftest import PROJECT


def test_pool_per_token_averages_word_pieces() -> None:
    """Each token gets the mean of the word pieces inside its character span."""
    hidden = np.array([[0.0, 0.0], [1.0, 3.0], [3.0, 5.0], [10.0, 10.0], [9.0, 9.0]])
    mask = np.array([1, 1, 1, 1, 0])
    # [CLS] "need" "##ling" "ok" [PAD]
    offsets = np.array([[0, 0], [0, 4], [4, 8], [9, 11], [0, 0]])
    pooled = pool_per_token(hidden, mask, offsets, [(0, 8), (9, 11), (12, 14)])
    np.testing.assert_allclose(pooled, [[2.0, 4.0], [10.0, 10.0], [0.0, 0.0]])


def test_encoder_embeds_similar_questions_close_together() -> None:
    """The converted MiniLM model loads offline and gives unit vectors that capture meaning."""
    encoder = load_encoder(str(default_model_path()), str(PROJECT / DEFAULT_ENCODER_PATH), 128)
    _, _, _, vectors = encoder.encode(
        ["can I go to the gym after dry needling",
         "is it ok to work out after IMS",
         "how much does a session cost"]
    )
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


def test_the_encoder_follows_tensorflows_thread_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """TF_INTRA_OP_PARALLELISM_THREADS (.env) sets the encoder's threads; 0: TensorFlow's default."""
    monkeypatch.setenv("TF_INTRA_OP_PARALLELISM_THREADS", "3")
    assert encoder_threads() == 3
    monkeypatch.setenv("TF_INTRA_OP_PARALLELISM_THREADS", "0")
    assert encoder_threads() is None


def test_a_missing_encoder_says_how_to_build_it(tmp_path: Path) -> None:
    """Without the converted model the error names `make install`."""
    with pytest.raises(FileNotFoundError, match="make install"):
        load_encoder(str(default_model_path()), str(tmp_path / "none.tflite"), 128)


def featurized(training_threads: int) -> List[Message]:
    """Questions of varied length, featurized for training in batches of 3."""
    texts = [
        "what is dry needling", "does it hurt", "can I exercise after IMS",
        "how is dry needling different from acupuncture", "what causes a trigger point",
        "hi", "how many sessions will I need for my shoulder", "is it safe",
        "what should I expect at my first appointment with a physiotherapist",
    ]
    data = TrainingData([Message(data={"text": text}) for text in texts])
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    config = {
        **MiniLMFeaturizer.get_default_config(),
        "encoder_path": str(PROJECT / DEFAULT_ENCODER_PATH),
        "batch_size": 3,
        "training_threads": training_threads,
        "alias": "minilm",
    }
    MiniLMFeaturizer(config, "minilm").process_training_data(data)
    return data.training_examples


def test_training_encodes_batches_side_by_side_with_the_same_vectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two encoders featurize the training data exactly as one does, message by message."""
    twins: List[SentenceEncoder] = []
    twin = SentenceEncoder.twin

    def counted_twin(self: SentenceEncoder) -> SentenceEncoder:
        twins.append(twin(self))
        return twins[-1]

    monkeypatch.setattr(SentenceEncoder, "twin", counted_twin)
    one_at_a_time = featurized(training_threads=1)
    assert not twins
    side_by_side = featurized(training_threads=2)
    assert len(twins) == 1
    for a, b in zip(one_at_a_time, side_by_side, strict=True):
        assert a.get("text") == b.get("text")
        for kind in (0, 1):  # sequence, sentence
            np.testing.assert_array_equal(
                a.get_dense_features("text")[kind].features,
                b.get_dense_features("text")[kind].features,
            )


class FakeStorage:
    """Just enough of a ModelStorage for a gate that is never persisted here."""


def make_gate(config: Dict[str, Any], vectors: List[List[float]], labels: List[str]) -> SimilarityGate:
    """A gate that learned the given unit vectors and labels."""
    embeddings = np.asarray(vectors, dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return SimilarityGate(
        {"featurizer_alias": "minilm", **config}, FakeStorage(), None, embeddings, labels  # type: ignore[arg-type]
    )


def message_with(
    vector: List[float], intent: str, confidence: float, selector: Optional[Dict[str, Any]] = None
) -> Message:
    """A parsed message with a sentence embedding and a classifier's prediction."""
    v = np.asarray(vector, dtype=np.float32)
    message = Message(data={"text": "x"})
    message.add_features(Features((v / np.linalg.norm(v))[None, :], "sentence", "text", "minilm"))
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set(
        "intent_ranking",
        [{"name": intent, "confidence": confidence}, {"name": "other", "confidence": confidence / 2}],
    )
    if selector:
        message.set("response_selector", selector)
    return message


LABELS = ["faq/a", "faq/b", "greet", "out_of_scope"]
VECTORS = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]


def selector(key: str, confidence: float) -> Dict[str, Any]:
    """The ResponseSelector's output for the faq retrieval intent."""
    return {"faq": {"response": {"intent_response_key": key, "confidence": confidence}}}


def test_confidence_becomes_similarity_to_the_chosen_answer() -> None:
    """A faq message scores against the examples of the key the ResponseSelector chose."""
    gate = make_gate({}, VECTORS, LABELS)
    message = message_with([1, 0.2, 0, 0], "faq", 0.99, selector("faq/a", 0.9))
    gate.process([message])
    expected = 1 / np.sqrt(1.04)
    assert message.get("intent")["confidence"] == pytest.approx(expected, rel=1e-5)
    ranking = message.get("intent_ranking")
    assert ranking[0]["confidence"] == pytest.approx(expected, rel=1e-5)
    assert ranking[1]["confidence"] == pytest.approx(expected / 2, rel=1e-5)


def test_unsure_response_selector_zeroes_a_confident_faq_intent() -> None:
    """rasa#9723: a confident faq intent with an unsure answer choice must hand off."""
    gate = make_gate({"response_threshold": 0.5}, VECTORS, LABELS)
    message = message_with([1, 0, 0, 0], "faq", 0.99, selector("faq/a", 0.4))
    gate.process([message])
    assert message.get("intent")["confidence"] == 0.0


def test_nearest_out_of_scope_example_vetoes_an_answer() -> None:
    """When an out-of-scope example is closer than any example of the answer, hand off."""
    gate = make_gate({"veto_labels": ["out_of_scope"]}, VECTORS, LABELS)
    message = message_with([0.5, 0, 0, 1], "faq", 0.99, selector("faq/a", 0.9))
    gate.process([message])
    assert message.get("intent")["confidence"] == 0.0


def test_ungated_intents_keep_the_classifiers_confidence() -> None:
    """Emergencies are never demoted by the similarity gate."""
    gate = make_gate({"ungated_intents": ["greet"]}, VECTORS, LABELS)
    message = message_with([0, 1, 0.1, 0], "greet", 0.93)
    gate.process([message])
    assert message.get("intent")["confidence"] == 0.93


def test_small_talk_the_classifier_missed_is_rescued_by_its_nearest_example() -> None:
    """A doubted faq guess whose nearest example is a greeting becomes that greeting."""
    gate = make_gate({"rescue_labels": ["greet"], "rescue_similarity": 0.7}, VECTORS, LABELS)
    message = message_with([0.1, 0, 1, 0], "faq", 0.9, selector("faq/a", 0.9))
    gate.process([message])
    assert message.get("intent")["name"] == "greet"
    assert message.get("intent")["confidence"] == pytest.approx(1 / np.sqrt(1.01), rel=1e-5)


def test_only_small_talk_labels_are_rescued_and_only_when_close() -> None:
    """With the answer rescue off, a page answer is never taken from the nearest example;
    a far greeting is not either."""
    gate = make_gate({"rescue_labels": ["greet"], "rescue_similarity": 0.7}, VECTORS, LABELS)
    near_answer = message_with([0, 1, 0, 0.1], "out_of_scope", 0.2)
    far_greeting = message_with([1, 0, 0.8, 0], "faq", 0.9, selector("faq/b", 0.9))
    gate.process([near_answer, far_greeting])
    assert near_answer.get("intent")["name"] == "out_of_scope"
    assert far_greeting.get("intent")["name"] == "faq"


ANSWER_RESCUE = {
    "veto_labels": ["out_of_scope"], "answer_rescue_similarity": 0.75, "answer_rescue_margin": 0.05,
}


def test_a_page_question_the_classifier_vetoed_is_answered_when_its_neighbours_agree() -> None:
    """Nearest example a page answer's, the ResponseSelector choosing it, out-of-scope far."""
    gate = make_gate(ANSWER_RESCUE, VECTORS, LABELS)
    message = message_with([1, 0, 0, 0.3], "out_of_scope", 0.7, selector("faq/a", 0.9))
    gate.process([message])
    assert message.get("intent")["name"] == "faq"
    assert message.get("intent")["confidence"] == pytest.approx(1 / np.sqrt(1.09), rel=1e-5)


@pytest.mark.parametrize(
    ("vector", "chosen", "confidence"),
    [
        ([1, 0, 0, 0.3], "faq/b", 0.9),  # the ResponseSelector chose another answer
        ([1, 0, 0, 0.3], "faq/a", 0.4),  # ... or is unsure
        ([1, 0, 0, 0.95], "faq/a", 0.9),  # an out-of-scope example is about as near
        ([1, 0.9, 0, 0.5], "faq/a", 0.9),  # the nearest example is not near enough
    ],
)
def test_a_vetoed_page_question_stays_handed_off_unless_everything_agrees(
    vector: List[float], chosen: str, confidence: float
) -> None:
    gate = make_gate(ANSWER_RESCUE, VECTORS, LABELS)
    message = message_with(vector, "out_of_scope", 0.7, selector(chosen, confidence))
    gate.process([message])
    assert message.get("intent")["name"] == "out_of_scope"


def test_any_neighbour_mode_uses_the_nearest_example_of_any_label() -> None:
    """In 'any' mode the score is the similarity to the nearest training example."""
    gate = make_gate({"neighbours": "any"}, VECTORS, LABELS)
    message = message_with([0, 1, 0, 0], "greet", 0.9)
    gate.process([message])
    assert message.get("intent")["confidence"] == pytest.approx(1.0)
