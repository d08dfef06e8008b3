"""Single-threaded parse latency of a trained model: mean ms per `agent.parse_message`.

TensorFlow's thread pools can only be sized before TF runs its first op, so this
runs in a fresh process (bench.hint3 starts it as a subprocess):

    python -m bench.parse_time MODEL SENTENCES.csv [--warmup N]

SENTENCES.csv is a HINT3 test file (column `sentence`). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

from bench import _env  # noqa: F401  (environment defaults first)

SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def single_threaded_tensorflow() -> Dict[str, int]:
    """Limit TF to one intra-op and one inter-op thread (before TF initialises)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


async def _timed_parses(agent: Any, texts: Sequence[str]) -> List[float]:
    durations = []
    for text in texts:
        start = time.perf_counter()
        await agent.parse_message(text)
        durations.append(time.perf_counter() - start)
    return durations


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(round(share * len(ordered), 9))))
    return ordered[rank - 1]


def measure(model: Path, texts: Sequence[str], warmup: int) -> Dict[str, Any]:
    """Load the model single-threaded, parse `warmup` texts untimed, then time all."""
    threads = single_threaded_tensorflow()
    from rasa.core.agent import Agent

    start = time.perf_counter()
    agent = Agent.load(str(model))
    load_seconds = time.perf_counter() - start
    asyncio.run(_timed_parses(agent, list(texts[:warmup])))
    durations_ms = [d * 1000 for d in asyncio.run(_timed_parses(agent, texts))]
    return {
        "model": str(model),
        "messages": len(durations_ms),
        "warmup_messages": min(warmup, len(texts)),
        "mean_ms": statistics.fmean(durations_ms),
        "median_ms": statistics.median(durations_ms),
        "p95_ms": percentile(durations_ms, 0.95),
        "max_ms": max(durations_ms),
        "load_seconds": load_seconds,
        **threads,
    }


def read_sentences(path: Path) -> List[str]:
    """The `sentence` column of a HINT3 CSV."""
    from bench.hint3_data import read_examples

    return [example.sentence for example in read_examples(path)]


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: print the measurement as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("sentences", type=Path)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    for key, value in SINGLE_THREAD_ENV.items():
        os.environ.setdefault(key, value)
    result = measure(args.model, read_sentences(args.sentences), args.warmup)
    result["sentences_file"] = str(args.sentences)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
