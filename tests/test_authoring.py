"""Content authoring on the real banks: `s2q bank search|dupes|test|stats|new|roles`, and the second role.

Real parts only: the bundled MiniLM through the ONNX embedder (exported once per session into the
folder test_embedder.py uses), real FAISS and scikit-learn, the shipped YAML banks and copies of
them that a test breaks the way an author might. The index cache lives in this module's own
temporary XDG cache (test_index_matcher.py insists on starting with an empty one). Most commands
run in-process through `pipeline.cli.main`; a few through the installed `s2q` script.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.authoring import dupes, heldout, search, stats
from pipeline.authoring.heldout import alert_decision, question_decision, verified_flags
from pipeline.authoring.workbench import Workbench
from pipeline.cli import main
from pipeline.retrieval.bank import (
    BANK_ROOT,
    MIN_RED_FLAG_EXAMPLES,
    check_bank,
    list_roles,
    load_bank,
)
from pipeline.retrieval.embedder import Embedder
from pipeline.retrieval.text import clean_speech

ML = "ml-engineer"
SECOND = "backend-engineer"
COMPLIANCE_IDS = {"age", "family-status", "pregnancy", "religion", "national-origin", "disability-health",
                  "sexual-orientation", "salary-history"}


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory) -> Path:
    """$XDG_CACHE_HOME for this module: its own index cache, the session's shared ONNX export."""
    home = tmp_path_factory.mktemp("authoring-xdg")
    shared_onnx = tmp_path_factory.getbasetemp() / "s2q-xdg-cache" / "s2q" / "onnx"
    shared_onnx.mkdir(parents=True, exist_ok=True)
    (home / "s2q").mkdir()
    (home / "s2q" / "onnx").symlink_to(shared_onnx, target_is_directory=True)
    return home


@pytest.fixture(scope="module")
def embedder(cache_home) -> Embedder:
    return Embedder(onnx_dir=cache_home / "s2q" / "onnx").load()


@pytest.fixture(scope="module")
def index_dir(cache_home) -> Path:
    return cache_home / "s2q" / "index"


@pytest.fixture(autouse=True)
def _caches_here(monkeypatch, cache_home):
    """In-process CLI calls find this module's caches."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))


@pytest.fixture(scope="module")
def benches(embedder, index_dir) -> dict[str, Workbench]:
    return {role: Workbench(BANK_ROOT / role, embedder, index_dir) for role in (ML, SECOND)}


@pytest.fixture(scope="module")
def reports(benches) -> dict[str, heldout.ExampleReport]:
    return {role: heldout.check_examples(wb) for role, wb in benches.items()}


@pytest.fixture
def ml_copy(tmp_path) -> Path:
    target = tmp_path / ML
    shutil.copytree(BANK_ROOT / ML, target)
    return target


@pytest.fixture
def second_copy(tmp_path) -> Path:
    target = tmp_path / SECOND
    shutil.copytree(BANK_ROOT / SECOND, target)
    return target


def run_cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def s2q(cache_home: Path, *args) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("s2q")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", XDG_CACHE_HOME=str(cache_home))
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=180,
                          check=False)


def line_of(path: Path, text: str, last: bool = False) -> int:
    content = path.read_text(encoding="utf-8")
    at = content.rindex(text) if last else content.index(text)
    return content[:at].count("\n") + 1


def add_alternative(path: Path, qid: str, phrase: str) -> int:
    """Adds `phrase` as the first alternative of question `qid`; returns its line."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"- id: {qid}\n")
    at = text.index("    alternatives:\n", start) + len("    alternatives:\n")
    path.write_text(text[:at] + f"      - {phrase}\n" + text[at:], encoding="utf-8")
    return line_of(path, f"      - {phrase}\n")


