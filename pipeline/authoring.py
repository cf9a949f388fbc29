"""What content authors run on the question bank: validate, build, search, dupes, test, stats, new, schema.

The CLI (`s2q bank ...`) only parses arguments; the logic lives here. docs/authoring.md is the guide.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np

from pipeline.retrieval.bank import BANK_ROOT, DEFAULT_ROLE, BankError, Problem, check_bank, list_roles


def role_dirs(bank: Path | None, role: str | None) -> list[Path]:
    """`--bank` may name one role folder or a bank root holding several."""
    root = Path(bank) if bank else BANK_ROOT
    if (root / "role.yaml").exists():
        return [root]
    if role:
        return [root / role]
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
        Path(path).write_text(text)
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
            assert len(indexed) == len(self.phrases[side]) and all(
                (p.kind, p.entry_id) == (q.kind, q.entry_id) for p, q in zip(indexed, self.phrases[side])
            ), f"{side}: phrase order differs from the index"

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
        print(f"role {wb.bank.role.id}, speaker {speaker}", file=out)
        if not units:
            print(f"{_quote(text)}\n  fewer than 3 words (without fillers): the listener does not match it", file=out)
        for unit in units:
            print(_quote(unit, 200) + (" (the whole text)" if len(units) > 1 and unit is units[-1].text and
                                        unit is not units[0] else ""), file=out)
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


@dataclass
class Miss:
    phrase: Located
    got: str

    def __str__(self) -> str:
        return f"{self.phrase.where}: {_quote(self.phrase.text)} -> {self.got}"


@dataclass
class ExampleReport:
    role: str
    checked: dict[str, int]  # phrases checked per group
    misses: list[Miss]
    max_miss: float  # tolerated share of misses (0: none)

    @property
    def total(self) -> int:
        return sum(self.checked.values())

    @property
    def passed(self) -> bool:
        return len(self.misses) <= int(self.max_miss * self.total)


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


def check_examples(wb: Workbench, folds: int = 5, max_miss: float = 0.0) -> ExampleReport:
    """Runs the bank's own examples through the matcher's decisions without letting a phrase find itself.

    Questions: nearest neighbour over every other phrasing (the phrase's own row, and rows with the same
    words, are left out), with the role's threshold and margin. Red flags and compliance alerts: each
    phrase scored by a classifier trained, with the shipped settings, on the other folds only.
    Expected: a question phrasing finds its own question and fires no alert; an alert or red-flag
    example fires that alert only (and no question); a negative example never matches its own entry;
    a neutral line matches nothing.
    """
    th = wb.thresholds
    misses: list[Miss] = []
    checked: dict[str, int] = {}

    # -- interviewer side: questions by nearest neighbour, compliance by cross-validated classifier
    phrases = wb.phrases["interviewer"]
    index_phrases = wb.index.sides["interviewer"].phrases
    vectors = wb.vectors("interviewer")
    question_pick: list[tuple[str | None, str]] = []  # (matched question, why not) per row
    if len(phrases):
        sims = vectors @ vectors.T
        texts = np.array(wb.cleaned("interviewer"), dtype=object)
        for i in range(len(phrases)):
            sims[i, texts == texts[i]] = -np.inf  # leave the phrase (and copies of it) out
        is_q = np.array([p.kind == "question" for p in phrases])
        is_none = np.array([p.kind == "none" for p in phrases])
        q_rows = np.nonzero(is_q)[0]
        for i in range(len(phrases)):
            counter = float(sims[i, is_none].max()) if is_none.any() else -1.0
            if not len(q_rows) or not np.isfinite(sims[i, q_rows].max()):
                question_pick.append((None, "no other question phrasing"))
                continue
            row = int(q_rows[np.argmax(sims[i, q_rows])])
            score = float(sims[i, row])
            qid = phrases[row].entry_id
            if score < th.question:
                question_pick.append((None, f"closest is question '{qid}' at {score:.2f}, below {th.question:.2f}"))
            elif score - counter < th.margin:
                c_row = int(np.nonzero(is_none)[0][np.argmax(sims[i, is_none])])
                question_pick.append((None, f"question '{qid}' ({score:.2f}) loses to counter-example "
                                            f"{_quote(phrases[c_row].text, 50)} ({counter:.2f}) {phrases[c_row].where}"))
            else:
                question_pick.append((qid, f"{score:.2f}"))
    compliance = held_out_probabilities("compliance", index_phrases, vectors, folds) if len(phrases) else None

    def alert_of(probs_by_class, i: int, threshold: float) -> tuple[str | None, float]:
        if probs_by_class is None:
            return None, 0.0
        classes, probs = probs_by_class
        alert, score = _top_alert(classes, probs[i])
        return (alert, score) if score >= threshold else (None, score)

    for i, p in enumerate(phrases):
        qid, why = question_pick[i]
        alert, a_score = alert_of(compliance, i, th.compliance)
        if p.kind == "question":
            checked["question phrasings"] = checked.get("question phrasings", 0) + 1
            if qid != p.entry_id:
                got = f"matched question '{qid}' ({why})" if qid else f"matched nothing ({why})"
                misses.append(Miss(p, f"{got} instead of question '{p.entry_id}'"))
            elif alert:
                misses.append(Miss(p, f"also fires compliance alert '{alert}' ({a_score:.2f}); "
                                      f"it should match question '{p.entry_id}' only"))
        elif p.kind == "compliance":
            checked["compliance examples"] = checked.get("compliance examples", 0) + 1
            expected = f"compliance alert '{p.entry_id}'"
            if alert != p.entry_id:
                got = (f"matched compliance alert '{alert}' ({a_score:.2f})" if alert else
                       f"matched nothing (best {_top_alert(*_row(compliance, i))[0]!r} "
                       f"at {_top_alert(*_row(compliance, i))[1]:.2f}, needs {th.compliance:.2f})")
                misses.append(Miss(p, f"{got} instead of {expected}"))
            elif qid:
                misses.append(Miss(p, f"also matches question '{qid}' ({why}); it should fire {expected} only"))
        elif p.entry_id:
            checked["negative examples"] = checked.get("negative examples", 0) + 1
            if qid == p.entry_id:
                misses.append(Miss(p, f"matched question '{qid}' ({why}), but it is a negative example of it"))
            if alert == p.entry_id:
                misses.append(Miss(p, f"fires compliance alert '{alert}' ({a_score:.2f}), but it is a "
                                      f"{p.field} of it"))
        else:
            checked["neutral lines"] = checked.get("neutral lines", 0) + 1
            if qid or alert:
                what = f"question '{qid}' ({why})" if qid else f"compliance alert '{alert}' ({a_score:.2f})"
                misses.append(Miss(p, f"matched {what}; neutral lines must match nothing"))

    # -- candidate side: red flags by cross-validated classifier
    phrases = wb.phrases["candidate"]
    flags = (held_out_probabilities("red_flag", wb.index.sides["candidate"].phrases, wb.vectors("candidate"), folds)
             if len(phrases) else None)
    for i, p in enumerate(phrases):
        flag, score = alert_of(flags, i, th.red_flag)
        if p.kind == "red_flag":
            checked["red flag examples"] = checked.get("red flag examples", 0) + 1
            if flag != p.entry_id:
                best, best_score = _top_alert(*_row(flags, i))
                got = (f"matched red flag '{flag}' ({score:.2f})" if flag else
                       f"matched nothing (best '{best}' at {best_score:.2f}, needs {th.red_flag:.2f})")
                misses.append(Miss(p, f"{got} instead of red flag '{p.entry_id}'"))
        elif p.entry_id:
            checked["negative examples"] = checked.get("negative examples", 0) + 1
            if flag == p.entry_id:
                misses.append(Miss(p, f"fires red flag '{flag}' ({score:.2f}), but it is a negative example of it"))
        else:
            checked["neutral lines"] = checked.get("neutral lines", 0) + 1
            if flag:
                misses.append(Miss(p, f"fires red flag '{flag}' ({score:.2f}); neutral lines must match nothing"))
    misses.sort(key=lambda m: (str(m.phrase.file), m.phrase.line))
    return ExampleReport(wb.bank.role.id, checked, misses, max_miss)


def _row(probs_by_class, i: int):
    if probs_by_class is None:
        return [], []
    classes, probs = probs_by_class
    return classes, probs[i]


def run_bank_tests(dirs: Iterable[Path], folds: int = 5, max_miss: float = 0.0, embedder=None,
              cache_dir: Path | None = None, out: IO[str] | None = None) -> int:
    """`s2q bank test`: exit status 1 when any role has more misses than tolerated."""
    out = out or sys.stdout
    failed = False
    for wb in _workbenches(dirs, embedder, cache_dir):
        report = check_examples(wb, folds, max_miss)
        for miss in report.misses:
            print(miss, file=out)
        counts = ", ".join(f"{n} {what}" for what, n in report.checked.items())
        allowed = int(max_miss * report.total)
        verdict = "ok" if report.passed else "FAILED"
        tolerance = f" (up to {allowed} tolerated with --max-miss {max_miss:.0%})" if max_miss else ""
        print(f"{wb.directory}: {verdict} — {len(report.misses)} of {report.total} phrases missed{tolerance} "
              f"[{counts}; leave-one-out, {folds}-fold for the classifiers]", file=out)
        failed |= not report.passed
    return 1 if failed else 0
