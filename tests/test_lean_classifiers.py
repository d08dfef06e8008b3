"""DIETClassifier and ResponseSelector trained without tf.data autotuning and loaded for
answering only (components/speedups/lean_classifiers.py), and Rasa's own with other versions."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Type

import numpy as np
import pytest
import tensorflow as tf
import yaml
from keras.engine import data_adapter
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.selectors.response_selector import DIET2BOW, DIET2DIET, ResponseSelector
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import speedups
from components.speedups.lean_classifiers import (
    LeanDIETClassifier,
    LeanResponseSelector,
    tf_data_autotuning_off,
)
from retrain.trainingdata import nlu_training_data
from tests.conftest import MODEL, PROJECT


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


@pytest.fixture
def other_versions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if another Rasa were installed than the one the speed-ups were written for."""
    monkeypatch.setitem(speedups.WRITTEN_FOR, "rasa", "3.6.0")
    speedups.enabled.cache_clear()
    yield
    monkeypatch.undo()
    speedups.enabled.cache_clear()


@pytest.mark.parametrize("component", [LeanDIETClassifier, LeanResponseSelector])
def test_other_versions_load_the_stock_way_with_one_warning(
    component: Type[DIETClassifier], tmp_path: Path, other_versions: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fallback path: Rasa's own model classes and loading (with the optimizer), the
    same weights, and a warning that says why."""
    assert LeanDIETClassifier.model_class() is DIET
    assert LeanResponseSelector.model_class(False) is DIET2BOW
    storage, metadata = LocalModelStorage.from_model_archive(tmp_path, MODEL)
    node = next(n for n in metadata.predict_schema.nodes.values() if n.uses is component)
    config = {**component.get_default_config(), **node.config}
    serving = ExecutionContext(metadata.predict_schema, metadata.model_id)
    with caplog.at_level(logging.WARNING, logger="components.speedups"):
        speedups.enabled.cache_clear()
        stock = component.load(config, storage, node.resource, serving)
    assert "Speed-ups off" in caplog.text
    assert stock.model is not None and stock.model.optimizer is not None
    assert type(stock.model) in (DIET, DIET2BOW, DIET2DIET)


def test_other_versions_train_the_stock_way(tmp_path: Path, other_versions: None) -> None:
    """With the speed-ups off, training is Rasa's own and learns the same weights."""
    stock = trained_weights(LeanDIETClassifier, tmp_path, 0)
    rasa = trained_weights(DIETClassifier, tmp_path, 0)
    for a, b in zip(stock, rasa, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def real_pipeline_models(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """The project's pipeline (spaCy tokens, MiniLM, word and character counts) trained on
    every fourth example of data/, a few epochs: once with the lean classifiers, once with
    Rasa's own DIETClassifier and ResponseSelector in their place."""
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    tmp = tmp_path_factory.mktemp("real-pipeline")
    data = nlu_training_data(PROJECT / "data")
    RasaYAMLWriter().dump(tmp / "nlu.yml", TrainingData(data.intent_examples[::4], responses=data.responses))
    config = yaml.safe_load((PROJECT / "config.yml").read_text(encoding="utf-8"))
    last = next(i for i, c in enumerate(config["pipeline"]) if "ResponseSelector" in c["name"])
    lean = config["pipeline"][: last + 1]
    for component in lean:
        if "Lean" in component["name"]:
            component["epochs"] = 3
    stock = [{**c, "name": STOCK.get(c["name"], c["name"])} for c in lean]
    models = {}
    cwd = os.getcwd()
    os.chdir(PROJECT)  # config.yml's spaCy pipeline path is relative
    try:
        for name, pipeline in (("lean", lean), ("stock", stock)):
            path = tmp / f"{name}.yml"
            path.write_text(yaml.safe_dump({**config, "pipeline": pipeline}), encoding="utf-8")
            models[name] = Path(train_nlu(str(path), str(tmp / "nlu.yml"), str(tmp), fixed_model_name=name))
    finally:
        os.chdir(cwd)
    return models


STOCK = {
    "components.speedups.lean_classifiers.LeanDIETClassifier": "DIETClassifier",
    "components.speedups.lean_classifiers.LeanResponseSelector": "ResponseSelector",
}


@pytest.mark.parametrize(
    ("lean", "stock"), [(LeanDIETClassifier, DIETClassifier), (LeanResponseSelector, ResponseSelector)]
)
def test_on_the_real_pipeline_the_lean_classifiers_learn_rasas_weights(
    real_pipeline_models: Dict[str, Path], tmp_path: Path,
    lean: Type[DIETClassifier], stock: Type[DIETClassifier],
) -> None:
    """Trained on the encoder's and the counts' features of the real pipeline, and loaded
    for answering, each lean classifier holds exactly the weights Rasa's own learns."""
    weights = []
    for name, component in (("lean", lean), ("stock", stock)):
        # An existing folder: unpacking into a missing one lets Rasa's shutil.move rename the
        # first component's folder to it (which one comes first depends on the names).
        (tmp_path / name).mkdir()
        storage, metadata = LocalModelStorage.from_model_archive(tmp_path / name, real_pipeline_models[name])
        node = next(n for n in metadata.predict_schema.nodes.values() if n.uses is component)
        config = {**component.get_default_config(), **node.config}
        context = ExecutionContext(metadata.predict_schema, metadata.model_id)
        loaded = component.load(config, storage, node.resource, context)
        assert loaded.model is not None
        weights.append(loaded.model.get_weights())
    assert len(weights[0]) == len(weights[1]) > 0
    for ours, theirs in zip(*weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