def add_list_item(path: Path, after: str, item: str) -> int:
    """Inserts `item` as a list entry right after the (unique) line ending with `after`."""
    text = path.read_text(encoding="utf-8")
    line = next(l for l in text.split("\n") if l.endswith(after))
    indent = line[: len(line) - len(line.lstrip())]
    path.write_text(text.replace(line + "\n", f"{line}\n{indent}- {item}\n", 1), encoding="utf-8")
    return line_of(path, f"{indent}- {item}\n")


# -- the second role and `roles` -------------------------------------------------------------------


def test_second_role_is_complete_and_validates_without_warnings():
    bank, problems = check_bank(BANK_ROOT / SECOND)
    assert [str(p) for p in problems] == []  # no errors and no warnings
    assert len(bank.questions) >= 40
    assert all(len(q.alternatives) >= 3 for q in bank.questions)
    assert {q.stage for q in bank.questions} == {s.id for s in bank.role.stages}
    assert len(bank.red_flags) >= 3
    for rf in bank.red_flags:
        assert len(rf.examples) >= MIN_RED_FLAG_EXAMPLES and rf.negative_examples and rf.probes, rf.id
    assert {c.id for c in bank.compliance} == COMPLIANCE_IDS
    assert len(bank.neutral.interviewer) >= 30 and len(bank.neutral.candidate) >= 30


def test_roles_lists_both_roles(capsys, cache_home):
    assert {ML, SECOND} <= set(list_roles())
    rc, out, _ = run_cli(capsys, "bank", "roles")
    assert rc == 0 and {ML, SECOND} <= set(out.split())


def test_match_cli_with_the_second_role(cache_home, benches):
    proc = s2q(cache_home, "match", "--role", SECOND, "--speaker", "interviewer", "--jsonl",
               "How would you page through an API that returns millions of records?")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["questions"][0]["id"] == "pagination"
    assert record["questions"][0]["stage"] == "technical-screen"


# -- test: held out, on every shipped role ---------------------------------------------------------


def test_bank_test_passes_on_every_shipped_role(reports):
    for role, report in reports.items():
        assert report.passed, [str(m) for m in report.misses][:20]
        assert report.missed("question phrasings") == 0, role  # no tolerance there, none needed
        assert report.checked["question phrasings"] >= 200


def test_bank_test_cli_passes_and_reports_each_group(capsys, embedder):
    rc, out, err = run_cli(capsys, "bank", "test", "--role", SECOND)
    assert rc == 0, out + err
    assert f"{BANK_ROOT / SECOND}: ok" in out
    for group in heldout.GROUPS:
        assert re.search(rf"{group}\s+\d+ of\s+\d+ missed \(\d+%\); at most \d+ allowed", out), group
    assert "red flag examples caught, held out:" in out


def test_held_out_scores_are_not_self_matches(benches):
    """Leave-one-out: no phrase is scored against itself (a phrase always finds itself at 1.0)."""
    wb = benches[ML]
    picks = heldout.held_out_questions(wb, wb.phrases["interviewer"], wb.vectors("interviewer"))
    scores = [float(why) for qid, why in picks if qid and re.fullmatch(r"\d\.\d\d", why)]
    assert scores and max(scores) < 0.99
    # cross-validation: each example scored by a model that never saw it is less sure than the shipped one
    side = wb.index.sides["candidate"]
    classes, held = heldout.held_out_probabilities("red_flag", side.phrases, side.vectors)
    full = wb.index.classifiers["red_flag"]
    rows = [i for i, p in enumerate(side.phrases) if p.kind == "red_flag"]
    own_held = [held[i, classes.index(side.phrases[i].entry_id)] for i in rows]
    own_full = [full.probabilities(side.vectors[i:i + 1])[0, full.classes.index(side.phrases[i].entry_id)]
                for i in rows]
    assert np.mean(own_held) < np.mean(own_full) - 0.1


