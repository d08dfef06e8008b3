"""The staff CLI (retrain/): data edits, bad input, undo, CSV import, list.

Every test works on a temporary copy of the data; the project's own files are never
touched. Bad input must leave every file byte-identical and make no backup.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from retrain import backups
from retrain.cli import main
from retrain.project import Project
from retrain.text import check_key, normalise, wrap_positions
from retrain.trainingdata import TrainingSet
from tests.conftest import PROJECT

WEAR_ANSWER = (
    "Wear loose, comfortable clothes that let the physiotherapist reach the area being "
    "treated, such as shorts for the legs or a tank top for the shoulders and upper back."
)
WEAR_EXAMPLES = [
    "what clothes should I wear for dry needling",
    "do I need special clothing for IMS",
    "what do I put on for my needling appointment",
]


@pytest.fixture(autouse=True)
def _keep_environment() -> Iterator[None]:
    """The CLI loads .env into os.environ: put the test process's environment back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the data, the held-out questions and the settings; stdin is not a tty."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "data", root / "data")
    (root / "tests").mkdir()
    shutil.copy2(PROJECT / "tests" / "nlu_heldout.yml", root / "tests")
    for name in ("domain.yml", "endpoints.yml", ".env.example"):
        shutil.copy2(PROJECT / name, root / name)
    shutil.copytree(PROJECT / "scripts", root / "scripts")
    monkeypatch.chdir(tmp_path)  # main() changes directory; pytest restores this one
    monkeypatch.setattr("retrain.cli.interactive", lambda: False)
    return root


def snapshot(root: Path) -> Dict[str, bytes]:
    """Every file under the project copy, byte for byte."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(root: Path, *args: str) -> int:
    """Run one CLI command on the copy."""
    return main(["--project", str(root), *args])


def read(path: Path) -> Dict[str, List[str]]:
    """Label -> examples, as Rasa reads the file."""
    data = RasaYAMLReader().read(str(path))
    out: Dict[str, List[str]] = {}
    for m in data.intent_examples:
        out.setdefault(m.get("intent_response_key") or m.get("intent"), []).append(m.get("text"))
    return out


# ----- happy paths


def test_add_examples_appends_and_keeps_everything_else(project: Path) -> None:
    """Two new lines at the end of the FAQ's block; nothing else in the file moves."""
    nlu = project / "data" / "faq.yml"
    before = nlu.read_text()
    assert run(project, "add-examples", "--faq", "exercise_after",
               "--example", "can I go swimming after needling",
               "--example", "  is a long   bike ride OK after IMS  ") == 0
    after = nlu.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["    - can I go swimming after needling", "    - is a long bike ride OK after IMS"]
    assert after.replace("\n".join(added) + "\n", "") == before
    assert read(nlu)["faq/exercise_after"][-1] == "is a long bike ride OK after IMS"


def test_add_faq_writes_examples_answer_and_tests(project: Path, capsys: pytest.CaptureFixture) -> None:
    """Examples in data/faq.yml, the answer in data/responses.yml, test questions held out."""
    assert run(project, "add-faq", "--key", "what_to_wear", "--answer", WEAR_ANSWER,
               *sum((["--example", e] for e in WEAR_EXAMPLES), []),
               "--test-example", "what outfit is best for an IMS session") == 0
    assert read(project / "data" / "faq.yml")["faq/what_to_wear"] == WEAR_EXAMPLES
    responses = RasaYAMLReader().read(str(project / "data" / "responses.yml")).responses
    assert " ".join(responses["utter_faq/what_to_wear"][0]["text"].split()) == WEAR_ANSWER
    assert read(project / "tests" / "nlu_heldout.yml")["faq/what_to_wear"] == [
        "what outfit is best for an IMS session"]
    text = (project / "data" / "responses.yml").read_text()
    assert "\n\n  utter_faq/what_to_wear:\n  - text: >-\n      Wear loose" in text
    new_entry = text[text.index("  utter_faq/what_to_wear:"):]
    assert max(len(line) for line in new_entry.splitlines()) <= 88
    out = capsys.readouterr().out
    assert "make retrain" in out
    # the out-of-scope examples about clothes contradict the new FAQ: the CLI points at them
    assert "what should i wear to my dry needling appointment" in out


