"""DIETClassifier and ResponseSelector trained without tf.data autotuning and loaded for
answering only (components/lean_classifiers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Type

import numpy as np
import pytest
import tensorflow as tf
from keras.engine import data_adapter
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.lean_classifiers import (
    LeanDIETClassifier,
    LeanResponseSelector,
    tf_data_autotuning_off,
)
from tests.conftest import MODEL


@pytest.mark.parametrize("component", [LeanDIETClassifier, LeanResponseSelector])
def test_loads_the_trained_weights_without_the_optimizer(
    component: Type[DIETClassifier], tmp_path: Path
) -> None:
    """The same weights as Rasa's own loading (fit on one example), and no optimizer."""
    storage, metadata = LocalModelStorage.from_model_archive(tmp_path, MODEL)
    node = next(n for n in metadata.predict_schema.nodes.values() if n.uses is component)
    config = {**component.get_default_config(), **node.config}
    serving = ExecutionContext(metadata.predict_schema, metadata.model_id)
    # To go on training (`rasa train --finetune`) it loads as Rasa always does: compile,
    # fit on one example, read the weights.
    finetuning = ExecutionContext(metadata.predict_schema, metadata.model_id, is_finetuning=True)

    lean = component.load(config, storage, node.resource, serving)
    rasa_way = component.load(config, storage, node.resource, finetuning)

    assert lean.model is not None and rasa_way.model is not None
    assert lean.model.optimizer is None and rasa_way.model.optimizer is not None
    lean_weights, rasa_weights = lean.model.get_weights(), rasa_way.model.get_weights()
    assert len(lean_weights) == len(rasa_weights) > 0
    for ours, theirs in zip(lean_weights, rasa_weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def tiny_training_data(storage: LocalModelStorage) -> TrainingData:
    """Three intents, featurized by words: enough for DIET to train on in seconds."""
    phrasings = {
        "greet": ["hi", "hello there", "good morning", "hey", "hi there friend"],
        "bye": ["bye", "see you later", "goodbye", "talk to you soon", "bye for now"],
        "ask_price": ["how much is it", "what does it cost", "price please",
                      "is it expensive", "how much do you charge"],
    }
    data = TrainingData(
        [Message(data={"text": text, "intent": intent})
         for intent, texts in phrasings.items() for text in texts]
    )
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("words"),
        ExecutionContext(GraphSchema({}), "tiny"),
    )
    featurizer.train(data)
    featurizer.process_training_data(data)
    return data


def trained_weights(
    component: Type[DIETClassifier], tmp_path: Path, evaluate_on: int
) -> List[np.ndarray]:
    """The weights `component` learns from the tiny data (a few epochs, fixed seed),
    holding out `evaluate_on` examples to evaluate on every other epoch."""
    config = {**component.get_default_config(), "epochs": 4, "random_seed": 7,
              "number_of_transformer_layers": 0, "entity_recognition": False,
              "evaluate_on_number_of_examples": evaluate_on,
              "evaluate_every_number_of_epochs": 2}
    (tmp_path / component.__name__).mkdir()
    storage = LocalModelStorage(tmp_path / component.__name__)
    context = ExecutionContext(GraphSchema({}), "tiny")
    classifier = component.create(config, storage, Resource("diet"), context)
    classifier.train(tiny_training_data(storage))
    assert classifier.model is not None
    return classifier.model.get_weights()


@pytest.mark.parametrize("evaluate_on", [0, 3])
def test_trains_the_same_weights_as_rasa(tmp_path: Path, evaluate_on: int) -> None:
    """On prepared batches without tf.data autotuning (with validation data too), it learns
    exactly what Rasa's own DIET learns."""
    ours = trained_weights(LeanDIETClassifier, tmp_path, evaluate_on)
    rasa = trained_weights(DIETClassifier, tmp_path, evaluate_on)
    assert len(ours) == len(rasa) > 0
    for a, b in zip(ours, rasa, strict=True):
        np.testing.assert_array_equal(a, b)


def test_autotuning_is_off_only_inside_the_context() -> None:
    """Keras' pipelines built from a Sequence don't autotune inside; Keras is restored after."""

    class Batches(tf.keras.utils.Sequence):  # type: ignore[misc]
        def __len__(self) -> int:
            return 2

        def __getitem__(self, index: int) -> np.ndarray:
            return np.full((2, 3), index, dtype=np.float32)

    def autotuning() -> Optional[bool]:
        """The pipeline's setting: None is tf.data's default (on)."""
        adapter = data_adapter.KerasSequenceAdapter(Batches())
        return adapter.get_dataset().options().autotune.enabled

    original = data_adapter.KerasSequenceAdapter.get_dataset
    with tf_data_autotuning_off():
        assert autotuning() is False
    assert autotuning() is None
    assert data_adapter.KerasSequenceAdapter.get_dataset is original