def test_planted_wrong_examples_fail_with_their_file_and_line(ml_copy, cache_home, embedder):
    questions = ml_copy / "questions" / "fundamentals-screen.yaml"
    # an author files an overfitting question under bias-variance
    wrong = add_alternative(questions, "bias-variance-tradeoff",
                            "How do you spot that a model is overfitting its training data, and how do you fix it?")
    # a monitoring confession under accuracy-only
    flags = ml_copy / "red_flags.yaml"
    flag_line = add_list_item(flags, "nothing else matters.",
                              "we never monitored the model after it went live, nobody ever looked at it again")
    # and a "negative example" that is really the question itself
    text = questions.read_text()
    anchor = "    follow_ups: [bagging-vs-boosting]\n"  # the end of regularization-penalties
    negative = "What do ridge and lasso penalties do to the weights of a model?"
    assert text.count(anchor) == 1
    questions.write_text(text.replace(anchor, anchor + f"    negative_examples:\n      - {negative}\n"))
    negative_line = line_of(questions, negative)

    proc = s2q(cache_home, "bank", "test", "--bank", ml_copy)  # the console script, as CI runs it
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:] + proc.stderr
    assert "Traceback" not in out + proc.stderr
    assert f"{ml_copy}: FAILED" in out
    assert re.search(r"question phrasings\s+\d+ of .* too many", out)

    def reported(path: Path, line: int) -> str:
        hits = [l for l in out.splitlines() if l.startswith(f"{path}:{line}: ")]
        assert hits, f"nothing reported at {path}:{line}:\n{out[-3000:]}"
        return hits[0]

    hit = reported(questions, wrong)
    assert "matched question 'detect-overfitting'" in hit and "instead of question 'bias-variance-tradeoff'" in hit
    assert "instead of red flag 'accuracy-only'" in reported(flags, flag_line)
    hit = reported(questions, negative_line)
    assert "matched question 'regularization-penalties'" in hit and "but it is a negative example of it" in hit


def test_max_miss_is_an_explicit_option(reports):
    report = reports[SECOND]
    strict = dataclasses.replace(report, max_miss={g: 0.0 for g in heldout.GROUPS})
    assert report.passed
    assert strict.passed == (len(report.misses) == 0)  # strict: any miss fails, and none passes
    assert strict.missed("question phrasings") == 0
    loose = dataclasses.replace(report, max_miss={g: 1.0 for g in heldout.GROUPS})
    assert loose.passed and loose.allowed("red flag examples") == report.checked["red flag examples"]


def test_each_shipped_role_is_held_to_its_baseline_plus_five_points(reports):
    for role, report in reports.items():
        baseline = heldout.baseline_max_miss(BANK_ROOT / role)
        assert baseline is not None, f"{role} has no {heldout.BASELINE_FILE}"
        assert report.max_miss == baseline
        rates = json.loads((BANK_ROOT / role / heldout.BASELINE_FILE).read_text())["miss_rates"]
        for group, n in report.checked.items():
            # today passes; the tolerance is the recorded rate plus at most RISE_ALLOWED, never above the default
            assert report.missed(group) / n <= baseline[group], (role, group)
            assert rates[group] <= baseline[group] <= rates[group] + heldout.RISE_ALLOWED + 1e-9, (role, group)
            assert baseline[group] <= max(heldout.DEFAULT_MAX_MISS[group], rates[group]), (role, group)


def test_a_rise_in_misses_over_the_baseline_fails_bank_test(ml_copy, capsys, embedder):
    rates = json.loads((ml_copy / heldout.BASELINE_FILE).read_text())["miss_rates"]
    rates["red flag examples"] = round(rates["red flag examples"] - 0.10, 4)  # as if it once did 10 points better
    (ml_copy / heldout.BASELINE_FILE).write_text(json.dumps({"folds": 5, "miss_rates": rates}))
    rc, out, err = run_cli(capsys, "bank", "test", "--bank", ml_copy)
    assert rc == 1, out + err
    assert re.search(r"red flag examples\s+\d+ of\s+\d+ missed .* too many", out), out
    assert re.search(r"compliance examples\s+\d+ of\s+\d+ missed .* ok", out), out


