"""Rasa's DIETClassifier and ResponseSelector, trained faster and loaded for answering only.

Training: Keras turns Rasa's batch generator into a tf.data pipeline, a new one every
epoch, and tf.data's autotuning thread makes each one slow to tear down. Training runs
with autotuning off, and with the batches prepared by `components.speedups.batches`: the
same batches in the same order, the same weights bit for bit.

Loading: Rasa loads a trained DIET model by compiling it with an optimizer and fitting it on
one example (which traces the whole training graph, gradients included) and only then
reads the trained weights. A server never trains, so these subclasses build the model
by running it once on that example and read the weights into it: the same weights and
the same answers, without the optimizer and the training graph (less memory, faster
start; figures in docs/performance.md). Training, and loading to go on training
(`rasa train --finetune`), are Rasa's own. With other versions than those the speed-ups
were written for (components/speedups/__init__.py), both are Rasa's own.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Text, Type

import tensorflow as tf
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.nlu.selectors.response_selector import DIET2BOW, DIET2DIET, ResponseSelector
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

from components.speedups import enabled
from components.speedups.batches import PreparedBatches

try:  # Keras 2.12; from 2.13 on it is keras.src.engine, and the speed-ups stay off
    from keras.engine import data_adapter
except ImportError:  # pragma: no cover - another Keras
    data_adapter = None

# Rasa's recipe validator looks for the ResponseSelector class itself (not subclasses)
# and would warn at every training that there is no response selector.
warnings.filterwarnings(
    "ignore", message=".*your NLU configuration does not include a response selector.*"
)


def speedups_apply() -> bool:
    """The versions the speed-ups were written for are installed (and they are on)."""
    return data_adapter is not None and enabled()


class LeanLoad:
    """Mixin for a RasaModel class: `load` for prediction builds no training graph."""

    @classmethod
    def load(
        cls,
        model_file_name: Text,
        model_data_example: RasaModelData,
        predict_data_example: Optional[RasaModelData] = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        """Build the model by predicting on the example, then read the trained weights.

        The checkpoint also holds the optimizer's state, which is not read
        (`expect_partial`). Variables first built after this are still restored from it.
        """
        if finetune_mode or predict_data_example is None:
            return super().load(  # type: ignore[misc]
                model_file_name, model_data_example, predict_data_example,
                finetune_mode, *args, **kwargs,
            )
        model = cls(*args, **kwargs)  # type: ignore[call-arg]
        model.load_weights(model_file_name).expect_partial()
        model.run_inference(predict_data_example)
        return model


@contextmanager
def tf_data_autotuning_off() -> Iterator[None]:
    """Within: the tf.data pipelines Keras builds from a `Sequence` don't autotune.

    Autotuning only sets buffer sizes and parallelism (here: one prefetched batch), so
    the batches are the same; what goes is its thread, which an epoch's pipeline waits
    for when it is torn down.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    adapter = data_adapter.KerasSequenceAdapter
    get_dataset = adapter.get_dataset

    def get_dataset_without_autotuning(self: data_adapter.KerasSequenceAdapter) -> Any:
        return get_dataset(self).with_options(options)

    adapter.get_dataset = get_dataset_without_autotuning  # type: ignore[method-assign]
    try:
        yield
    finally:
        adapter.get_dataset = get_dataset  # type: ignore[method-assign]


def prepared(data: Any) -> Any:
    """Rasa's batch generator as `PreparedBatches`; any other data as it is."""
    if type(data) is RasaBatchDataGenerator:
        return PreparedBatches.replacing(data)
    return data


class QuickFit:
    """Mixin for a RasaModel class: `fit` on `PreparedBatches`, without tf.data autotuning."""

    def fit(self, x: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Keras' `fit`; Rasa's batches prepared faster, Keras' pipelines not autotuning."""
        if "validation_data" in kwargs:
            kwargs["validation_data"] = prepared(kwargs["validation_data"])
        with tf_data_autotuning_off():
            return super().fit(prepared(x), *args, **kwargs)  # type: ignore[misc]


class LeanDIET(QuickFit, LeanLoad, DIET):
    """DIET, trained on prepared batches without autotuning, loaded for prediction only."""


class LeanDIET2BOW(QuickFit, LeanLoad, DIET2BOW):
    """The ResponseSelector's DIET2BOW, trained and loaded like LeanDIET."""


class LeanDIET2DIET(QuickFit, LeanLoad, DIET2DIET):
    """The ResponseSelector's DIET2DIET, trained and loaded like LeanDIET."""


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    ],
    is_trainable=True,
)
class LeanDIETClassifier(DIETClassifier):
    """Rasa's DIETClassifier; a loaded model has no optimizer or training graph."""

    @staticmethod
    def model_class() -> Type[RasaModel]:
        """The DIET model class with the lean `load` (Rasa's own without the speed-ups)."""
        return LeanDIET if speedups_apply() else DIET


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LeanResponseSelector(ResponseSelector):
    """Rasa's ResponseSelector; a loaded model has no optimizer or training graph."""

    @staticmethod
    def model_class(use_text_as_label: bool) -> Type[RasaModel]:  # type: ignore[override]
        """The response selector's model class with the lean `load` (Rasa's own without
        the speed-ups)."""
        if not speedups_apply():
            return DIET2DIET if use_text_as_label else DIET2BOW
        return LeanDIET2DIET if use_text_as_label else LeanDIET2BOW
