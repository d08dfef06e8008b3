"""Rasa's training batches for DIET models, the same arrays prepared with less Python.

Rasa's batch generator converts every example of every batch separately, every epoch:
three small numpy arrays per example for each sparse feature (our char n-grams, words,
labels), and a view per example to copy fixed-size dense features (the MiniLM sentence
vector, masks) into a zero-filled array, CPU taken from the training steps.
`PreparedBatches` builds those two kinds of arrays in
a few vectorised calls; everything else (shuffling, balancing, batch sizes, variable
length dense sequences) is Rasa's code, so the batches are the same, bit for bit.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import Data, FeatureArray


class PreparedBatches(RasaBatchDataGenerator):
    """Rasa's `RasaBatchDataGenerator` with faster conversion of its arrays."""

    @classmethod
    def replacing(cls, generator: RasaBatchDataGenerator) -> PreparedBatches:
        """Batches that go on from where `generator` is: its data, epoch, order and size.

        A new generator would shuffle again on creation (numpy's global random state),
        so it takes over the state of the one Rasa made instead.
        """
        batches = cls.__new__(cls)
        batches.__dict__.update(vars(generator))
        return batches

    @staticmethod
    def prepare_batch(
        data: Data,
        start: Optional[int] = None,
        end: Optional[int] = None,
        tuple_sizes: Optional[Dict[Text, int]] = None,
    ) -> Tuple[Optional[np.ndarray], ...]:
        """The arrays of examples `start` to `end`, in the order Rasa's generator gives them."""
        batch: List[Optional[np.ndarray]] = []
        for key, attribute_data in data.items():
            for features in attribute_data.values():
                if not features:
                    batch += [None] * (tuple_sizes[key] if tuple_sizes else 1)
                    continue
                for feature_array in features:
                    part = feature_array[start:end]
                    if part.number_of_dimensions == 3 and part.is_sparse:
                        batch.extend(sparse_to_values(part))
                    elif part.number_of_dimensions == 3 and part.dtype != object:
                        batch.append(np.array(part, dtype=np.float32))
                    elif part.is_sparse:
                        batch.extend(RasaBatchDataGenerator._scipy_matrix_to_values(part))
                    else:
                        batch.append(RasaBatchDataGenerator._pad_dense_data(part))
        return tuple(batch)


def sparse_to_values(matrices: FeatureArray) -> List[np.ndarray]:
    """Indices (example, row, column), values and shape of a batch of sparse matrices.

    What Rasa's `_scipy_matrix_to_values` returns for 3-dimensional features.
    """
    coo = [m if isinstance(m, scipy.sparse.coo_matrix) else m.tocoo() for m in matrices]
    sizes = [len(m.row) for m in coo]
    indices = np.empty((sum(sizes), 3), dtype=np.int64)
    indices[:, 0] = np.repeat(np.arange(len(coo)), sizes)
    indices[:, 1] = np.concatenate([m.row for m in coo])
    indices[:, 2] = np.concatenate([m.col for m in coo])
    values = np.concatenate([m.data for m in coo]).astype(np.float32)
    longest = max(m.shape[0] for m in coo)
    shape = np.array((len(coo), longest, coo[0].shape[-1]), dtype=np.int64)
    return [indices, values, shape]