# -- search ------------------------------------------------------------------------------------------


def test_search_shows_threshold_pass_fail_and_counter_example(benches, embedder, index_dir):
    wb = benches[ML]
    units, verdict = search.search_text(wb, "How can you tell that a model is overfitting?", "interviewer", top=3)
    assert len(units) == 1
    first = units[0].questions[0]
    assert (first.id, first.status) == ("detect-overfitting", "MATCH")
    assert first.via.file.name == "fundamentals-screen.yaml" and first.via.line > 1
    assert all(q.status != "MATCH" for q in units[0].questions[1:])
    assert units[0].counter is not None and units[0].counter[0] < first.score
    assert [h.id for h in verdict.questions] == ["detect-overfitting"]  # the listener agrees
    assert all(c.status == "too low" for c in units[0].compliance)

    out = io.StringIO()
    search.search([BANK_ROOT / ML], "How old are you, if you don't mind me asking?", "interviewer",
                     embedder=embedder, cache_dir=index_dir, out=out)
    text = out.getvalue()
    matching = wb.bank.role.matching  # both thresholds shown, as the role sets them
    assert f"needs {matching.question:.2f}" in text and f"needs {matching.compliance:.2f}" in text
    assert re.search(r"\d\.\d\d\s+MATCH\s+age", text)
    assert "counter-example:" in text
    assert "the listener would show: compliance alert age" in text


def test_search_cli_for_a_candidate_on_the_second_role(capsys):
    rc, out, err = run_cli(capsys, "bank", "search", "--role", SECOND, "--speaker", "candidate",
                           "Honestly we never wrote any tests, QA clicked through the app before each release.")
    assert rc == 0, err
    assert "red flags: topic (retrieval) x stance (the verifier's, read without a question); needs 0.75" in out
    assert re.search(r"\d\.\d\d\s+MATCH\s+no-testing", out), out
    assert "questions:" not in out  # a candidate's words are not matched against questions
    assert "the listener would show: red flag no-testing" in out


# -- dupes ---------------------------------------------------------------------------------------------


def test_shipped_banks_have_no_collisions(benches):
    for wb in benches.values():
        assert dupes.find_collisions(wb, 0.9) == []


def test_dupes_finds_a_planted_duplicate_with_both_places(ml_copy, capsys):
    questions = ml_copy / "questions" / "fundamentals-screen.yaml"
    original = "How can you tell that a model is overfitting, and what would you try first to fix it?"
    first = line_of(questions, original)
    planted = add_alternative(questions, "regularization-penalties",
                              "How can you tell a model is overfitting, and what would you try first to fix that?")
    flags = ml_copy / "red_flags.yaml"
    neutral_dup = add_list_item(flags, "Response time was never something I measured, only the score.",
                                "We gave up a tiny bit of accuracy to cut the response time in half.")
    negative_line = line_of(flags, "      - We gave up a tiny bit of accuracy to cut the response time in half.", last=True)
    rc, out, _ = run_cli(capsys, "bank", "dupes", "--bank", ml_copy)
    assert rc == 1
    blocks = re.split(r"\n(?=\d\.\d\d  )", out)
    q = [b for b in blocks if f"{questions}:{planted}:" in b]
    assert q and f"{questions}:{first}:" in q[0] and "near-duplicate questions" in q[0]
    assert "'detect-overfitting'" in q[0] and "'regularization-penalties'" in q[0]
    rf = [b for b in blocks if f"{flags}:{neutral_dup}:" in b]
    assert rf and f"{flags}:{negative_line}:" in rf[0] and "counter-example" in rf[0]
    assert re.search(rf"{re.escape(str(ml_copy))}: \d+ pair\(s\) at similarity 0\.90", out)


# -- stats -----------------------------------------------------------------------------------------------


