"""Rasa's DIETClassifier and ResponseSelector, loaded for answering only.

Rasa loads a trained DIET model by compiling it with an optimizer and fitting it on
one example (which traces the whole training graph, gradients included) and only then
reads the trained weights. A server never trains, so these subclasses build the model
by running it once on that example and read the weights into it: the same weights and
the same answers (bit for bit on tests/nlu_heldout.yml), without the optimizer and the
training graph. Measured in one process: 675 MB instead of 964 MB after loading the
assistant, loaded in 3.9 s instead of 8.3 s (README, "How fast it serves").
Training, and loading to go on training (`rasa train --finetune`), are Rasa's own.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Text, Type

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.nlu.selectors.response_selector import DIET2BOW, DIET2DIET, ResponseSelector
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

# Rasa's recipe validator looks for the ResponseSelector class itself (not subclasses)
# and would warn at every training that there is no response selector.
warnings.filterwarnings(
    "ignore", message=".*your NLU configuration does not include a response selector.*"
)


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


class LeanDIET(LeanLoad, DIET):
    """DIET, loaded for prediction only."""


class LeanDIET2BOW(LeanLoad, DIET2BOW):
    """The ResponseSelector's DIET2BOW, loaded for prediction only."""


class LeanDIET2DIET(LeanLoad, DIET2DIET):
    """The ResponseSelector's DIET2DIET, loaded for prediction only."""


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
        """The DIET model class with the lean `load`."""
        return LeanDIET


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LeanResponseSelector(ResponseSelector):
    """Rasa's ResponseSelector; a loaded model has no optimizer or training graph."""

    @staticmethod
    def model_class(use_text_as_label: bool) -> Type[RasaModel]:  # type: ignore[override]
        """The response selector's model class with the lean `load`."""
        return LeanDIET2DIET if use_text_as_label else LeanDIET2BOW
