"""Speed-ups that lean on Rasa's and Keras' internals, fenced off in one place.

* `lean_classifiers`: DIETClassifier and ResponseSelector loaded without their training
  graph, and trained without tf.data autotuning (it patches `keras.engine.data_adapter`
  while Keras fits);
* `batches`: Rasa's training batches built with fewer Python calls (it uses private
  methods of Rasa's `RasaBatchDataGenerator`).

They were written for the exact versions in `WRITTEN_FOR`. With any other version they
stay off, with one warning, and training and loading are stock Rasa's (same weights,
same answers; only slower and larger). `SPEEDUPS=off` in `.env` turns them off too.
"""

from __future__ import annotations

import functools
import logging
from importlib import metadata
from typing import Dict, Optional

from core.settings import settings

logger = logging.getLogger(__name__)

WRITTEN_FOR: Dict[str, str] = {"rasa": "3.6.21", "tensorflow": "2.12.0", "keras": "2.12.0"}


def installed(package: str) -> Optional[str]:
    """The installed version of `package`, or None."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def enabled() -> bool:
    """Whether the speed-ups apply: the versions they were written for, and not turned off."""
    if settings().speedups == "off":
        logger.info("Speed-ups turned off (SPEEDUPS): training and loading are stock Rasa's.")
        return False
    found = {package: installed(package) for package in WRITTEN_FOR}
    if found != WRITTEN_FOR:
        logger.warning(
            "Speed-ups off: written for %s, found %s. Training and loading are stock Rasa's "
            "(same answers, slower, more memory). Check components/speedups/ against the new versions.",
            WRITTEN_FOR,
            found,
        )
        return False
    return True