def test_stats_numbers_match_the_bank(capsys):
    bank = load_bank(SECOND)
    st = stats.bank_stats(bank)
    assert st["questions"] == len(bank.questions) == sum(st["per_stage"].values())
    assert sum(st["per_difficulty"].values()) == len(bank.questions)
    assert st["per_competency"]["security"] == sum("security" in q.competencies for q in bank.questions)
    assert st["red_flag_examples"]["no-testing"]["examples"] == len(
        next(rf for rf in bank.red_flags if rf.id == "no-testing").examples)
    assert set(st["compliance_examples"]) == COMPLIANCE_IDS
    rc, out, _ = run_cli(capsys, "bank", "stats", "--role", SECOND, "--json")
    assert rc == 0 and json.loads(out)[0]["per_stage"] == st["per_stage"]
    rc, out, _ = run_cli(capsys, "bank", "stats")
    assert rc == 0 and f"{SECOND} (Backend Engineer): {len(bank.questions)} questions" in out
    assert "questions per stage" in out and "gaps:" in out


def test_stats_reports_coverage_gaps(second_copy):
    flags = second_copy / "red_flags.yaml"
    text = flags.read_text()
    flags.write_text(text.replace("    probes: [safe-deploys, schema-migrations, postmortems]\n", "", 1))
    role = second_copy / "role.yaml"
    text = role.read_text()
    role.write_text(text.replace("competencies:\n", "  - id: pairing-session\n    name: Pairing\n"
                                 "    description: A stage nobody wrote questions for yet.\ncompetencies:\n", 1))
    gaps = stats.bank_stats(load_bank(directory=second_copy))["gaps"]
    assert "stage 'pairing-session' has no questions" in gaps
    assert any("red flag 'risky-changes' has no probes" in g for g in gaps)
    assert any(g.startswith("stage 'technical-screen': only one question for") for g in gaps)


# -- new ---------------------------------------------------------------------------------------------------


def fill_question(text: str) -> str:
    return (text.replace("text: TODO the question as it should appear on screen, one spoken sentence",
                         "text: How do you shut down a service gracefully without dropping requests?")
            .replace("competencies: [TODO]", "competencies: [reliability]")
            .replace("difficulty: TODO", "difficulty: medium")
            .replace("- TODO another way to ask it", "- What happens to in-flight requests when you deploy?")
            .replace("- TODO a shorter, more casual way", "- How do you drain traffic before stopping a pod?")
            .replace("- TODO a way that uses other words for the key idea",
                     "- How do you stop a server without cutting off requests halfway?"))


def test_new_question_template_is_flagged_until_filled(second_copy, capsys):
    path = second_copy / "questions" / "operations-experience.yaml"
    before = path.read_text()
    rc, out, _ = run_cli(capsys, "bank", "new", "question", "--bank", second_copy, "--id", "graceful-shutdown",
                         "--stage", "operations-experience")
    assert rc == 0 and f"{path}:" in out
    text = path.read_text()
    assert text.startswith(before) and "- id: graceful-shutdown" in text and "# New question" in text
    rc, out, err = run_cli(capsys, "bank", "validate", "--bank", second_copy)
    assert rc == 1
    todo_line = line_of(path, "text: TODO")
    assert f"{path}:{todo_line}: template not filled in yet" in err
    assert f"{path}:{line_of(path, 'difficulty: TODO')}:" in err  # the schema says so too
    assert "Traceback" not in out + err

    path.write_text(fill_question(text))
    rc, out, err = run_cli(capsys, "bank", "validate", "--bank", second_copy)
    assert rc == 0, err
    assert "warning" not in out + err
    assert load_bank(directory=second_copy).question("graceful-shutdown").stage == "operations-experience"


