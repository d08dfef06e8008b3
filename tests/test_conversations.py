"""End-to-end test stories, run with Rasa's own `rasa test core`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import MODEL, PROJECT


def test_stories_have_no_prediction_errors(tmp_path: Path) -> None:
    """Every intent, answer and action in tests/test_stories.yml is predicted exactly."""
    rasa = Path(sys.executable).parent / "rasa"
    result = subprocess.run(
        [
            str(rasa), "test", "core",
            "--model", str(MODEL),
            "--stories", "tests/test_stories.yml",
            "--out", str(tmp_path),
            "--fail-on-prediction-errors",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, f"rasa test core failed:\n{details}\n{result.stderr[-3000:]}"