def test_new_faq_keeps_rasa_data_validate_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rasa data validate --fail-on-warnings` passes after `add-faq` (on a full copy)."""
    import subprocess
    import sys

    from retrain.sandbox import copy_project

    root = copy_project(PROJECT, tmp_path / "full")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("retrain.cli.interactive", lambda: False)
    assert run(root, "add-faq", "--key", "what_to_wear", "--answer", WEAR_ANSWER,
               *sum((["--example", e] for e in WEAR_EXAMPLES), [])) == 0
    result = subprocess.run([sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
                            cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_move_then_undo_restores_the_files_exactly(project: Path) -> None:
    """`move` takes examples from out_of_scope; `undo` puts every byte back."""
    run(project, "add-faq", "--key", "what_to_wear", "--answer", WEAR_ANSWER,
        *sum((["--example", e] for e in WEAR_EXAMPLES), []))
    after_add = snapshot(project / "data")
    assert run(project, "move", "--to", "what_to_wear",
               "--example", "should i wear shorts for needling on my leg",
               "--example", "Do I have to undress for IMS?") == 0
    data = read(project / "data" / "out_of_scope.yml")["out_of_scope"]
    assert "should i wear shorts for needling on my leg" not in data
    assert "do i have to undress for IMS" in read(project / "data" / "faq.yml")["faq/what_to_wear"]
    assert run(project, "undo", "--yes") == 0
    assert snapshot(project / "data") == after_add


def test_undo_refuses_when_the_file_changed_since(project: Path, capsys: pytest.CaptureFixture) -> None:
    """Undoing would throw away a later hand edit: refused, nothing changes."""
    run(project, "add-examples", "--faq", "exercise_after", "--example", "can I go skiing after IMS")
    nlu = project / "data" / "faq.yml"
    nlu.write_text(nlu.read_text() + "# a hand edit\n")
    before = snapshot(project)
    assert run(project, "undo", "--yes") == 2
    assert "changed again" in capsys.readouterr().err
    assert snapshot(project) == before


def test_rollback_puts_back_the_previous_models_one_by_one(
    project: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make rollback`: the newest kept model comes back byte for byte, the replaced one is
    kept aside, the running server is asked to load it; with none left: refused, nothing changed."""
    from retrain import pipeline

    model, kept = Project(project).model, project / "results" / "retrain" / "previous"
    model.parent.mkdir()
    model.write_bytes(b"model 3")
    kept.mkdir(parents=True)
    (kept / "dry-needling-20261101-090000.tar.gz").write_bytes(b"model 1")
    (kept / "dry-needling-20261124-062342.tar.gz").write_bytes(b"model 2")
    reloads: List[Path] = []
    monkeypatch.setattr(pipeline, "reload_running_server",
                        lambda p, say: reloads.append(p.model) or True)
    assert run(project, "rollback", "--yes") == 0
    assert model.read_bytes() == b"model 2"
    assert (project / "results" / "retrain" / "rolled-back.tar.gz").read_bytes() == b"model 3"
    assert "in use until 2026-11-24 06:23" in capsys.readouterr().out
    assert reloads == [Project(project).model]
    assert run(project, "rollback", "--yes", "--no-reload") == 0
    assert model.read_bytes() == b"model 1" and len(reloads) == 1
    assert run(project, "rollback", "--yes") == 2
    assert "no previous model" in capsys.readouterr().err
    assert model.read_bytes() == b"model 1"


def test_list_shows_counts_and_answers(project: Path, capsys: pytest.CaptureFixture) -> None:
    """Every FAQ with its example and test counts and (the start of) its answer."""
    assert run(project, "list") == 0
    out = capsys.readouterr().out
    examples = read(project / "data" / "faq.yml")
    for key in ("exercise_after", "vs_acupuncture", "what_is_dry_needling"):
        assert f"{key}   {len(examples['faq/' + key])} examples" in out
    assert "avoid high-impact or strenuous activities" in out
    assert "out_of_scope (" in out
    assert run(project, "list", "--faq", "out of scope") == 0
    out = capsys.readouterr().out
    assert "  - does dry needling hurt" in out and "Test questions (never trained on) of out_of_scope" in out


# ----- bad input changes nothing


BAD_INPUT = {
    "unknown key": (["add-examples", "--faq", "what_to_eat", "--example", "can I eat before"],
                    "no FAQ or label called 'what_to_eat'"),
    "duplicate example": (["add-examples", "--faq", "exercise_after", "--example",
                           "Can I exercise after dry needling??"], "already an example of exercise_after"),
    "example of another key": (["add-examples", "--faq", "exercise_after", "--example",
                                "what is dry needling"], "already an example of what_is_dry_needling"),
    "example that is out of scope": (["add-examples", "--faq", "exercise_after", "--example",
                                      "does dry needling hurt"], "already an example of out_of_scope"),
    "held-out test question": (["add-examples", "--faq", "exercise_after", "--example",
                                "any activity restrictions after IMS?"], "held-out test questions"),
    "held-out question, a word added": (["add-examples", "--faq", "exercise_after", "--example",
                                         "any activity restrictions after IMS please"],
                                        "held-out test questions"),
    "empty text": (["add-examples", "--faq", "exercise_after", "--example", "   "], "empty"),
    "only punctuation": (["add-examples", "--faq", "exercise_after", "--example", "?!"], "empty"),
    "given twice": (["add-examples", "--faq", "exercise_after", "--example", "can I swim after IMS",
                     "--example", "Can I swim after IMS?"], "given twice"),
    "entity markup": (["add-examples", "--faq", "exercise_after", "--example",
                       "can I do [yoga](sport) after"], "markup"),
    "one bad among good": (["add-examples", "--faq", "exercise_after", "--example", "fine question here",
                            "--example", ""], "empty"),
    "key not an identifier": (["add-faq", "--key", "What to wear?", "--answer", WEAR_ANSWER,
                               *sum((["--example", e] for e in WEAR_EXAMPLES), [])],
                              "Did you mean 'what_to_wear'"),
    "key with a dash": (["add-faq", "--key", "what-to-wear", "--answer", WEAR_ANSWER,
                         *sum((["--example", e] for e in WEAR_EXAMPLES), [])], "not a valid FAQ name"),
    "key starting with a digit": (["add-faq", "--key", "2nd_visit", "--answer", WEAR_ANSWER,
                                   *sum((["--example", e] for e in WEAR_EXAMPLES), [])],
                                  "not a valid FAQ name"),
    "existing key": (["add-faq", "--key", "exercise_after", "--answer", WEAR_ANSWER,
                      *sum((["--example", e] for e in WEAR_EXAMPLES), [])], "already an FAQ"),
    "key of an intent": (["add-faq", "--key", "greet", "--answer", WEAR_ANSWER,
                          *sum((["--example", e] for e in WEAR_EXAMPLES), [])], "another label"),
    "empty answer": (["add-faq", "--key", "what_to_wear", "--answer", "  ",
                      *sum((["--example", e] for e in WEAR_EXAMPLES), [])], "answer is empty"),
    "too few examples": (["add-faq", "--key", "what_to_wear", "--answer", WEAR_ANSWER,
                          "--example", WEAR_EXAMPLES[0]], "at least 3"),
    "new FAQ example used elsewhere": (["add-faq", "--key", "what_to_wear", "--answer", WEAR_ANSWER,
                                        *sum((["--example", e] for e in WEAR_EXAMPLES), []),
                                        "--example", "what should i wear to my dry needling appointment"],
                                       "already an example of out_of_scope"),
    "test question that is trained on": (["add-faq", "--key", "what_to_wear", "--answer", WEAR_ANSWER,
                                          *sum((["--example", e] for e in WEAR_EXAMPLES), []),
                                          "--test-example", WEAR_EXAMPLES[0]], "must not also be"),
    "move unknown question": (["move", "--to", "exercise_after", "--example", "never seen this"],
                              "not an example"),
    "move that empties a key": (["move", "--to", "vs_acupuncture", "--file", "{all_exercise}"],
                                "no examples at all"),
    "move to unknown key": (["move", "--to", "nowhere", "--example", "does dry needling hurt"],
                            "no FAQ or label"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_changes_nothing(project: Path, case: str, capsys: pytest.CaptureFixture) -> None:
    """A clear message, exit code 2, every file byte-identical, no backup taken."""
    args, message = BAD_INPUT[case]
    if "{all_exercise}" in args:
        listing = project / "all.txt"
        listing.write_text("\n".join(read(project / "data" / "faq.yml")["faq/exercise_after"]))
        args = [str(listing) if a == "{all_exercise}" else a for a in args]
    before = snapshot(project)
    assert run(project, *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Nothing was changed" in err
    assert snapshot(project) == before
    assert backups.latest(Project(project)) is None


# ----- labelled CSV import


def write_csv(path: Path, rows: List[Dict[str, str]], delimiter: str = ",") -> Path:
    """A labelled CSV as a spreadsheet would save it."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["question", "label", "times_asked"], delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_adds_labelled_rows_to_the_right_files(project: Path, capsys: pytest.CaptureFixture) -> None:
    """FAQ keys go to data/faq.yml, out_of_scope to data/out_of_scope.yml; blanks skipped."""
    path = write_csv(project / "labelled.csv", [
        {"question": "can I go skating the day after IMS", "label": "exercise_after", "times_asked": "3"},
        {"question": "do you validate parking", "label": "Out of scope", "times_asked": "2"},
        {"question": "'=1+1 is that how many needles", "label": "", "times_asked": "1"},
        {"question": "is needling like accupuncture", "label": "faq/vs_acupuncture", "times_asked": "1"},
        {"question": "asdfgh", "label": "skip", "times_asked": "1"},
    ], delimiter=";")
    assert run(project, "import-questions", str(path)) == 0
    nlu = read(project / "data" / "faq.yml")
    assert nlu["faq/exercise_after"][-1] == "can I go skating the day after IMS"
    assert nlu["faq/vs_acupuncture"][-1] == "is needling like accupuncture"
    assert read(project / "data" / "out_of_scope.yml")["out_of_scope"][-1] == "do you validate parking"
    out = capsys.readouterr().out
    assert "Imported 3 questions" in out and "Skipped 2 rows without a label" in out
    before = snapshot(project / "data")
    assert run(project, "import-questions", str(path)) == 0  # again: nothing new
    assert "Imported 0 questions" in capsys.readouterr().out
    assert snapshot(project / "data") == before