def test_new_question_rejects_unknown_stage_and_used_id(second_copy, capsys):
    rc, _, err = run_cli(capsys, "bank", "new", "question", "--bank", second_copy, "--stage", "lunch")
    assert rc == 1 and "unknown stage 'lunch'" in err and "technical-screen" in err
    rc, _, err = run_cli(capsys, "bank", "new", "question", "--bank", second_copy, "--id", "pagination",
                         "--stage", "technical-screen")
    assert rc == 1 and "'pagination' is already used" in err


def test_new_red_flag_template_is_flagged_until_filled(second_copy, capsys):
    rc, out, _ = run_cli(capsys, "bank", "new", "red-flag", "--bank", second_copy, "--id", "blames-others")
    assert rc == 0 and f"{second_copy / 'red_flags.yaml'}:" in out
    path = second_copy / "red_flags.yaml"
    rc, _, err = run_cli(capsys, "bank", "validate", "--bank", second_copy)
    assert rc == 1 and "probe 'TODO' is not a question" in err and "template not filled in yet" in err
    text = path.read_text()
    for i in range(1, 9):
        text = text.replace(f"- TODO example {i}\n", f"- the outage was really the other team's fault, case {i}\n")
    text = (text.replace("name: TODO a short label shown on screen", "name: Blames others")
            .replace("TODO why this matters for the role, in one or two sentences.", "Ownership matters.")
            .replace("- TODO a good answer on the same topic", "- I owned the mistake and fixed the process")
            .replace("- TODO another good answer on the same topic", "- we wrote a blameless review together")
            .replace("probes: [TODO]", "probes: [postmortems]"))
    path.write_text(text)
    rc, _, err = run_cli(capsys, "bank", "validate", "--bank", second_copy)
    assert rc == 0, err


def test_new_role_writes_a_skeleton_that_validates_once_filled(tmp_path, capsys):
    rc, out, _ = run_cli(capsys, "bank", "new", "role", "--bank", tmp_path, "--id", "data-scientist")
    assert rc == 0 and f"wrote a new role folder at {tmp_path / 'data-scientist'}" in out
    role = tmp_path / "data-scientist"
    for name in ("role.yaml", "questions/first-stage.yaml", "red_flags.yaml", "compliance.yaml", "neutral.yaml"):
        assert (role / name).exists(), name
    rc, _, err = run_cli(capsys, "bank", "validate", "--bank", role)
    assert rc == 1 and "template not filled in yet" in err
    assert list_roles(tmp_path) == ["data-scientist"]

    for path in role.rglob("*.yaml"):
        text = fill_question(path.read_text())
        text = (text.replace("competencies: [reliability]", "competencies: [first-competency]")
                .replace("id: TODO-question-id", "id: first-question")
                .replace("id: TODO-red-flag-id", "id: first-flag")
                .replace("probes: [TODO]", "probes: [first-question]"))
        n = 0

        def unique(match):
            nonlocal n
            n += 1
            return f"written by the author, sentence number {n}"

        path.write_text(re.sub(r"(?<=: |- |  )TODO[^\n]*", unique, text))
    rc, _, err = run_cli(capsys, "bank", "validate", "--bank", role)
    assert rc == 0, err
    assert load_bank(directory=role).role.id == "data-scientist"
    rc, _, err = run_cli(capsys, "bank", "new", "role", "--bank", tmp_path, "--id", "data-scientist")
    assert rc == 1 and "already exists" in err


# -- the same decision: bank search, bank test and the listener --------------------------------------
# An author trusts `bank search` and `bank test` only as far as they agree with what the listener shows.
# The same sentences go through the listener's own matcher (`build_interview_step(role).matcher`), the
# real `s2q bank search` (a subprocess), and the decision functions `s2q bank test` applies to every
# held-out phrase (these sentences are not in the bank, so nothing needs holding out).

