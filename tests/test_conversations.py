"""End-to-end test stories, run with Rasa's own `rasa test core --e2e` (NLU included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import MODEL, PROJECT


def test_stories_have_no_prediction_errors(tmp_path: Path) -> None:
    """Every message's intent and FAQ answer (parsed by the model) and every action is exact.

    Rasa marks each wrong prediction `# predicted: ...` in failed_test_stories.yml.
    """
    rasa = Path(sys.executable).parent / "rasa"
    result = subprocess.run(
        [
            str(rasa), "test", "core", "--e2e",
            "--model", str(MODEL),
            "--stories", "tests/test_stories.yml",
            "--out", str(tmp_path),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed = (tmp_path / "failed_test_stories.yml").read_text()
    assert "# predicted:" not in failed, failed
