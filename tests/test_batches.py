"""Rasa's training batches prepared with less Python (components/speedups/batches.py)."""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import scipy.sparse
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import FeatureArray, RasaModelData

from components.speedups.batches import PreparedBatches

EXAMPLES = 23


def object_array(items: List[object]) -> np.ndarray:
    """A 1-d object array of the items (numpy would stack equal shapes otherwise)."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def model_data() -> RasaModelData:
    """Every kind of feature our DIET models train on, for EXAMPLES examples of 3 labels.

    Sparse sequences (coo) and sentences (csr), fixed-size dense vectors,
    variable-length dense sequences, sequence lengths and label ids.
    """
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 6, EXAMPLES)
    sparse = [
        scipy.sparse.random(n, 40, density=0.2, format="coo", random_state=i)
        for i, n in enumerate(lengths)
    ]
    sparse_sentences = [
        scipy.sparse.random(1, 40, density=0.3, format="csr", random_state=i)
        for i in range(EXAMPLES)
    ]
    dense_sequences = [rng.normal(size=(n, 8)).astype(np.float32) for n in lengths]
    sentences = rng.normal(size=(EXAMPLES, 1, 8)).astype(np.float32)
    labels = (np.arange(EXAMPLES) % 3).reshape(-1, 1)
    data = {
        "text": {
            "sequence": [
                FeatureArray(object_array(sparse), number_of_dimensions=3),
                FeatureArray(object_array(dense_sequences), number_of_dimensions=3),
            ],
            "sentence": [
                FeatureArray(object_array(sparse_sentences), number_of_dimensions=3),
                FeatureArray(sentences, number_of_dimensions=3),
            ],
            "sequence_lengths": [FeatureArray(lengths, number_of_dimensions=1)],
        },
        "label": {"ids": [FeatureArray(labels, number_of_dimensions=2)]},
    }
    return RasaModelData(label_key="label", label_sub_key="ids", data=data)


def batches_of_three_epochs(prepared: bool) -> List[Tuple[Optional[np.ndarray], ...]]:
    """All batches of three epochs (balanced, shuffled, growing batch size), seed 1."""
    np.random.seed(1)
    generator = RasaBatchDataGenerator(
        model_data(), batch_size=[4, 8], epochs=3, batch_strategy="balanced", shuffle=True
    )
    if prepared:
        generator = PreparedBatches.replacing(generator)
    batches = []
    for _ in range(3):
        batches += [generator[i][0] for i in range(len(generator))]
        generator.on_epoch_end()
    return batches


def test_batches_are_rasas_bit_for_bit() -> None:
    """The same arrays, with the same types and shapes, as Rasa's generator gives."""
    ours, rasas = batches_of_three_epochs(prepared=True), batches_of_three_epochs(prepared=False)
    assert len(ours) == len(rasas) > 9
    for our_batch, rasa_batch in zip(ours, rasas, strict=True):
        assert len(our_batch) == len(rasa_batch) == 10  # 2 x 3 sparse, 2 dense, lengths, ids
        for a, b in zip(our_batch, rasa_batch, strict=True):
            assert type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_replacing_takes_over_the_generators_state() -> None:
    """It goes on with the epoch, batch size and shuffled order the replaced one had."""
    np.random.seed(2)
    generator = RasaBatchDataGenerator(model_data(), batch_size=[4, 8], epochs=3, shuffle=True)
    generator.on_epoch_end()
    replacement = PreparedBatches.replacing(generator)
    assert len(replacement) == len(generator) == 4  # second epoch: batches of 6
    np.testing.assert_array_equal(np.asarray(replacement[0][0][-1]), np.asarray(generator[0][0][-1]))
