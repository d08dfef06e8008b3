"""Confidence from similarity: how close a message is to what the assistant was taught.

A classifier's softmax confidence stays high for questions unlike anything in the
training data, so it is a poor signal for "I don't know". The cosine similarity
between the message's sentence embedding and the nearest training example of the
predicted label is a strong one (measured on HINT3, see bench/). This component
keeps the classifier's label and replaces its confidence with that similarity, so the
FallbackClassifier after it hands off whatever is unlike the training data.

For retrieval intents (`faq`) the label is the ResponseSelector's choice
(`faq/<key>`): the similarity is measured against that key's examples, and when the
ResponseSelector itself is not confident the confidence drops to 0, so a confident
`faq` intent with an unsure answer choice hands off too (the gap in rasa#9723).

The other way round (`answer_rescue_*`): a page question the classifier took for
out-of-scope is answered when its nearest example, the ResponseSelector and a clear
margin over the out-of-scope examples all name the same answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.minilm_featurizer import MiniLMFeaturizer

logger = logging.getLogger(__name__)

EMBEDDINGS_FILE = "embeddings.npy"
# parse output key with the gate's evidence (similarities, nearest example's label)
GATE_OUTPUT = "similarity_gate"
LABELS_FILE = "labels.json"


def gated_score(
    label_similarity: float,
    response_confidence: float,
    veto_similarity: float,
    response_threshold: float,
    veto_margin: float,
) -> float:
    """The confidence the fallback threshold is applied to.

    0 when the ResponseSelector is unsure, or when a veto label's nearest example is
    within `veto_margin` of the label's nearest example; else the label similarity.
    """
    if response_confidence < response_threshold:
        return 0.0
    if veto_similarity > label_similarity - veto_margin:
        return 0.0
    return max(0.0, min(1.0, label_similarity))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class SimilarityGate(GraphComponent, IntentClassifier):
    """Sets the top intent's confidence to its nearest-example cosine similarity."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Needs the sentence embeddings (place it after the intent classifier)."""
        return [MiniLMFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults (see config.yml for the values the assistant uses)."""
        return {
            # alias of the MiniLMFeaturizer whose sentence embedding is compared
            "featurizer_alias": "minilm",
            # "label": nearest example of the predicted label; "any": of any label
            "neighbours": "label",
            # a retrieval intent whose ResponseSelector confidence is below this
            # gets confidence 0 (and so falls back)
            "response_threshold": 0.5,
            # intents that keep the classifier's own confidence: a missed emergency
            # is worse than a needless "call 911"
            "ungated_intents": [],
            # a prediction whose nearest example of one of these labels is closer than
            # its own label's nearest example minus `veto_margin` gets confidence 0
            "veto_labels": [],
            "veto_margin": 0.0,
            # small talk said in words the classifier missed: when the prediction scores
            # below `rescue_similarity` but the nearest example of all is one of these
            # labels at that similarity or more, that label is the intent
            "rescue_labels": [],
            "rescue_similarity": 0.7,
            # a page question the intent classifier took for a veto label: when the
            # nearest example of all is a page answer's, the ResponseSelector chose that
            # same answer, and the nearest veto example is `answer_rescue_margin` further
            # away, the answer stands (None: never)
            "answer_rescue_similarity": None,
            "answer_rescue_margin": 0.1,
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        embeddings: np.ndarray | None = None,
        labels: List[str] | None = None,
    ) -> None:
        """Create the gate with the training examples it compares against."""
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.embeddings = (
            embeddings if embeddings is not None else np.zeros((0, 1), np.float32)
        )
        self.labels = labels or []
        self._label_index = self._index(self.labels)

    @staticmethod
    def _index(labels: List[str]) -> Dict[str, np.ndarray]:
        """Row numbers of each label and of each retrieval intent's parent."""
        rows: Dict[str, List[int]] = {}
        for row, label in enumerate(labels):
            rows.setdefault(label, []).append(row)
            if "/" in label:
                rows.setdefault(label.split("/", 1)[0], []).append(row)
        return {label: np.asarray(r) for label, r in rows.items()}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SimilarityGate:
        """Create an untrained gate."""
        return cls(config, model_storage, resource)

    def _embedding(self, message: Message) -> np.ndarray | None:
        return MiniLMFeaturizer.sentence_embedding(
            message, self.config["featurizer_alias"]
        )

    def train(self, training_data: TrainingData) -> Resource:
        """Remember the embedding and label of every intent example."""
        vectors: List[np.ndarray] = []
        labels: List[str] = []
        for example in training_data.intent_examples:
            vector = self._embedding(example)
            if vector is None or not example.get(TEXT):
                continue
            vectors.append(vector)
            labels.append(example.get(INTENT_RESPONSE_KEY) or example.get(INTENT))
        self.embeddings = (
            np.vstack(vectors).astype(np.float32)
            if vectors
            else np.zeros((0, 1), np.float32)
        )
        self.labels = labels
        self._label_index = self._index(labels)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Save embeddings and labels into the model."""
        with self._model_storage.write_to(self._resource) as directory:
            np.save(directory / EMBEDDINGS_FILE, self.embeddings)
            (directory / LABELS_FILE).write_text(json.dumps(self.labels))

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SimilarityGate:
        """Load the saved embeddings and labels."""
        try:
            with model_storage.read_from(resource) as directory:
                embeddings = np.load(directory / EMBEDDINGS_FILE)
                labels = json.loads((directory / LABELS_FILE).read_text())
        except (ValueError, FileNotFoundError):
            logger.warning("SimilarityGate has no trained data; it will not gate.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, embeddings, labels)

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace each message's intent confidence with its similarity score."""
        for message in messages:
            self._gate(message)
        return messages

    def _predicted_label(self, message: Message, intent: str) -> tuple[str, float]:
        """The label to compare with, and the ResponseSelector's confidence (1 if none)."""
        selector = (message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}).get(intent)
        if not selector:
            return intent, 1.0
        response = selector.get("response", {})
        return (
            response.get(INTENT_RESPONSE_KEY) or intent,
            float(response.get(PREDICTED_CONFIDENCE_KEY, 0.0)),
        )

    def _max_similarity(self, similarities: np.ndarray, label: str) -> float:
        """Similarity to the nearest example of `label` (0 if it has none)."""
        rows = self._label_index.get(label)
        return float(np.max(similarities[rows])) if rows is not None else 0.0

    def _gate(self, message: Message) -> None:
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY)
        vector = self._embedding(message)
        if not name or vector is None or not self.labels:
            return
        similarities = self.embeddings @ vector
        nearest = int(np.argmax(similarities))
        label, response_confidence = self._predicted_label(message, name)
        label_similarity = (
            self._max_similarity(similarities, label)
            if self.config["neighbours"] == "label"
            else float(similarities[nearest])
        )
        vetoes = [v for v in self.config["veto_labels"] if v != name]
        veto_similarity = max((self._max_similarity(similarities, v) for v in vetoes), default=0.0)
        message.set(
            GATE_OUTPUT,
            {
                "label": label,
                "similarity": label_similarity,
                "response_confidence": response_confidence,
                "veto_similarity": veto_similarity,
                "nearest_label": self.labels[nearest],
                "nearest_similarity": float(similarities[nearest]),
            },
            add_to_output=True,
        )
        if name not in self.config["ungated_intents"]:
            score = gated_score(
                label_similarity,
                response_confidence,
                veto_similarity,
                self.config["response_threshold"],
                self.config["veto_margin"],
            )
            self._set_confidence(message, score)
            self._rescue(message, score, self.labels[nearest], float(similarities[nearest]))
        if name in self.config["veto_labels"]:
            self._rescue_answer(message, self.labels[nearest], float(similarities[nearest]), similarities)

    def _rescue_answer(
        self, message: Message, nearest: str, similarity: float, similarities: np.ndarray
    ) -> None:
        """Answer a page question the classifier vetoed when its nearest examples say
        plainly that it is one (the ResponseSelector agreeing)."""
        floor = self.config["answer_rescue_similarity"]
        if floor is None or "/" not in nearest:
            return
        intent = nearest.split("/", 1)[0]
        selected, confidence = self._predicted_label(message, intent)
        vetoed = max(self._max_similarity(similarities, v) for v in self.config["veto_labels"])
        if (
            selected == nearest
            and confidence >= self.config["response_threshold"]
            and similarity >= floor
            and similarity - vetoed >= self.config["answer_rescue_margin"]
        ):
            answer = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: similarity}
            message.set(INTENT, answer, add_to_output=True)

    def _rescue(self, message: Message, score: float, nearest: str, similarity: float) -> None:
        """Take the nearest example's small-talk label over a prediction the gate doubts."""
        floor = float(self.config["rescue_similarity"])
        if nearest in self.config["rescue_labels"] and score < floor <= similarity:
            message.set(INTENT, {INTENT_NAME_KEY: nearest, PREDICTED_CONFIDENCE_KEY: similarity},
                        add_to_output=True)

    @staticmethod
    def _set_confidence(message: Message, score: float) -> None:
        """Set the top intent's confidence; scale the ranking to keep its order."""
        intent = message.get(INTENT)
        old = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        ratio = score / old if old > 0 else 0.0
        message.set(INTENT, {**intent, PREDICTED_CONFIDENCE_KEY: score}, add_to_output=True)
        ranking = message.get(INTENT_RANKING_KEY) or []
        message.set(
            INTENT_RANKING_KEY,
            [
                {**entry, PREDICTED_CONFIDENCE_KEY: float(entry[PREDICTED_CONFIDENCE_KEY]) * ratio}
                for entry in ranking
            ],
            add_to_output=True,
        )
