"""Time `make retrain` end to end on this machine: `make bench-retrain`.

On a temporary copy of the project (the real data and model are not touched), one
example question is added, as staff would, then `make retrain` runs: data check,
training, scoring of the new and the current model on the held-out questions,
promotion. Rasa's training cache starts empty and the current model has no cached
score, so this is the slow case.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from retrain.sandbox import copy_project

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = ("faq/exercise_after", "is a bike ride ok the evening after my needling session")


def main() -> int:
    """Run the benchmark and print the figure."""
    with tempfile.TemporaryDirectory(prefix="bench-retrain-") as tmp:
        copy = copy_project(PROJECT, Path(tmp) / "project")
        python = str(PROJECT / ".venv" / "bin" / "python")
        subprocess.run(
            [python, "-m", "retrain", "add-examples", "--faq", EXAMPLE[0], "--example", EXAMPLE[1], "--yes"],
            cwd=copy, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )
        load = os.getloadavg()[0]
        log = Path(tmp) / "retrain.log"
        started = time.monotonic()
        with log.open("w") as out:
            code = subprocess.run(["make", "retrain"], cwd=copy, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT).returncode
        seconds = time.monotonic() - started
        text = log.read_text()
        keep = ("Step ", "  done in", "OK:", "REFUSED", "PROMOTED", "WARNING")
        steps = [line for line in text.splitlines() if line.startswith(keep)]
        print("\n".join(steps))
        verdict = "promoted" if code == 0 else "refused" if "REFUSED" in text else f"failed, exit code {code}"
        print(f"\nmake retrain, end to end: {seconds:.0f} s ({verdict}; {os.cpu_count()} cores, "
              f"load average {load:.1f} at the start)")
        if code != 0:
            print(text[-4000:], file=sys.stderr)
        return 0 if code == 0 or "REFUSED" in text else 1


if __name__ == "__main__":
    sys.exit(main())
