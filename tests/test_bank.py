"""The question bank as authors meet it: the shipped bank is valid, and broken copies of it are
reported as `file:line: problem` pointing at the line the author changed, with exit status 1
and no traceback from `s2q bank validate`. Real YAML files, real CLI (a subprocess).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline.authoring.commands  # noqa: F401  (imported at collection, as any long-lived process would)
from pipeline.retrieval.bank import (
    BANK_ROOT,
    MAX_SPOKEN_WORDS,
    MIN_RED_FLAG_EXAMPLES,
    BankError,
    check_bank,
    list_roles,
    load_bank,
)

ROLE = "ml-engineer"
SHIPPED = BANK_ROOT / ROLE
CODING = "questions/coding-challenge.yaml"
SYSTEM = "questions/system-design.yaml"

# Seed ids that DESIGN.md says the ML Engineer bank keeps.
SEED_STAGES = {"fundamentals-screen", "system-design", "coding-challenge", "production-experience"}
SEED_COMPETENCIES = {"software-engineering", "production-deployment", "ml-fundamentals", "mlops",
                     "problem-formulation", "collaboration"}
SEED_RED_FLAGS = {"accuracy-only", "notebook-only", "no-monitoring", "dismisses-engineering", "ignores-data-bias"}
SEED_COMPLIANCE = {"age", "family-status", "pregnancy", "religion", "national-origin", "disability-health",
                   "sexual-orientation", "salary-history"}


# -- helpers ---------------------------------------------------------------------------


def run_s2q(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("s2q")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]
    return subprocess.run(cmd + [str(a) for a in args], check=False, capture_output=True, text=True,
                          timeout=120, cwd=cwd)


@pytest.fixture
def bank_copy(tmp_path) -> Path:
    """A private copy of the shipped role folder, to break."""
    target = tmp_path / ROLE
    shutil.copytree(SHIPPED, target)
    return target


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n\n" + block.strip("\n") + "\n", encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """1-based line of the only occurrence of `needle` in the file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times in {path}"
    return text[: text.index(needle)].count("\n") + 1


def validate(directory: Path) -> subprocess.CompletedProcess:
    return run_s2q("bank", "validate", "--bank", directory)


def problem_lines(output: str, path: Path, line: int) -> list[str]:
    prefix = f"{path}:{line}: "
    return [ln for ln in output.splitlines() if ln.startswith(prefix)]


def validate_in_process(directory: Path, capsys) -> tuple[int, str, str]:
    """`s2q bank validate --bank DIR` through the CLI's own entry point (what the console script
    calls), in this process to keep the suite fast; an exception escaping it fails the test.
    Used for broken banks, whose problems go to sys.stderr (see
    test_validate_writes_to_the_current_stdout for the `ok` line and warnings)."""
    from pipeline.cli import main

    capsys.readouterr()
    rc = main(["bank", "validate", "--bank", str(directory)])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_error_at(directory: Path, rel: str, line: int, capsys, *words: str) -> str:
    """`s2q bank validate --bank DIR` exits 1, and its error at rel:line mentions all `words`. Returns it."""
    rc, out, err = validate_in_process(directory, capsys)
    assert rc == 1, f"exit {rc}\n{out}\n{err}"
    assert "Traceback" not in err + out, err
    path = directory / rel
    found = problem_lines(err, path, line)
    assert found, f"no problem reported at {path}:{line}; stderr:\n{err}"
    matching = [f for f in found if all(w.lower() in f.lower() for w in words)]
    assert matching, f"problem at {path}:{line} does not mention {words}: {found}"
    assert not any("warning:" in m for m in matching), matching  # an error, not a warning
    # the library agrees: loading the bank raises, with the same problem as an error
    with pytest.raises(BankError) as caught:
        load_bank(directory=directory)
    assert any(p.file == path and p.line == line and p.severity == "error" for p in caught.value.problems)
    assert f"{path}:{line}:" in str(caught.value)
    return matching[0]


# -- the shipped bank ---------------------------------------------------------------------


def test_shipped_bank_has_no_errors():
    bank, problems = check_bank(SHIPPED)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert errors == []
    assert bank is not None
    assert {s.id for s in bank.role.stages} >= SEED_STAGES
    assert {c.id for c in bank.role.competencies} >= SEED_COMPETENCIES
    assert {rf.id for rf in bank.red_flags} >= SEED_RED_FLAGS
    assert {c.id for c in bank.compliance} >= SEED_COMPLIANCE
    stages = {s.id for s in bank.role.stages}
    assert {q.stage for q in bank.questions} == stages, "every stage has questions"


