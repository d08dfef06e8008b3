"""The staff commands (run through make; see docs/retraining.md).

  python -m retrain list                     FAQs, their example counts and answers
  python -m retrain add-examples --faq KEY   teach an FAQ more ways patients ask it
  python -m retrain add-faq                  a new FAQ: name, answer, example questions
  python -m retrain move --to KEY            give existing examples to another FAQ
  python -m retrain undo                     take back the last change to the data
  python -m retrain export-questions         unanswered patient questions -> CSV
  python -m retrain import-questions FILE    labelled CSV -> training examples
  python -m retrain retrain                  check, train, compare, promote or refuse
  python -m retrain rollback                 put back the model the last retrain replaced

Data commands change nothing when any input is bad; the error says why.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from retrain import backups
from retrain.errors import UserError
from retrain.project import Project, load_env
from retrain.text import check_answer, normalise, similarity
from retrain.trainingdata import (
    FAQ_PREFIX,
    MIN_NEW_FAQ_EXAMPLES,
    OUT_OF_SCOPE,
    TrainingSet,
    display,
    faq_label,
)

NEXT_STEP = (
    "Next: run `make retrain` to train the assistant with this change and check it.\n"
    "To take the change back: `make faq-undo`."
)
Reader = Callable[[str], str]


# ----- input helpers


def interactive() -> bool:
    """Whether a person is typing (then we prompt and ask before saving)."""
    return sys.stdin.isatty()


def ask(prompt: str, reader: Reader = input) -> str:
    """One line typed by the user."""
    try:
        return reader(prompt)
    except EOFError:
        return ""


def ask_valid(prompt: str, check: Callable[[str], object]) -> str:
    """Ask until the answer passes `check` (which raises UserError); empty gives up."""
    while True:
        text = ask(prompt)
        if not text.strip():
            raise UserError("Nothing typed: stopped.")
        try:
            check(text)
            return text
        except UserError as error:
            print(f"  ! {error}")


LineCheck = Callable[[str, List[str]], object]


def ask_lines(intro: str, check: Optional[LineCheck] = None, reader: Reader = input) -> List[str]:
    """Lines typed one by one until an empty line; a line failing `check` is not kept."""
    print(intro)
    lines: List[str] = []
    while True:
        line = ask("  > ", reader)
        if not line.strip():
            return lines
        if check is not None:
            try:
                check(line, lines)
            except UserError as error:
                print(f"    ! not kept: {error}")
                continue
        lines.append(line)


def lines_from(path: Optional[str]) -> List[str]:
    """Non-empty lines of a file ('-': standard input)."""
    if path is None:
        return []
    if path == "-":
        text = sys.stdin.read()
    else:
        file = Path(path)
        if not file.exists():
            raise UserError(f"There is no file {path}.")
        text = file.read_text(encoding="utf-8-sig")
    return [line for line in text.splitlines() if line.strip()]


def gather(
    given: Sequence[str], file: Optional[str], intro: str, check: Optional[LineCheck] = None
) -> List[str]:
    """Texts from the command line, a file, the keyboard or piped input, in that order."""
    texts = list(given) + lines_from(file)
    if texts:
        return texts
    if interactive():
        return ask_lines(intro, check)
    return lines_from("-")


def confirm(summary: str, assume_yes: bool) -> None:
    """Show what will change; a person must say yes."""
    print(summary)
    if assume_yes or not interactive():
        return
    if ask("Save this? [y/N] ").strip().lower() not in ("y", "yes"):
        raise UserError("Not saved.")


def saved(project: Project, files: Sequence[Path]) -> None:
    """Tell what was written and what comes next."""
    print("Saved: " + ", ".join(project.relative(p) for p in files))
    print(NEXT_STEP)


# ----- commands


def cmd_list(project: Project, args: argparse.Namespace) -> int:
    """FAQs with their example and test question counts and answers (or one FAQ's questions)."""
    training = TrainingSet.load(project)
    if args.faq:
        return _list_one(training, training.resolve_label(args.faq))
    examples, tests, answers = training.examples(), training.examples(test=True), training.answers()
    keys = training.faq_keys()
    print(f"{len(keys)} FAQs (examples = questions it is trained on; tests = held-out questions)\n")
    for key in keys:
        label = faq_label(key)
        print(f"{key}   {len(examples.get(label, []))} examples, {len(tests.get(label, []))} tests")
        answer = answers.get(key, "(no answer!)")
        if not args.full and len(answer) > 160:
            answer = answer[:157].rsplit(" ", 1)[0] + " ..."
        print(textwrap.fill(answer, 96, initial_indent="    ", subsequent_indent="    "))
        print()
    others = [label for label in training.labels() if not label.startswith(FAQ_PREFIX)]
    print("Other labels: " + ", ".join(f"{label} ({len(examples.get(label, []))})" for label in others))
    print(f"({OUT_OF_SCOPE}: questions the assistant must not answer and hands to the phone line.)")
    return 0


def _list_one(training: TrainingSet, label: str) -> int:
    """The answer, example questions and test questions of one FAQ or label."""
    key = display(label)
    answer = training.answers().get(key)
    if answer:
        print(f"{key}\n" + textwrap.fill(answer, 96, initial_indent="    ", subsequent_indent="    ") + "\n")
    for title, test in (("Example questions", False), ("Test questions (never trained on)", True)):
        texts = training.examples(test=test).get(label, [])
        print(f"{title} of {key} ({len(texts)}):")
        print(_bullets(texts) if texts else "  (none)")
        print()
    return 0


def _chosen_label(training: TrainingSet, given: str | None, prompt: str, missing: str) -> str:
    """The label named on the command line, else asked for; `missing` if there is none."""
    name = given or (ask_valid(prompt, training.resolve_label) if interactive() else "")
    if not name.strip():
        raise UserError(missing)
    return training.resolve_label(name)


def cmd_add_examples(project: Project, args: argparse.Namespace) -> int:
    """Teach an existing FAQ (or out_of_scope, or another label) more questions."""
    training = TrainingSet.load(project)
    label = _chosen_label(training, args.faq, "Which FAQ? (see `make faq-list`): ",
                          "Say which FAQ, e.g. `make faq-examples FAQ=exercise_after`.")
    kind = "test questions" if args.test else "questions"
    intro = f"New {kind} for {display(label)}, one per line (empty line: done):"
    texts = gather(args.example, args.file, intro,
                   lambda line, before: training.check_new_examples(label, before + [line], test=args.test))
    if not texts:
        raise UserError("No questions given: nothing to add.")
    added, _ = training.add_examples(label, texts, test=args.test)
    confirm(f"Adding {len(added)} {kind} to {display(label)}:\n" + _bullets(added), args.yes)
    saved(project, training.save(f"add {len(added)} {kind} to {display(label)}"))
    return 0


def cmd_add_faq(project: Project, args: argparse.Namespace) -> int:
    """A new FAQ: its name, answer, example questions and (optional) test questions."""
    training = TrainingSet.load(project)
    person = interactive()
    key = args.key or (ask_valid("Name of the new FAQ (lowercase words joined by _, e.g. what_to_wear): ",
                                 training.check_new_key) if person else "")
    if not key.strip():
        raise UserError("The FAQ needs a name (--key), e.g. what_to_wear.")
    answer = args.answer or (ask_valid("Answer, one paragraph, exactly as the assistant should say it:\n  ",
                                       check_answer) if person else "")
    label = faq_label(key.strip().removeprefix("faq/"))
    examples = gather(
        args.example, args.file,
        f"Questions patients ask for it, one per line, at least {MIN_NEW_FAQ_EXAMPLES} "
        "different wordings (empty line: done):",
        lambda line, before: training.check_new_examples(label, before + [line]),
    )
    tests = list(args.test_example) + lines_from(args.test_file)
    if person and not tests and not args.example:
        tests = ask_lines(
            "Two or three more wordings kept aside to test the assistant, never trained on "
            "(recommended; empty line: done):",
            lambda line, before: _check_test_question(training, label, examples, before + [line]),
        )
    key, added, tested = training.add_faq(key, answer, examples, tests)
    label = faq_label(key)
    summary = [f"New FAQ {key}:", textwrap.fill(training.new_answers[f"utter_{label}"], 96,
                                                   initial_indent="    ", subsequent_indent="    ")]
    summary += [f"  {len(added)} example questions:", _bullets(added)]
    summary += [f"  {len(tested)} test questions:", _bullets(tested)] if tested else []
    confirm("\n".join(summary), args.yes)
    files = training.save(f"add FAQ {key}")
    saved(project, files)
    _similar_hint(TrainingSet.load(project), key, examples)
    return 0


def _check_test_question(training: TrainingSet, label: str, examples: List[str], tests: List[str]) -> None:
    """A test question must be new and not one of the examples just typed."""
    training.check_new_examples(label, tests, test=True)
    if normalise(tests[-1]) in {normalise(e) for e in examples}:
        raise UserError("it is one of the example questions: a test question must be a new wording.")


def _similar_hint(training: TrainingSet, key: str, examples: Sequence[str]) -> None:
    """Point at examples of other labels that look like the new FAQ (they may contradict it)."""
    label = faq_label(key)
    close = []
    for other, texts in training.examples().items():
        if other == label:
            continue
        for text in texts:
            if any(similarity(text, e) >= 0.5 for e in examples):
                close.append((other, text))
    if close:
        print(f"\nThese examples of other labels look like {key}. If the new answer fits them, give")
        print(f"them to it (`make faq-move TO={key}`), or the assistant gets contradicting lessons:")
        for other, text in close[:20]:
            print(f"  {display(other):24s} {text}")


def cmd_move(project: Project, args: argparse.Namespace) -> int:
    """Give existing examples to another FAQ or label."""
    training = TrainingSet.load(project)
    label = _chosen_label(training, args.to, "Give the questions to which FAQ? ",
                          "Say where to move them, e.g. `make faq-move TO=what_to_wear`.")
    texts = gather(args.example, args.file, f"Existing questions to give to {display(label)}, one per line "
                   "(empty line: done):", lambda line, before: training.check_move(before + [line], label))
    if not texts:
        raise UserError("No questions given: nothing to move.")
    moved = training.move_examples(texts, label)
    confirm(f"Moving to {display(label)}:\n" + "\n".join(f"  - {t}   (from {display(f)})" for t, f in moved),
            args.yes)
    saved(project, training.save(f"move {len(moved)} questions to {display(label)}"))
    return 0


def cmd_undo(project: Project, args: argparse.Namespace) -> int:
    """Take back the last change made with these commands."""
    folder = backups.latest(project)
    if folder is None:
        raise UserError("There is no change to undo.")
    confirm(f"Undo: {backups.describe(folder)}", args.yes)
    restored = backups.undo(project, force=args.force)
    print("Restored: " + ", ".join(restored))
    print("Run `make retrain` if a model was trained with the change.")
    return 0


def cmd_export(project: Project, args: argparse.Namespace) -> int:
    """Write the unanswered patient questions to a CSV for labelling."""
    from retrain.questions import export

    since = _since(args.since)
    default = project.root / "results" / f"questions-{time.strftime('%Y-%m-%d')}.csv"
    out = Path(args.out) if args.out else default
    result = export(project, out, since)
    print(f"{result.messages} unanswered messages, {result.rows} different questions written to "
          f"{project.relative(result.path)}")
    if result.already_known:
        print(f"({result.already_known} questions left out: already in the training data or test questions.)")
    print("\nOpen it in a spreadsheet. In the `label` column write, for the questions worth learning:")
    training = TrainingSet.load(project)
    print("  an FAQ name: " + ", ".join(training.faq_keys()))
    print("  out_of_scope: the assistant must keep handing it to the phone line")
    print("  (or leave it empty to skip the row). Save as CSV, then:")
    print(f"  make questions-import CSV={project.relative(result.path)}")
    print("The file holds what patients typed: keep it on clinic computers and delete it when done.")
    return 0


def _since(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").timestamp()
    except ValueError as error:
        raise UserError(f"SINCE must be a date like 2026-11-01, not {value!r}.") from error


def cmd_import(project: Project, args: argparse.Namespace) -> int:
    """Add the labelled questions of a CSV as training examples."""
    from retrain.questions import import_labelled

    result = import_labelled(project, Path(args.csv))
    total = sum(len(v) for v in result.added.values())
    print(f"Imported {total} questions:")
    for label, texts in sorted(result.added.items()):
        print(f"  {display(label):28s} {len(texts)}")
    print(f"Skipped {result.unlabelled} rows without a label and {result.already_there} already in the data.")
    if result.files:
        saved(project, result.files)
    return 0


def cmd_retrain(project: Project, args: argparse.Namespace) -> int:
    """Check, train, compare with the current model, promote or refuse."""
    from retrain.compare import Rules
    from retrain.pipeline import result_data, run

    rules = Rules(
        tolerance=args.tolerance, key_questions=args.key_questions, strict_labels=tuple(args.strict)
    )
    outcome = run(project, rules, reload=not args.no_reload)
    print(f"\nmake retrain took {outcome.seconds:.0f} s.")
    if args.result:
        Path(args.result).write_text(json.dumps(result_data(outcome)), encoding="utf-8")
    return outcome.code


def cmd_rollback(project: Project, args: argparse.Namespace) -> int:
    """Put back the model the last promotion replaced, and load it into the running server."""
    from retrain.pipeline import previous_models, replaced_on, rollback

    kept = previous_models(project)
    if kept:
        confirm(f"Put back the model that was in use until {replaced_on(kept[-1])}.", args.yes)
    return rollback(project, reload=not args.no_reload).code


def _bullets(texts: Sequence[str]) -> str:
    return "\n".join(f"  - {t}" for t in texts)


# ----- parsing


COMMANDS: Dict[str, Callable[[Project, argparse.Namespace], int]] = {
    "list": cmd_list,
    "add-examples": cmd_add_examples,
    "add-faq": cmd_add_faq,
    "move": cmd_move,
    "undo": cmd_undo,
    "export-questions": cmd_export,
    "import-questions": cmd_import,
    "retrain": cmd_retrain,
    "rollback": cmd_rollback,
}


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m retrain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--project", default=".", help="project folder (default: the current one)")
    sub = p.add_subparsers(dest="command", required=True)
    show = sub.add_parser("list", help="FAQs with example counts and answers")
    show.add_argument("--full", action="store_true", help="whole answers")
    show.add_argument("--faq", default="", help="show the questions of this FAQ or label")

    add = sub.add_parser("add-examples", help="more example questions for an FAQ or label")
    add.add_argument("--faq", default="", help="FAQ name (or out_of_scope, or another label)")
    _texts(add, "question to add")
    add.add_argument("--test", action="store_true", help="add held-out test questions instead")

    new = sub.add_parser("add-faq", help="a new FAQ")
    new.add_argument("--key", default="", help="name, e.g. what_to_wear")
    new.add_argument("--answer", default="", help="the answer text")
    _texts(new, "example question")
    new.add_argument("--test-example", action="append", default=[],
                     help="held-out test question (repeatable)")
    new.add_argument("--test-file", help="file with one test question per line")

    move = sub.add_parser("move", help="give existing examples to another FAQ or label")
    move.add_argument("--to", default="", help="FAQ name (or out_of_scope, or another label)")
    _texts(move, "existing example to move")

    undo = sub.add_parser("undo", help="take back the last change to the data")
    undo.add_argument("--force", action="store_true", help="even if the files changed since")
    undo.add_argument("--yes", action="store_true", help="do not ask")

    exp = sub.add_parser("export-questions", help="unanswered patient questions to a CSV")
    exp.add_argument("--since", help="only questions asked from this date (YYYY-MM-DD)")
    exp.add_argument("--out", help="CSV file to write (default results/questions-<date>.csv)")

    imp = sub.add_parser("import-questions", help="labelled CSV to training examples")
    imp.add_argument("csv", help="the labelled CSV")

    ret = sub.add_parser("retrain", help="check, train, compare, promote or refuse")
    ret.add_argument("--tolerance", type=float, default=0.03,
                     help="largest allowed fall of FAQ accuracy / hand-off (0.03 = 3 points)")
    ret.add_argument("--key-questions", type=int, default=2,
                     help="test questions one FAQ or intent may lose (default 2; emergency: 1)")
    ret.add_argument("--strict", action="append", default=[], metavar="LABEL",
                     help="an intent or FAQ that may not fall at all, e.g. emergency (repeatable)")
    ret.add_argument("--no-reload", action="store_true", help="do not load the model into a running server")
    ret.add_argument("--result", help="also write the outcome and the comparison to this JSON file")

    back = sub.add_parser("rollback", help="put back the model the last retrain replaced")
    back.add_argument("--no-reload", action="store_true", help="do not load the model into a running server")
    back.add_argument("--yes", action="store_true", help="do not ask")
    return p


def _texts(sub: argparse.ArgumentParser, what: str) -> None:
    sub.add_argument("--example", action="append", default=[], help=f"a {what} (repeatable)")
    sub.add_argument("--file", help="file with one question per line ('-': standard input)")
    sub.add_argument("--yes", action="store_true", help="do not ask before saving")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; staff-facing problems become a message and exit code 2."""
    args = parser().parse_args(argv)
    root = Path(args.project).resolve()
    os.chdir(root)  # Rasa's config and endpoints use paths relative to the project
    project = Project(root)
    try:
        load_env(root)
        return COMMANDS[args.command](project, args)
    except UserError as error:
        print(f"\nError: {error}", file=sys.stderr)
        if args.command not in ("retrain", "export-questions"):
            print("Nothing was changed.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopped." + ("" if args.command in ("retrain", "rollback") else " Nothing was changed."),
              file=sys.stderr)
        return 130
