"""Environment defaults for the benchmarks, set before Rasa or TensorFlow is imported.

The offline/quiet settings of `core.settings` (the Makefile exports the same).
Import this module first (`from bench import _env`).
"""

from __future__ import annotations

from core.settings import apply_offline_env

apply_offline_env()