@pytest.mark.parametrize("rows, message", [
    ([{"question": "can i skate after ims", "label": "skating"}], "no FAQ or label called 'skating'"),
    ([{"question": "can i skate after ims", "label": "exercise_after"},
      {"question": "Can I skate after IMS?", "label": "out_of_scope"}], "labels the same question"),
    ([{"question": "what is dry needling", "label": "exercise_after"}], "already an example"),
    ([{"question": "  ", "label": "exercise_after"}], "empty"),
    ([{"question": "fine", "label": "exercise_after"}, {"question": "x [a](b)", "label": "out_of_scope"}],
     "markup"),
])
def test_import_with_a_bad_row_changes_nothing(
    project: Path, rows: List[Dict[str, str]], message: str, capsys: pytest.CaptureFixture
) -> None:
    """One bad row: nothing imported, the row number and the reason are shown."""
    path = write_csv(project / "labelled.csv", [{**r, "times_asked": "1"} for r in rows])
    before = snapshot(project / "data")
    assert run(project, "import-questions", str(path)) == 2
    err = capsys.readouterr().err
    assert message in err and "Row " in err
    assert snapshot(project / "data") == before


def test_import_needs_question_and_label_columns(project: Path, capsys: pytest.CaptureFixture) -> None:
    """A CSV without the expected header is refused."""
    path = project / "other.csv"
    path.write_text("text,intent\nhello,greet\n")
    assert run(project, "import-questions", str(path)) == 2
    assert "no 'question' or 'label' column" in capsys.readouterr().err


# ----- small pieces


def test_keys_and_normal_forms() -> None:
    """Valid keys pass; FAQ names are suggested; questions compare without case/punctuation."""
    assert check_key("what_to_wear") == "what_to_wear"
    assert check_key("faq/what_to_wear") == "what_to_wear"
    assert normalise("What's  IMS?") == normalise("whats ims") == "whats ims"
    text = "word " * 40
    assert all(text[p] == " " for p in wrap_positions(text.strip(), 30))


def test_a_file_that_would_not_round_trip_is_not_edited(project: Path, capsys: pytest.CaptureFixture) -> None:
    """Odd layout in the file to change: refused rather than reformatted."""
    oos = project / "data" / "out_of_scope.yml"
    oos.write_text(oos.read_text().replace("examples: |", "examples:   |", 1))
    before = snapshot(project)
    assert TrainingSet.load(Project(project)).examples()["out_of_scope"]
    assert run(project, "add-examples", "--faq", "out_of_scope", "--example", "do you sell gift cards") == 2
    assert "cannot keep exactly" in capsys.readouterr().err
    assert snapshot(project) == before