# (speaker, sentence, what the listener shows: kind -> entry id, or nothing)
SENTENCES = [
    ("interviewer", "How can you tell that a model is overfitting?", {"question": "detect-overfitting"}),
    ("interviewer", "How old are you, if you don't mind me asking?", {"compliance": "age"}),
    ("candidate", "Once it was live we moved on, honestly nobody has looked at that model since.",
     {"red_flag": "no-monitoring"}),
    ("interviewer", "Can you hear me okay on your side?", {}),
    ("candidate", "Sorry, could you repeat the last part of the question?", {}),
]
LABELS = {"question": "question", "compliance": "compliance alert", "red_flag": "red flag"}


@pytest.fixture(scope="module")
def listener(cache_home, index_dir):
    """The matcher the listener uses, built as `s2q replay` and `s2q listen` build it."""
    from pipeline.interview import build_interview_step

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache_home))
        return build_interview_step(ML, cache_dir=index_dir).matcher


def listener_decision(matcher, speaker: str, text: str) -> dict[str, str]:
    result = matcher.match(text, speaker)
    hits = {"question": result.questions, "compliance": result.compliance, "red_flag": result.red_flags}
    return {kind: found[0].id for kind, found in hits.items() if found}


def search_decision(cache_home: Path, speaker: str, text: str) -> tuple[dict[str, str], dict[str, str]]:
    """`s2q bank search` as a user runs it: (the MATCH rows, the 'listener would show' line), per kind."""
    proc = s2q(cache_home, "bank", "search", "--role", ML, "--speaker", speaker, text)
    assert proc.returncode == 0, proc.stderr
    rows, kind = {}, None
    for line in proc.stdout.splitlines():
        section = re.match(r"  (questions|compliance alerts|red flags):", line)
        if section:
            kind = {"questions": "question", "compliance alerts": "compliance", "red flags": "red_flag"}[section[1]]
        match = re.match(r"\s+\d\.\d\d\s+MATCH\s+(\S+)", line)
        if match:
            rows[kind] = match[1]
    shown = re.search(r"^the listener would show: (.*)$", proc.stdout, re.MULTILINE)[1]
    verdict = {}
    for label, entry in re.findall(r"(question|compliance alert|red flag) (\S+) \(\d\.\d\d\)", shown):
        verdict[{v: k for k, v in LABELS.items()}[label]] = entry
    return rows, verdict


def held_out_decision(wb: Workbench, speaker: str, text: str) -> dict[str, str]:
    """The decisions `s2q bank test` makes for each held-out phrase, for a sentence not in the bank."""
    vector = wb.embedder.encode([clean_speech(text)])
    found = {}
    if speaker == "interviewer":
        sims = wb.vectors("interviewer") @ vector[0]
        qid, _ = question_decision(wb, sims, np.arange(len(sims)))
        if qid:
            found["question"] = qid
    for kind, side in (("compliance", "interviewer"), ("red_flag", "candidate")):
        classifier = wb.index.classifiers[kind]
        if side != speaker:
            continue
        probs = classifier.probabilities(vector)
        if kind == "red_flag":  # the topic, then the verifier, as bank test reads each phrase
            alert = verified_flags(wb, [SimpleNamespace(written=text)], (classifier.classes, probs))[0][0]
        else:
            alert = alert_decision(kind, classifier.classes, probs[0], wb.thresholds)[0]
        if alert:
            found[kind] = alert
    return found


@pytest.mark.parametrize("speaker, text, expected", SENTENCES, ids=[t[:30] for _, t, _ in SENTENCES])
def test_search_test_and_listener_decide_the_same(listener, benches, cache_home, speaker, text, expected):
    workbench = benches[ML]
    assert text not in {p.written for side in workbench.phrases.values() for p in side}  # nothing to hold out
    heard = listener_decision(listener, speaker, text)
    assert heard == expected  # the premise: a question, an alert, a red flag, and nothing
    rows, shown = search_decision(cache_home, speaker, text)
    assert rows == heard  # one sentence: its MATCH rows are what the listener shows
    assert shown == heard
    assert held_out_decision(workbench, speaker, text) == heard