def test_validate_cli_on_shipped_bank_exits_0():
    proc = run_s2q("bank", "validate")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{SHIPPED}: ok" in proc.stdout
    bank = load_bank(ROLE)
    assert f"{len(bank.questions)} questions" in proc.stdout


def test_validate_writes_to_the_current_stdout(capsys):
    """`s2q bank validate` run in-process (tests, tools embedding the CLI) prints where sys.stdout
    points now. pipeline/authoring/ once bound `out: IO[str] = sys.stdout` as a default argument,
    i.e. to the stream of import time, so this output goes to a stale (possibly closed) stream."""
    from pipeline.cli import main

    capsys.readouterr()
    rc = main(["bank", "validate"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"{SHIPPED}: ok" in out


def test_broken_bank_through_the_console_script(bank_copy):
    """The real `s2q` process: every error as file:line, exit 1, no traceback."""
    questions = bank_copy / CODING
    replace_once(questions, "    stage: coding-challenge\n", "      stage: coding-challenge\n")
    flags = bank_copy / "red_flags.yaml"
    replace_once(flags, "    name: Focuses only on accuracy\n", "    nmae: Focuses only on accuracy\n")
    proc = validate(bank_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert problem_lines(proc.stderr, questions, line_of(questions, "      stage: coding-challenge"))
    assert problem_lines(proc.stderr, flags, line_of(flags, "nmae:"))
    assert f"{bank_copy}: " in proc.stderr and "error(s)" in proc.stderr
    assert ": ok" not in proc.stdout


# -- errors, each at the file and line the author changed ------------------------------------


def test_bad_indentation_is_a_yaml_syntax_error_at_its_line(bank_copy, capsys):
    path = bank_copy / CODING
    replace_once(path, "    stage: coding-challenge\n", "      stage: coding-challenge\n")
    line = line_of(path, "      stage: coding-challenge\n")
    assert_error_at(bank_copy, CODING, line, capsys, "YAML syntax")


def test_unknown_competency(bank_copy, capsys):
    path = bank_copy / CODING
    replace_once(path, "competencies: [software-engineering]", "competencies: [software-engineering, deep-magic]")
    line = line_of(path, "deep-magic")
    message = assert_error_at(bank_copy, CODING, line, capsys, "unknown competency", "'deep-magic'")
    assert "pipeline-code-layout" in message  # names the question


def test_duplicate_question_id_across_files_names_both_places(bank_copy, capsys):
    first = bank_copy / CODING
    second = bank_copy / SYSTEM
    append(second, """
  - id: pipeline-code-layout
    text: How would you structure the code of this recommender service?
    stage: system-design
    competencies: [software-engineering]
    difficulty: medium
    alternatives:
      - How do you organise the modules of the serving code?
""")
    first_line = line_of(first, "- id: pipeline-code-layout")
    text = second.read_text()
    dup_line = text[: text.rindex("- id: pipeline-code-layout")].count("\n") + 1
    message = assert_error_at(bank_copy, SYSTEM, dup_line, capsys, "duplicate", "pipeline-code-layout")
    assert f"{first}:{first_line}" in message


def test_missing_text(bank_copy, capsys):
    path = bank_copy / CODING
    replace_once(path, "    text: What unit tests would you write for the preprocessing step?\n", "")
    line = line_of(path, "- id: unit-test-preprocessing")
    message = assert_error_at(bank_copy, CODING, line, capsys, "text", "missing")
    assert "unit-test-preprocessing" in message


def test_follow_up_to_missing_question(bank_copy, capsys):
    path = bank_copy / CODING
    replace_once(path, "follow_ups: [unit-test-preprocessing, config-not-hardcoded]",
                 "follow_ups: [unit-test-preprocessing, no-such-question]")
    assert_error_at(bank_copy, CODING, line_of(path, "no-such-question"), capsys, "follow-up", "'no-such-question'")


def test_red_flag_probe_to_missing_question(bank_copy, capsys):
    path = bank_copy / "red_flags.yaml"
    replace_once(path, "probes: [monitor-deployed-model, useful-model-alerts, responding-to-drift]",
                 "probes: [monitor-deployed-model, no-such-probe, responding-to-drift]")
    line = line_of(path, "no-such-probe")
    message = assert_error_at(bank_copy, "red_flags.yaml", line, capsys, "probe", "'no-such-probe'")
    assert "no-monitoring" in message


def test_unknown_field_typo(bank_copy, capsys):
    path = bank_copy / CODING
    replace_once(path, "    alternatives:\n", "    alternatvies:\n")
    assert_error_at(bank_copy, CODING, line_of(path, "alternatvies:"), capsys, "alternatvies", "unknown field")


def test_bad_id_format(bank_copy, capsys):
    path = bank_copy / SYSTEM
    replace_once(path, "  - id: cross-team-data-dependency\n", "  - id: Cross_Team_Data\n")
    assert_error_at(bank_copy, SYSTEM, line_of(path, "Cross_Team_Data"), capsys, "id", "lowercase")


def test_unknown_stage(bank_copy, capsys):
    path = bank_copy / CODING
    replace_once(path, "    stage: coding-challenge\n", "    stage: coding-challange\n")
    line = line_of(path, "coding-challange")
    message = assert_error_at(bank_copy, CODING, line, capsys, "unknown stage", "coding-challange")
    assert "coding-challenge" in message  # lists the known stages


def test_missing_role_file_is_an_error_without_traceback(tmp_path, capsys):
    (tmp_path / "empty-role" / "questions").mkdir(parents=True)
    rc, _, err = validate_in_process(tmp_path / "empty-role", capsys)
    assert rc == 1
    assert f"{tmp_path / 'empty-role'}:1:" in err and "role.yaml" in err


# -- warnings: printed, exit 0 -----------------------------------------------------------------


def test_weak_entries_are_warnings_and_exit_0(bank_copy):
    questions = bank_copy / CODING
    long_text = " ".join(["word"] * (MAX_SPOKEN_WORDS + 5)) + "?"
    append(questions, f"""
  - id: lonely-question
    text: How would you package this training script so a colleague can run it?
    stage: coding-challenge
    competencies: [software-engineering]
    difficulty: easy

  - id: rambling-question
    text: {long_text}
    stage: coding-challenge
    competencies: [software-engineering]
    difficulty: hard
    alternatives:
      - A shorter way to ask the rambling question?
""")
    flags = bank_copy / "red_flags.yaml"
    few = MIN_RED_FLAG_EXAMPLES - 5
    examples = "\n".join(f"      - thin example number {i} said by a candidate" for i in range(few))
    append(flags, f"""
  - id: thin-flag
    name: Thin flag
    description: A red flag with too few examples to be reliable.
    examples:
{examples}
""")
    proc = validate(bank_copy)  # the console script: warnings go to stdout
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert f"{bank_copy}: ok" in out
    assert "3 warning(s)" in out

    lonely = problem_lines(out, questions, line_of(questions, "- id: lonely-question"))
    assert any("warning:" in w and "lonely-question" in w and "alternative" in w for w in lonely), out

    long_line = line_of(questions, long_text)
    rambling = problem_lines(out, questions, long_line)
    assert any("warning:" in w and "rambling-question" in w and "too long" in w for w in rambling), out

    text = flags.read_text()
    examples_line = text[: text.index("examples:", text.index("- id: thin-flag"))].count("\n") + 1
    thin = problem_lines(out, flags, examples_line)
    assert any("warning:" in w and "thin-flag" in w and f"{few} examples" in w for w in thin), out

    bank, problems = check_bank(bank_copy)
    assert bank is not None
    assert sorted(p.severity for p in problems) == ["warning"] * 3


# -- schema and roles -----------------------------------------------------------------------------


def test_schema_export_has_question_fields(tmp_path):
    out = tmp_path / "schema.json"
    proc = run_s2q("bank", "schema", "-o", out)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(out.read_text())
    assert set(schema) >= {"role.yaml", "questions/*.yaml", "red_flags.yaml", "compliance.yaml", "neutral.yaml"}
    qfile = schema["questions/*.yaml"]
    question = qfile["$defs"]["Question"]
    assert set(question["properties"]) == {"id", "text", "stage", "competencies", "difficulty", "alternatives",
                                           "follow_ups", "negative_examples"}
    assert set(question["required"]) == {"id", "text", "stage", "competencies", "difficulty"}
    assert question.get("additionalProperties") is False  # typos are errors
    assert question["properties"]["difficulty"]["enum"] == ["easy", "medium", "hard"]
    assert question["properties"]["text"].get("description")  # written for authors


def test_roles_lists_ml_engineer(tmp_path):
    proc = run_s2q("bank", "roles")
    assert proc.returncode == 0, proc.stderr
    assert ROLE in proc.stdout.split()
    assert list_roles() == [r for r in proc.stdout.split()]

    shutil.copytree(SHIPPED, tmp_path / "second-role")
    proc = run_s2q("bank", "roles", "--bank", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["second-role"]
