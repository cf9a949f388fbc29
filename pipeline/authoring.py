"""What content authors run on the question bank: validate, build, search, dupes, test, stats, new, schema.

The CLI (`s2q bank ...`) only parses arguments; the logic lives here. docs/authoring.md is the guide.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from pipeline.retrieval.bank import (
    BANK_ROOT,
    DEFAULT_ROLE,
    BankError,
    Problem,
    check_bank,
    check_id,
    list_roles,
    role_dir,
)


def role_dirs(bank: Path | None, role: str | None) -> list[Path]:
    """`--bank` may name one role folder or a bank root holding several."""
    root = Path(bank) if bank else BANK_ROOT
    if (root / "role.yaml").exists():
        return [root]
    if role:
        return [role_dir(role, root)]  # refuses ids like ../other or /abs (retrieval/bank.py)
    roles = list_roles(root)
    if not roles:
        raise BankError([Problem(root, 1, "no role folders (with a role.yaml) found here")])
    return [root / r for r in roles]


def validate(dirs: Iterable[Path], out: IO[str] | None = None) -> int:
    """Prints every problem as `file:line: message`; exit status 1 when any is an error."""
    out = out or sys.stdout
    failed = False
    for directory in dirs:
        try:
            bank, problems = check_bank(directory)
        except BankError as exc:
            bank, problems = None, exc.problems
        unfilled = template_markers(directory) if (Path(directory) / "role.yaml").exists() else []
        if unfilled:  # templates from `s2q bank new` that still hold a TODO
            problems = sorted([*problems, *unfilled], key=lambda p: (str(p.file), p.line))
            bank = None
        for p in problems:
            print(p, file=sys.stderr if p.severity == "error" else out)
        if bank is None:
            failed = True
            errors = sum(p.severity == "error" for p in problems)
            print(f"{directory}: {errors} error(s)", file=sys.stderr)
        else:
            warnings = len(problems)
            print(
                f"{directory}: ok — {len(bank.questions)} questions, {len(bank.red_flags)} red flags, "
                f"{len(bank.compliance)} compliance alerts" + (f", {warnings} warning(s)" if warnings else ""),
                file=out,
            )
    return 1 if failed else 0


def build(dirs: Iterable[Path], cache_dir: Path | None = None, out: IO[str] | None = None) -> int:
    """Validates, then embeds and indexes. An invalid bank never touches the cache."""
    out = out or sys.stdout
    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import Embedder
    from pipeline.retrieval.index import BankIndex

    banks = [load_bank(directory=directory) for directory in dirs]  # all valid before any cache work
    embedder = Embedder().load()
    for bank in banks:
        index = BankIndex.build(bank, embedder, cache_dir)
        state = f"built ({index.embedded} phrases embedded)" if index.rebuilt else "up to date"
        sizes = ", ".join(f"{side}: {len(ix.phrases)}" for side, ix in index.sides.items())
        print(f"{bank.role.id}: index {state} [{sizes}] key {index.key}", file=out)
    return 0


def export_schema(path: Path | None, out: IO[str] | None = None) -> int:
    from pipeline.retrieval.schema import json_schema

    out = out or sys.stdout

    text = json.dumps(json_schema(), indent=2) + "\n"
    if path:
        from pipeline.outfile import write_text  # a missing folder or full disk: one line, not a traceback

        write_text(path, text)
        print(f"wrote {path}", file=out)
    else:
        out.write(text)
    return 0


def match_lines(matcher, speaker: str, lines: Iterable[str], as_json: bool, out: IO[str] | None = None) -> int:
    """One result per input line: JSON lines, or a short readable summary."""
    out = out or sys.stdout
    for line in lines:
        text = line.strip()
        if not text:
            continue
        result = matcher.match(text, speaker)
        bank = matcher.index.bank
        record = {
            "text": text,
            "speaker": speaker,
            "questions": [
                {"id": h.id, "score": h.score, "stage": bank.question(h.id).stage,
                 "competencies": list(bank.question(h.id).competencies)}
                for h in result.questions
            ],
            "red_flags": [{"id": h.id, "score": h.score} for h in result.red_flags],
            "compliance": [{"id": h.id, "score": h.score} for h in result.compliance],
        }
        if as_json:
            out.write(json.dumps(record) + "\n")
            out.flush()
            continue
        found = [(k, h) for k in ("questions", "compliance", "red_flags") for h in record[k]]
        if not found:
            print(f"{text}\n  nothing matched", file=out)
        else:
            print(text, file=out)
            for kind, h in found:
                label = {"questions": "question", "compliance": "compliance", "red_flags": "red flag"}[kind]
                print(f"  {label}: {h['id']} ({h['score']:.2f})", file=out)
    return 0


def default_role() -> str:
    return DEFAULT_ROLE


# == working on one role: its bank, index, and where each phrase is written ==========================


@dataclass(frozen=True)
class Located:
    """One phrase of the bank, where it is written, and what it stands for."""

    text: str  # as written in the YAML
    kind: str  # question | compliance | red_flag | none (a counter-example)
    entry_id: str  # the entry it belongs to ('' for neutral lines)
    field: str  # text, alternative, example, negative example, lawful alternative, neutral line
    file: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def describe(self) -> str:
        """'question `x` (alternative)', 'neutral line', 'negative example of red flag `y`'."""
        if self.kind != "none":
            return f"{KIND_NAMES[self.kind]} '{self.entry_id}' ({self.field})"
        if not self.entry_id:
            return "neutral line"
        return f"{self.field} of '{self.entry_id}'"


KIND_NAMES = {"question": "question", "compliance": "compliance alert", "red_flag": "red flag"}


def locate_phrases(directory: Path, bank) -> dict[str, list[Located]]:
    """Every phrase of the bank with its file and line, in the order of `index.bank_phrases` (same rows)."""
    from pipeline.retrieval.bank import _Located

    directory = Path(directory)
    interviewer: list[Located] = []
    candidate: list[Located] = []
    questions = iter(bank.questions)
    for path in sorted((directory / "questions").glob("*.yaml")):
        loc = _Located(path)
        for i, _ in enumerate((loc.data or {}).get("questions") or []):
            q = next(questions)
            at = ("questions", i)
            interviewer.append(Located(q.text, "question", q.id, "text", path, loc.line(at + ("text",))))
            interviewer += [Located(t, "question", q.id, "alternative", path, loc.line(at + ("alternatives", j)))
                            for j, t in enumerate(q.alternatives)]
            interviewer += [Located(t, "none", q.id, "negative example", path,
                                    loc.line(at + ("negative_examples", j))) for j, t in enumerate(q.negative_examples)]
    path = directory / "compliance.yaml"
    if bank.compliance:
        loc = _Located(path)
        for i, c in enumerate(bank.compliance):
            at = ("compliance", i)
            interviewer += [Located(t, "compliance", c.id, "example", path, loc.line(at + ("examples", j)))
                            for j, t in enumerate(c.examples)]
            interviewer += [Located(t, "none", c.id, "negative example", path,
                                    loc.line(at + ("negative_examples", j))) for j, t in enumerate(c.negative_examples)]
            if c.alternative:
                interviewer.append(Located(c.alternative, "none", c.id, "lawful alternative", path,
                                           loc.line(at + ("alternative",))))
    path = directory / "neutral.yaml"
    neutral = _Located(path) if path.exists() else None
    interviewer += [Located(t, "none", "", "neutral line", path, neutral.line(("interviewer", j)))
                    for j, t in enumerate(bank.neutral.interviewer)]
    path = directory / "red_flags.yaml"
    if bank.red_flags:
        loc = _Located(path)
        for i, rf in enumerate(bank.red_flags):
            at = ("red_flags", i)
            candidate += [Located(t, "red_flag", rf.id, "example", path, loc.line(at + ("examples", j)))
                          for j, t in enumerate(rf.examples)]
            candidate += [Located(t, "none", rf.id, "negative example", path,
                                  loc.line(at + ("negative_examples", j))) for j, t in enumerate(rf.negative_examples)]
    path = directory / "neutral.yaml"
    candidate += [Located(t, "none", "", "neutral line", path, neutral.line(("candidate", j)))
                  for j, t in enumerate(bank.neutral.candidate)]
    return {"interviewer": interviewer, "candidate": candidate}


class Workbench:
    """One role's bank, its (cached) index and the place of every phrase: what search, dupes and test use."""

    def __init__(self, directory: Path, embedder=None, cache_dir: Path | None = None) -> None:
        from pipeline.retrieval.bank import load_bank
        from pipeline.retrieval.embedder import Embedder
        from pipeline.retrieval.index import SIDES, BankIndex

        self.directory = Path(directory)
        self.bank = load_bank(directory=self.directory)
        self.embedder = (embedder or Embedder()).load()
        self.index = BankIndex.build(self.bank, self.embedder, cache_dir)
        self.phrases = locate_phrases(self.directory, self.bank)
        for side in SIDES:  # the same rows as the index, so its vectors can be used as they are
            indexed = self.index.sides[side].phrases
            if len(indexed) != len(self.phrases[side]) or any(
                    (p.kind, p.entry_id) != (q.kind, q.entry_id) for p, q in zip(indexed, self.phrases[side])):
                raise RuntimeError(f"{side}: the located phrases and the index rows differ (a bug)")

    @property
    def thresholds(self):
        return self.bank.role.matching

    def vectors(self, side: str) -> np.ndarray:
        return self.index.sides[side].vectors

    def cleaned(self, side: str) -> list[str]:
        return [p.text for p in self.index.sides[side].phrases]


