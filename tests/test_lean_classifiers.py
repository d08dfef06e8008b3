"""DIETClassifier and ResponseSelector loaded for answering only (components/lean_classifiers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Type

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier

from components.lean_classifiers import LeanDIETClassifier, LeanResponseSelector
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
