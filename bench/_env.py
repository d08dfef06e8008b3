"""Environment defaults for the benchmarks, set before Rasa or TensorFlow is imported.

The same values the Makefile exports: offline model hub, no telemetry, quiet TF.
Import this module first (`from bench import _env`).
"""

from __future__ import annotations

import os

DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}

for _key, _value in DEFAULTS.items():
    os.environ.setdefault(_key, _value)