def _workbenches(dirs: Iterable[Path], embedder=None, cache_dir: Path | None = None) -> Iterator[Workbench]:
    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import Embedder

    dirs = list(dirs)
    for directory in dirs:  # every bank valid before any model or cache work
        load_bank(directory=directory)
    embedder = (embedder or Embedder()).load()
    for directory in dirs:
        yield Workbench(directory, embedder, cache_dir)


def _quote(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return '"' + (text if len(text) <= width else text[: width - 1] + "…") + '"'


# == search: what the listener would match for a sentence ==========================================


@dataclass
class Scored:
    kind: str
    id: str
    score: float
    status: str  # MATCH, not best, too low, counter (a counter-example is closer)
    via: Located | None = None  # questions: the closest phrasing


@dataclass
class UnitSearch:
    """One sentence (or the whole text) as the listener checks it."""

    text: str
    questions: list[Scored] = field(default_factory=list)
    counter: tuple[float, Located] | None = None  # the closest counter-example, for questions
    compliance: list[Scored] = field(default_factory=list)
    red_flags: list[Scored] = field(default_factory=list)


def search_text(wb: Workbench, text: str, speaker: str, top: int = 3):
    """Top candidates of each kind for every unit the listener checks, and the listener's own verdict."""
    from pipeline.retrieval.index import AlertClassifier
    from pipeline.retrieval.matcher import Matcher
    from pipeline.retrieval.text import clean_speech, split_sentences

    th = wb.thresholds
    sides = ["interviewer", "candidate"] if speaker == "unknown" else [speaker]
    units = split_sentences(text)
    vectors = wb.embedder.encode([clean_speech(u) for u in units]) if units else np.zeros((0, 384), np.float32)
    results = []
    for unit, vec in zip(units, vectors):
        found = UnitSearch(unit)
        if "interviewer" in sides:
            phrases = wb.phrases["interviewer"]
            sims = wb.vectors("interviewer") @ vec
            best: dict[str, tuple[float, int]] = {}
            counter = None
            for row in np.argsort(-sims, kind="stable"):
                p = phrases[row]
                if p.kind == "question" and p.entry_id not in best:
                    best[p.entry_id] = (float(sims[row]), int(row))
                elif p.kind == "none" and counter is None:
                    counter = (float(sims[row]), p)
                if len(best) >= top and counter is not None:
                    break
            found.counter = counter
            counter_score = counter[0] if counter else -1.0
            for rank, (qid, (score, row)) in enumerate(list(best.items())[:top]):
                if score < th.question:
                    status = "too low"
                elif score - counter_score < th.margin:
                    status = "counter"
                else:
                    status = "MATCH" if rank == 0 else "not best"
                found.questions.append(Scored("question", qid, score, status, phrases[row]))
        for kind, side in AlertClassifier.KINDS.items():
            classifier = wb.index.classifiers.get(kind)
            if side not in sides or classifier is None:
                continue
            probs = classifier.probabilities(vec[None, :])[0]
            ranked = sorted(((float(p), c) for c, p in zip(classifier.classes, probs) if c != "none"), reverse=True)
            threshold = getattr(th, kind)
            rows = [Scored(kind, c, p, ("MATCH" if rank == 0 else "not best") if p >= threshold else "too low")
                    for rank, (p, c) in enumerate(ranked[:top])]
            setattr(found, "compliance" if kind == "compliance" else "red_flags", rows)
        results.append(found)
    verdict = Matcher(wb.index, wb.embedder).match(text, speaker)
    return results, verdict


def search(dirs: Iterable[Path], text: str, speaker: str, top: int = 3, embedder=None,
           cache_dir: Path | None = None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    for wb in _workbenches(dirs, embedder, cache_dir):
        th = wb.thresholds
        units, verdict = search_text(wb, text, speaker, top)
        print(f"role {wb.bank.role.id}, speaker {speaker}  (MATCH: what the listener picks; not best: passes, "
              "but only the best of a kind counts; too low: under the threshold; counter: a counter-example "
              "is closer)", file=out)
        if not units:
            print(f"{_quote(text)}\n  fewer than 3 words (without fillers): the listener does not match it", file=out)
        for n, unit in enumerate(units):
            whole = len(units) > 1 and n == len(units) - 1
            print(_quote(unit.text, 200) + (" (the whole text, also checked)" if whole else ""), file=out)
            if speaker in ("interviewer", "unknown"):
                print(f"  questions: similarity to the closest phrasing; needs {th.question:.2f}, and to beat the "
                      f"closest counter-example by {th.margin:+.2f}", file=out)
                for s in unit.questions:
                    print(f"    {s.score:5.2f}  {s.status:<8}  {s.id}  via {_quote(s.via.text, 60)} {s.via.where}",
                          file=out)
                if unit.counter:
                    score, p = unit.counter
                    print(f"    {score:5.2f}  counter-example: {_quote(p.text, 60)} ({p.describe()}) {p.where}",
                          file=out)
                _print_alerts("compliance alerts", unit.compliance, th.compliance, out)
            if speaker in ("candidate", "unknown"):
                _print_alerts("red flags", unit.red_flags, th.red_flag, out)
        found = [f"question {h.id} ({h.score:.2f})" for h in verdict.questions]
        found += [f"compliance alert {h.id} ({h.score:.2f})" for h in verdict.compliance]
        found += [f"red flag {h.id} ({h.score:.2f})" for h in verdict.red_flags]
        print("the listener would show: " + (", ".join(found) if found else "nothing"), file=out)
    return 0


def _print_alerts(title: str, rows: list[Scored], threshold: float, out: IO[str]) -> None:
    print(f"  {title}: classifier probability; needs {threshold:.2f}", file=out)
    for s in rows:
        print(f"    {s.score:5.2f}  {s.status:<8}  {s.id}", file=out)


# == dupes: near-duplicates and collisions between entries ============================================


@dataclass
class Collision:
    similarity: float
    a: Located
    b: Located

    @property
    def what(self) -> str:
        if self.a.kind == self.b.kind == "question":
            return "near-duplicate questions"
        if "none" in (self.a.kind, self.b.kind):
            return "an example close to a counter-example"
        return "examples of different entries collide"

    def __str__(self) -> str:
        return (f"{self.similarity:.2f}  {self.what}\n"
                f"      {self.a.where}: {self.a.describe()}: {_quote(self.a.text)}\n"
                f"      {self.b.where}: {self.b.describe()}: {_quote(self.b.text)}")


def find_collisions(wb: Workbench, threshold: float = 0.9) -> list[Collision]:
    """Pairs of phrases that mean nearly the same but stand for different things.

    Different questions' phrasings; examples of different alerts or flags; an example and a
    counter-example (a negative example, of any entry, or a neutral line). Two counter-examples,
    or two phrasings of the same entry, never collide.
    """
    found = []
    for side, phrases in wb.phrases.items():
        vectors = wb.vectors(side)
        if not len(vectors):
            continue
        sims = vectors @ vectors.T
        rows, cols = np.nonzero(np.triu(sims >= threshold, k=1))
        for i, j in zip(rows.tolist(), cols.tolist()):
            a, b = phrases[i], phrases[j]
            if a.kind == b.kind == "none":
                continue
            if a.kind == b.kind and a.entry_id == b.entry_id:
                continue
            found.append(Collision(round(float(sims[i, j]), 4), a, b))
    return sorted(found, key=lambda c: (-c.similarity, c.a.where))


def dupes(dirs: Iterable[Path], threshold: float = 0.9, embedder=None, cache_dir: Path | None = None,
          out: IO[str] | None = None) -> int:
    """Prints every collision at or above the threshold; exit status 1 when there is any."""
    out = out or sys.stdout
    total = 0
    for wb in _workbenches(dirs, embedder, cache_dir):
        found = find_collisions(wb, threshold)
        total += len(found)
        for c in found:
            print(c, file=out)
        print(f"{wb.directory}: {len(found)} pair(s) at similarity {threshold:.2f} or more", file=out)
    return 1 if total else 0


# == test: every example matches its own entry, under leave-one-out ===================================


GROUPS = ("question phrasings", "compliance examples", "red flag examples", "negative examples", "neutral lines")

# Share of each group's phrases that may miss, held out, before `s2q bank test` fails; `--max-miss`
# overrides them all. Measured, not wished for (docs/authoring.md, "How good is good enough"): the shipped
# roles pass every question phrasing, but at the shipped thresholds the classifiers catch only part of
# the examples they have not seen, so those groups get a tolerance a few points above today's rate.
DEFAULT_MAX_MISS = {
    "question phrasings": 0.0,  # ml-engineer 0%, backend-engineer 0%
    "compliance examples": 0.30,  # 26%, 25%
    "red flag examples": 0.75,  # 67%, 61%
    "negative examples": 0.20,  # 15%, 14%
    "neutral lines": 0.05,  # 2%, 0%
}


@dataclass
class Miss:
    phrase: Located
    group: str
    got: str

    def __str__(self) -> str:
        return f"{self.phrase.where}: {_quote(self.phrase.text)} -> {self.got}"


@dataclass
class ExampleReport:
    role: str
    checked: dict[str, int]  # phrases checked per group
    misses: list[Miss]
    max_miss: dict[str, float]  # tolerated share of misses per group
    examples: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, entry id) -> phrasings checked

    def caught(self, kind: str, entry_id: str) -> int:
        """Of an entry's own phrasings (text, alternatives, examples), how many found it, held out."""
        missed = sum(1 for m in self.misses if m.phrase.kind == kind and m.phrase.entry_id == entry_id)
        return self.examples.get((kind, entry_id), 0) - missed

    def missed(self, group: str) -> int:
        return sum(1 for m in self.misses if m.group == group)

    def allowed(self, group: str) -> int:
        return int(self.max_miss.get(group, 0.0) * self.checked.get(group, 0) + 1e-9)

    @property
    def total(self) -> int:
        return sum(self.checked.values())

    @property
    def passed(self) -> bool:
        return all(self.missed(g) <= self.allowed(g) for g in self.checked)


def held_out_probabilities(kind: str, phrases, vectors: np.ndarray, folds: int = 5, seed: int = 0):
    """k-fold cross-validation of the alert classifier: each phrase scored by a model that never saw it.

    Same settings as the shipped classifier (`AlertClassifier.train`). Identical texts stay in one fold.
    Returns (classes, probabilities per phrase) or None when the side has no such alerts.
    """
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    from pipeline.retrieval.index import AlertClassifier

    labels = np.array([p.entry_id if p.kind == kind else "none" for p in phrases])
    classes = sorted(set(labels.tolist()))
    if len(classes) < 2:
        return None
    groups = np.unique([p.text for p in phrases], return_inverse=True)[1]
    probs = np.zeros((len(phrases), len(classes)), np.float32)
    column = {c: i for i, c in enumerate(classes)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes smaller than the number of folds
        splits = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(vectors, labels, groups)
        for train, held in splits:
            model = AlertClassifier.train(kind, [phrases[i] for i in train], vectors[train])
            if model is None:
                continue
            p = model.probabilities(vectors[held])
            for j, c in enumerate(model.classes):
                probs[held, column[c]] = p[:, j]
    return classes, probs


def _top_alert(classes: list[str], probs: np.ndarray) -> tuple[str | None, float]:
    best, score = None, 0.0
    for c, p in zip(classes, probs):
        if c != "none" and p > score:
            best, score = c, float(p)
    return best, score


def check_examples(wb: Workbench, folds: int = 5, max_miss: dict[str, float] | float | None = None) -> ExampleReport:
    """Runs the bank's own phrases through the listener's decisions without letting a phrase find itself.

    Questions: nearest neighbour over every other phrasing (the phrase's own row, and rows with the same
    words, are left out), with the role's threshold and margin. Red flags and compliance alerts: each
    phrase scored by a classifier trained, with the shipped settings, on the other folds only.
    Expected: a question phrasing finds its own question and fires no alert; an alert or red-flag
    example fires that entry only (and no question); a negative example never matches its own entry;
    a neutral line matches nothing.
    """
    if max_miss is None:
        max_miss = DEFAULT_MAX_MISS
    elif not isinstance(max_miss, dict):
        max_miss = {g: float(max_miss) for g in GROUPS}
    th = wb.thresholds
    misses: list[Miss] = []
    checked: dict[str, int] = {}

    def count(group: str) -> str:
        checked[group] = checked.get(group, 0) + 1
        return group

    # -- interviewer side: questions by nearest neighbour, compliance alerts by cross-validated classifier
    phrases = wb.phrases["interviewer"]
    vectors = wb.vectors("interviewer")
    questions = _held_out_questions(wb, phrases, vectors) if len(phrases) else []
    compliance = (held_out_probabilities("compliance", wb.index.sides["interviewer"].phrases, vectors, folds)
                  if len(phrases) else None)
    for i, p in enumerate(phrases):
        qid, why = questions[i]
        alert, a_score, a_best = _alert_decision(compliance, i, th.compliance)
        if p.kind == "question":
            group = count("question phrasings")
            if qid != p.entry_id:
                got = f"matched question '{qid}' ({why})" if qid else f"matched nothing ({why})"
                misses.append(Miss(p, group, f"{got} instead of question '{p.entry_id}'"))
            elif alert:
                misses.append(Miss(p, group, f"also fires compliance alert '{alert}' ({a_score:.2f}); "
                                             f"it should match question '{p.entry_id}' only"))
        elif p.kind == "compliance":
            group = count("compliance examples")
            expected = f"compliance alert '{p.entry_id}'"
            if alert != p.entry_id:
                got = (f"matched compliance alert '{alert}' ({a_score:.2f})" if alert else
                       f"matched nothing (best {a_best}, needs {th.compliance:.2f})")
                misses.append(Miss(p, group, f"{got} instead of {expected}"))
            elif qid:
                misses.append(Miss(p, group, f"also matches question '{qid}' ({why}); it should fire {expected} only"))
        elif p.entry_id:
            group = count("negative examples")
            if qid == p.entry_id:
                misses.append(Miss(p, group, f"matched question '{qid}' ({why}), but it is a negative example of it"))
            elif alert == p.entry_id:
                misses.append(Miss(p, group, f"fires compliance alert '{alert}' ({a_score:.2f}), but it is "
                                             f"a {p.field} of it"))
        else:
            group = count("neutral lines")
            if qid or alert:
                what = f"question '{qid}' ({why})" if qid else f"compliance alert '{alert}' ({a_score:.2f})"
                misses.append(Miss(p, group, f"matched {what}; neutral lines must match nothing"))

    # -- candidate side: red flags by cross-validated classifier
    phrases = wb.phrases["candidate"]
    flags = (held_out_probabilities("red_flag", wb.index.sides["candidate"].phrases, wb.vectors("candidate"), folds)
             if len(phrases) else None)
    for i, p in enumerate(phrases):
        flag, score, best = _alert_decision(flags, i, th.red_flag)
        if p.kind == "red_flag":
            group = count("red flag examples")
            if flag != p.entry_id:
                got = (f"matched red flag '{flag}' ({score:.2f})" if flag else
                       f"matched nothing (best {best}, needs {th.red_flag:.2f})")
                misses.append(Miss(p, group, f"{got} instead of red flag '{p.entry_id}'"))
        elif p.entry_id:
            group = count("negative examples")
            if flag == p.entry_id:
                misses.append(Miss(p, group, f"fires red flag '{flag}' ({score:.2f}), but it is a negative example of it"))
        else:
            group = count("neutral lines")
            if flag:
                misses.append(Miss(p, group, f"fires red flag '{flag}' ({score:.2f}); neutral lines must match nothing"))
    misses.sort(key=lambda m: (str(m.phrase.file), m.phrase.line))
    examples: dict[tuple[str, str], int] = {}
    for side in wb.phrases.values():
        for p in side:
            if p.kind != "none":
                examples[(p.kind, p.entry_id)] = examples.get((p.kind, p.entry_id), 0) + 1
    return ExampleReport(wb.bank.role.id, checked, misses, dict(max_miss), examples)


def _held_out_questions(wb: Workbench, phrases: list[Located], vectors: np.ndarray) -> list[tuple[str | None, str]]:
    """Per interviewer phrase: the question the listener would match if that phrase were not in the bank."""
    th = wb.thresholds
    sims = vectors @ vectors.T
    texts = np.array(wb.cleaned("interviewer"), dtype=object)
    for i in range(len(phrases)):
        sims[i, texts == texts[i]] = -np.inf  # leave the phrase (and copies of it) out
    is_q = np.array([p.kind == "question" for p in phrases])
    none_rows = np.nonzero(~is_q & np.array([p.kind == "none" for p in phrases]))[0]
    q_rows = np.nonzero(is_q)[0]
    picks: list[tuple[str | None, str]] = []
    for i in range(len(phrases)):
        if not len(q_rows) or not np.isfinite(sims[i, q_rows].max()):
            picks.append((None, "no other question phrasing"))
            continue
        row = int(q_rows[np.argmax(sims[i, q_rows])])
        score = float(sims[i, row])
        qid = phrases[row].entry_id
        c_row = int(none_rows[np.argmax(sims[i, none_rows])]) if len(none_rows) else None
        counter = float(sims[i, c_row]) if c_row is not None else -1.0
        if score < th.question:
            picks.append((None, f"closest is question '{qid}' at {score:.2f}, below {th.question:.2f}"))
        elif score - counter < th.margin:
            why = (f"question '{qid}' at {score:.2f} loses to counter-example "
                   f"{_quote(phrases[c_row].text, 50)} at {counter:.2f}, {phrases[c_row].where}")
            picks.append((None, why))
        else:
            picks.append((qid, f"{score:.2f}"))
    return picks


def _alert_decision(probs_by_class, i: int, threshold: float) -> tuple[str | None, float, str]:
    """(alert that fires or None, its score, 'the best alert and its score' in words)."""
    if probs_by_class is None:
        return None, 0.0, "none of them"
    classes, probs = probs_by_class
    best, score = _top_alert(classes, probs[i])
    said = f"'{best}' at {score:.2f}" if best else "none of them"
    return (best, score, said) if score >= threshold else (None, score, said)


def run_bank_tests(dirs: Iterable[Path], folds: int = 5, max_miss: float | None = None, embedder=None,
                   cache_dir: Path | None = None, out: IO[str] | None = None) -> int:
    """`s2q bank test`: prints every miss; exit status 1 when a group of any role misses more than tolerated."""
    out = out or sys.stdout
    failed = False
    for wb in _workbenches(dirs, embedder, cache_dir):
        report = check_examples(wb, folds, max_miss)
        for miss in report.misses:
            print(miss, file=out)
        print(f"{wb.directory}: {'ok' if report.passed else 'FAILED'} (each phrase checked as if it were not in "
              f"the bank: leave-one-out for questions, {folds}-fold cross-validation for the classifiers)", file=out)
        for group, n in report.checked.items():
            missed, allowed = report.missed(group), report.allowed(group)
            verdict = "ok" if missed <= allowed else "too many"
            print(f"  {group:<20} {missed:>4} of {n:>4} missed ({missed / n:.0%}); "
                  f"at most {allowed} allowed ({report.max_miss.get(group, 0):.0%})  {verdict}", file=out)
        for kind in ("compliance", "red_flag"):
            rows = [(report.caught(k, e) / n, e, report.caught(k, e), n)
                    for (k, e), n in report.examples.items() if k == kind]
            if rows:
                print(f"  {KIND_NAMES[kind]} examples caught, held out: " + ", ".join(
                    f"{e} {c}/{n}" for _, e, c, n in sorted(rows)), file=out)
        failed |= not report.passed
    return 1 if failed else 0


# == stats: what the bank holds, and where it is thin ===================================================

FEW_QUESTIONS = 2  # a competency with fewer questions than this in a stage it appears in is "thin"
MIN_STAGE_QUESTIONS = 3


def bank_stats(bank) -> dict:
    """Counts per stage, competency and difficulty, phrasings per entry, and coverage gaps (plain data)."""
    from pipeline.retrieval.bank import MIN_RED_FLAG_EXAMPLES

    stages = [s.id for s in bank.role.stages]
    competencies = [c.id for c in bank.role.competencies]
    per_stage = {s: 0 for s in stages}
    per_competency = {c: 0 for c in competencies}
    per_difficulty = {d: 0 for d in ("easy", "medium", "hard")}
    grid = {s: {c: 0 for c in competencies} for s in stages}
    for q in bank.questions:
        per_stage[q.stage] += 1
        per_difficulty[q.difficulty] += 1
        for c in q.competencies:
            per_competency[c] += 1
            grid[q.stage][c] += 1
    gaps = []
    for s in stages:
        if per_stage[s] == 0:
            gaps.append(f"stage '{s}' has no questions")
        elif per_stage[s] < MIN_STAGE_QUESTIONS:
            gaps.append(f"stage '{s}' has only {per_stage[s]} question(s)")
    for c in competencies:
        if per_competency[c] == 0:
            gaps.append(f"competency '{c}' has no questions in any stage")
    for s in stages:
        thin = [f"{c} ({n})" for c, n in grid[s].items() if 0 < n < FEW_QUESTIONS]
        if thin:
            gaps.append(f"stage '{s}': only one question for " + ", ".join(thin))
    probed = set()
    for rf in bank.red_flags:
        probed |= set(rf.probes)
        if not rf.probes:
            gaps.append(f"red flag '{rf.id}' has no probes (questions to ask when it fires)")
        if len(rf.examples) < MIN_RED_FLAG_EXAMPLES:
            gaps.append(f"red flag '{rf.id}' has {len(rf.examples)} examples (at least {MIN_RED_FLAG_EXAMPLES})")
        if not rf.negative_examples:
            gaps.append(f"red flag '{rf.id}' has no negative examples (similar answers that must not fire it)")
    for c in bank.compliance:
        if not c.negative_examples:
            gaps.append(f"compliance alert '{c.id}' has no negative examples (lawful questions that sound close)")
    few_alternatives = [q.id for q in bank.questions if len(q.alternatives) < 3]
    if few_alternatives:
        gaps.append(f"{len(few_alternatives)} question(s) with fewer than 3 alternatives: "
                    + ", ".join(few_alternatives[:10]) + (" ..." if len(few_alternatives) > 10 else ""))
    phrasings = [1 + len(q.alternatives) for q in bank.questions]
    return {
        "role": bank.role.id,
        "name": bank.role.name,
        "questions": len(bank.questions),
        "red_flags": len(bank.red_flags),
        "compliance": len(bank.compliance),
        "neutral": {"interviewer": len(bank.neutral.interviewer), "candidate": len(bank.neutral.candidate)},
        "per_stage": per_stage,
        "per_competency": per_competency,
        "per_difficulty": per_difficulty,
        "stage_competency": grid,
        "difficulty_per_stage": {s: {d: sum(1 for q in bank.questions if q.stage == s and q.difficulty == d)
                                     for d in per_difficulty} for s in stages},
        "phrasings_per_question": round(sum(phrasings) / len(phrasings), 1) if phrasings else 0,
        "red_flag_examples": {rf.id: {"examples": len(rf.examples), "negative_examples": len(rf.negative_examples),
                                      "probes": len(rf.probes)} for rf in bank.red_flags},
        "compliance_examples": {c.id: {"examples": len(c.examples), "negative_examples": len(c.negative_examples),
                                       "alternative": bool(c.alternative)} for c in bank.compliance},
        "gaps": gaps,
    }


def stats(dirs: Iterable[Path], as_json: bool = False, out: IO[str] | None = None) -> int:
    from pipeline.retrieval.bank import load_bank

    out = out or sys.stdout
    all_stats = [bank_stats(load_bank(directory=d)) for d in dirs]
    if as_json:
        out.write(json.dumps(all_stats, indent=2) + "\n")
        return 0
    for st in all_stats:
        print(f"{st['role']} ({st['name']}): {st['questions']} questions, {st['red_flags']} red flags, "
              f"{st['compliance']} compliance alerts, neutral lines: {st['neutral']['interviewer']} interviewer, "
              f"{st['neutral']['candidate']} candidate", file=out)
        print(f"  {st['phrasings_per_question']} phrasings per question on average (text and alternatives)", file=out)
        print("  questions per stage (easy/medium/hard) and the competencies they cover:", file=out)
        for stage, n in st["per_stage"].items():
            d = st["difficulty_per_stage"][stage]
            covered = ", ".join(f"{c} {k}" for c, k in st["stage_competency"][stage].items() if k)
            print(f"    {stage:<28} {n:>3}  ({d['easy']}/{d['medium']}/{d['hard']})  {covered}", file=out)
        print("  questions per competency:", file=out)
        for comp, n in st["per_competency"].items():
            print(f"    {comp:<28} {n:>3}", file=out)
        d = st["per_difficulty"]
        print(f"  difficulty: {d['easy']} easy, {d['medium']} medium, {d['hard']} hard", file=out)
        if st["red_flag_examples"]:
            print("  red flags (examples / negative examples / probes):", file=out)
            for rid, v in st["red_flag_examples"].items():
                print(f"    {rid:<28} {v['examples']:>3} / {v['negative_examples']:>3} / {v['probes']}", file=out)
        if st["compliance_examples"]:
            print("  compliance alerts (examples / negative examples / lawful alternative):", file=out)
            for cid, v in st["compliance_examples"].items():
                print(f"    {cid:<28} {v['examples']:>3} / {v['negative_examples']:>3} / "
                      f"{'yes' if v['alternative'] else 'no'}", file=out)
        print(f"  gaps: {len(st['gaps']) or 'none'}", file=out)
        for gap in st["gaps"]:
            print(f"    - {gap}", file=out)
    return 0


# == new: commented templates in the right place ==========================================================

TODO = "TODO"  # placeholder in templates; `s2q bank validate` reports every one left as an error

QUESTION_TEMPLATE = """
  # New question. Replace every TODO, then run:
  #   s2q bank validate --role {role}    (is it well formed?)
  #   s2q bank test --role {role}        (does each phrasing find this question and no other?)
  #   s2q bank search --role {role} "a way you would ask it"
  - id: {id}              # lowercase-with-dashes, unique in the role; never rename once in use
    text: TODO the question as it should appear on screen, one spoken sentence
    stage: {stage}
    competencies: [TODO]  # one or more of: {competencies}
    difficulty: TODO      # easy, medium or hard
    alternatives:         # other ways an interviewer might actually say it; 3 or more, each different
      - TODO another way to ask it
      - TODO a shorter, more casual way
      - TODO a way that uses other words for the key idea
    follow_ups: []        # optional: ids of questions that make good next questions
    negative_examples: [] # optional: sentences that sound close but are a different question
"""

RED_FLAG_TEMPLATE = """
  # New red flag: something in a candidate's answer that the interviewer should probe.
  # Replace every TODO (at least 8 examples, in the words candidates really use), then run:
  #   s2q bank validate --role {role}  and  s2q bank test --role {role}
  - id: {id}              # lowercase-with-dashes, unique in the role
    name: TODO a short label shown on screen
    description: >-
      TODO why this matters for the role, in one or two sentences.
    examples:             # things a candidate might say that show it; vary the topic and the wording
      - TODO example 1
      - TODO example 2
      - TODO example 3
      - TODO example 4
      - TODO example 5
      - TODO example 6
      - TODO example 7
      - TODO example 8
    negative_examples:    # similar-sounding answers that show the opposite (good practice); must NOT fire it
      - TODO a good answer on the same topic
      - TODO another good answer on the same topic
    probes: [TODO]        # ids of questions to ask when it fires (see questions/*.yaml)
"""


def _check_id(value: str, what: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value or ""):
        raise BankError([Problem(Path(what), 1, f"{value!r}: ids use lowercase letters, digits and dashes, "
                                                 "like 'model-drift'")])


def _append_entry(path: Path, list_key: str, template: str) -> int:
    """Appends a template under the file's top-level list; returns the line where it starts."""
    import re

    if path.exists():
        text = path.read_text(encoding="utf-8")
        if re.search(rf"^{list_key}:\s*\[\s*\]\s*$", text, re.MULTILINE):  # an empty flow list
            text = re.sub(rf"^{list_key}:\s*\[\s*\]\s*$", f"{list_key}:", text, count=1, flags=re.MULTILINE)
        elif not re.search(rf"^{list_key}:", text, re.MULTILINE):
            raise BankError([Problem(path, 1, f"no '{list_key}:' list in this file to add to")])
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"{list_key}:\n"
    items = re.findall(r"^( *)- id:", text, re.MULTILINE)
    indent = items[0] if items else "  "
    body = "\n".join(indent + line[2:] if line.startswith("  ") else line for line in template.split("\n"))
    if not text.endswith("\n"):
        text += "\n"
    start = text.count("\n") + 2
    path.write_text(text + body, encoding="utf-8")
    return start


def new_entry(kind: str, bank: Path | None, role: str | None, entry_id: str | None = None,
              stage: str | None = None, out: IO[str] | None = None) -> int:
    """`s2q bank new question|red-flag|role`: writes a commented template where it belongs."""
    from pipeline.retrieval.bank import check_bank

    out = out or sys.stdout
    if kind == "role":
        return _new_role(bank, entry_id or role, out)
    dirs = role_dirs(bank, role)
    if len(dirs) != 1:
        names = ", ".join(d.name for d in dirs)
        raise BankError([Problem(Path(bank or BANK_ROOT), 1, f"several roles here ({names}): name one with --role")])
    directory = dirs[0]
    current, _ = check_bank(directory)
    role_id = directory.name
    if entry_id:
        _check_id(entry_id, "--id")
        if current and entry_id in {e.id for e in [*current.questions, *current.red_flags, *current.compliance]}:
            raise BankError([Problem(directory, 1, f"id {entry_id!r} is already used in this role")])
    if kind == "question":
        role_data = _role_data(directory)
        stages = [s.get("id") for s in role_data.get("stages") or [] if isinstance(s, dict)]
        competencies = [c.get("id") for c in role_data.get("competencies") or [] if isinstance(c, dict)]
        if not stage or stage not in stages:
            said = f"unknown stage {stage!r}" if stage else "name the stage with --stage"
            raise BankError([Problem(directory / "role.yaml", 1, f"{said} (stages: {', '.join(map(str, stages))})")])
        path = directory / "questions" / f"{check_id(stage, '--stage')}.yaml"  # role.yaml may be hand-edited
        template = QUESTION_TEMPLATE.format(role=role_id, id=entry_id or "TODO-question-id", stage=stage,
                                            competencies=", ".join(map(str, competencies)))
        line = _append_entry(path, "questions", template)
    elif kind == "red-flag":
        path = directory / "red_flags.yaml"
        template = RED_FLAG_TEMPLATE.format(role=role_id, id=entry_id or "TODO-red-flag-id")
        line = _append_entry(path, "red_flags", template)
    else:
        raise BankError([Problem(directory, 1, f"unknown kind {kind!r}: question, red-flag or role")])
    print(f"wrote a {kind} template at {path}:{line}", file=out)
    print(f"fill in every TODO, then run: s2q bank validate --role {role_id} && s2q bank test --role {role_id}",
          file=out)
    return 0


def _role_data(directory: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load((directory / "role.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


ROLE_TEMPLATE = """# The role: what it is, its interview stages (in interview order) and the competencies you assess.
# Replace every TODO, then run:  s2q bank validate --role {id}
# docs/authoring.md explains every field.
id: {id}
name: TODO the job title, e.g. Backend Engineer
description: >-
  TODO two or three sentences on what this person does and what good looks like.
stages:                      # in interview order
  - id: first-stage          # rename (lowercase-with-dashes), e.g. phone-screen; then rename questions/first-stage.yaml
    name: TODO the stage's name as interviewers call it
    description: >-
      TODO what this stage covers and how it is judged.
  - id: second-stage
    name: TODO
    description: >-
      TODO
competencies:                # what you assess; each question names one or more of these ids
  - id: first-competency
    name: TODO
    description: >-
      TODO what someone strong in it does.
  - id: second-competency
    name: TODO
    description: >-
      TODO

# How close a sentence must be to count as a match. These are the starting values that the
# ml-engineer bank was calibrated to; recalibrate with benchmarks/matcher_eval.py (docs/authoring.md).
matching:
  question: 0.40             # similarity of the closest phrasing of a question
  red_flag: 0.66             # confidence of the red-flag classifier
  compliance: 0.66           # confidence of the compliance classifier
  margin: 0.0                # how much closer than the closest counter-example
"""

NEUTRAL_TEMPLATE = """# Sentences that must match nothing: small talk, logistics and good, clean answers.
# They teach the listener what ordinary talk in this role sounds like. Add 30 or more of each.
interviewer:
  - Can you hear me okay?
  - Thanks for making the time today.
  - Let's move on to the next topic.
  - Could you give me a concrete example?
  - We have about ten minutes left.
  - TODO small talk or logistics typical of this role's interviews
candidate:
  - Sorry, could you repeat the question?
  - Let me think about that for a second.
  - TODO a good, ordinary answer a candidate for this role might give
"""


def _new_role(bank: Path | None, role: str | None, out: IO[str]) -> int:
    from pipeline.retrieval.bank import DEFAULT_ROLE

    if not role:
        raise BankError([Problem(Path("--id"), 1, "name the new role with --id, e.g. --id data-scientist")])
    _check_id(role, "--id")
    root = Path(bank) if bank else BANK_ROOT
    if (root / "role.yaml").exists():
        root = root.parent
    directory = root / role
    if directory.exists():
        raise BankError([Problem(directory, 1, "this role folder already exists; nothing written")])
    (directory / "questions").mkdir(parents=True)
    (directory / "role.yaml").write_text(ROLE_TEMPLATE.format(id=role), encoding="utf-8")
    _append_entry(directory / "questions" / "first-stage.yaml", "questions",
                  QUESTION_TEMPLATE.format(role=role, id="TODO-question-id", stage="first-stage",
                                           competencies="first-competency, second-competency"))
    _append_entry(directory / "red_flags.yaml", "red_flags",
                  RED_FLAG_TEMPLATE.format(role=role, id="TODO-red-flag-id"))
    source = next((p for p in (root / DEFAULT_ROLE / "compliance.yaml", BANK_ROOT / DEFAULT_ROLE / "compliance.yaml")
                   if p.exists()), None)
    if source is not None:
        header = (f"# Copied from {DEFAULT_ROLE}: the questions an interviewer must not ask are the same in every\n"
                  "# role. Review the negative examples (lawful questions that sound close) so they sound like\n"
                  "# this role's interviews.\n")
        (directory / "compliance.yaml").write_text(header + source.read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "neutral.yaml").write_text(NEUTRAL_TEMPLATE, encoding="utf-8")
    print(f"wrote a new role folder at {directory}", file=out)
    for name in ("role.yaml", "questions/first-stage.yaml", "red_flags.yaml", "compliance.yaml", "neutral.yaml"):
        if (directory / name).exists():
            print(f"  {directory / name}", file=out)
    print(f"fill in every TODO, then run: s2q bank validate --role {role} && s2q bank test --role {role}", file=out)
    return 0


def template_markers(directory: Path) -> list[Problem]:
    """Every value still holding a TODO placeholder from `s2q bank new`, as an error at its line."""
    import yaml

    from pipeline.retrieval.bank import _Located

    found = []
    directory = Path(directory)
    files = [directory / "role.yaml", *sorted((directory / "questions").glob("*.yaml")),
             directory / "red_flags.yaml", directory / "compliance.yaml", directory / "neutral.yaml"]
    for path in files:
        if not path.exists():
            continue
        try:
            loc = _Located(path)
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            continue  # check_bank reports it

        def walk(node, at: tuple, path: Path = path, loc=loc) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, at + (k,))
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, at + (i,))
            elif isinstance(node, str) and TODO in node:
                found.append(Problem(path, loc.line(at), "template not filled in yet: replace the TODO "
                                                         f"({_quote(node, 60)}) with your own words"))

        walk(loc.data, ())
    return found
