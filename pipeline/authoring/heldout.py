"""`s2q bank test`: every phrase of the bank run through the listener's decisions, held out.

A phrase always finds itself, so each is checked as if it were not in the bank: leave-one-out
nearest neighbour for questions, k-fold cross-validated classifiers for alerts and red flags. The
candidates and the threshold rule are the matcher's own (`nearest_questions`, `ranked_alerts`,
`rejection`): this module only chooses what is left out and counts what misses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from pipeline.authoring.folds import stratified_group_folds
from pipeline.authoring.workbench import KIND_NAMES, Workbench, quote, workbenches
from pipeline.retrieval.index import AlertClassifier
from pipeline.retrieval.matcher import VERIFY_TOP, Unit, nearest_questions, ranked_alerts, rejection, verify
from pipeline.retrieval.phrases import Phrase

GROUPS = ("question phrasings", "compliance examples", "red flag examples", "negative examples", "neutral lines")

# Share of each group's phrases that may miss, held out, before `s2q bank test` fails, for a role
# without a baseline; `--max-miss` overrides them all.
DEFAULT_MAX_MISS = {
    "question phrasings": 0.0,
    "compliance examples": 0.30,
    "red flag examples": 0.75,
    "negative examples": 0.20,
    "neutral lines": 0.05,
}
# A role's measured miss rates (`s2q bank test --save-baseline`), kept beside its YAML: `bank test`
# fails when a group misses more than RISE_ALLOWED above its baseline, so quality can only go up.
BASELINE_FILE = "held_out_baseline.json"
RISE_ALLOWED = 0.05


def baseline_max_miss(directory: Path) -> dict[str, float] | None:
    """The tolerated miss share per group (None: no baseline): the role's baseline plus RISE_ALLOWED,
    never looser than the default (a group that misses nothing, like question phrasings, stays at 0)."""
    path = directory / BASELINE_FILE
    if not path.exists():
        return None
    rates = json.loads(path.read_text(encoding="utf-8"))["miss_rates"]
    return {g: round(max(float(rates[g]), min(float(rates[g]) + RISE_ALLOWED, DEFAULT_MAX_MISS[g])), 6)
            for g in GROUPS if g in rates}


def save_baseline(directory: Path, report: "ExampleReport", folds: int) -> Path:
    rates = {g: round(report.missed(g) / n, 6) for g, n in report.checked.items() if n}
    path = directory / BASELINE_FILE
    path.write_text(json.dumps({"folds": folds, "miss_rates": rates}, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass
class Miss:
    phrase: Phrase
    group: str
    got: str

    def __str__(self) -> str:
        return f"{self.phrase.where}: {quote(self.phrase.written)} -> {self.got}"


@dataclass
class ExampleReport:
    role: str
    checked: dict[str, int]  # phrases checked per group
    misses: list[Miss]
    max_miss: dict[str, float]  # tolerated share of misses per group
    examples: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, entry id) -> phrasings checked
    negatives: dict[str, int] = field(default_factory=dict)  # red flag id -> its negative examples checked

    def false_alarms(self, flag: str) -> int:
        """Of a red flag's own negative examples (its hard negatives), how many fired it, held out."""
        return sum(1 for m in self.misses if m.group == "negative examples" and m.phrase.kind == "none"
                   and m.phrase.entry_id == flag)

    def caught(self, kind: str, entry_id: str) -> int:
        """Of an entry's own phrasings (text, alternatives, examples), how many found it, held out."""
        missed = sum(1 for m in self.misses if m.phrase.kind == kind and m.phrase.entry_id == entry_id)
        return self.examples.get((kind, entry_id), 0) - missed

    def missed(self, group: str) -> int:
        return sum(1 for m in self.misses if m.group == group)

    def allowed(self, group: str) -> int:
        # + 1e-3: a saved share is rounded (save_baseline), and 61/95 saved as 0.642105 must still allow 61
        return int(self.max_miss.get(group, 0.0) * self.checked.get(group, 0) + 1e-3)

    @property
    def total(self) -> int:
        return sum(self.checked.values())

    @property
    def passed(self) -> bool:
        return all(self.missed(g) <= self.allowed(g) for g in self.checked)


def held_out_probabilities(kind: str, phrases, vectors: np.ndarray, folds: int = 5, seed: int = 0, role=None):
    """k-fold cross-validation of the alert classifier: each phrase scored by a model that never saw it.

    Same settings as the shipped classifier (`AlertClassifier.train`). Identical texts stay in one fold.
    Returns (classes, probabilities per phrase) or None when the side has no such alerts.
    """
    import warnings

    labels = np.array([p.entry_id if p.kind == kind else "none" for p in phrases])
    classes = sorted(set(labels.tolist()))
    if len(classes) < 2:
        return None
    groups = np.unique([p.text for p in phrases], return_inverse=True)[1]
    probs = np.zeros((len(phrases), len(classes)), np.float32)
    column = {c: i for i, c in enumerate(classes)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes smaller than the number of folds
        splits = stratified_group_folds(labels, groups, folds, seed)
        for train, held in splits:
            model = AlertClassifier.train(kind, [phrases[i] for i in train], vectors[train], role)
            if model is None:
                continue
            p = model.probabilities(vectors[held])
            for j, c in enumerate(model.classes):
                probs[held, column[c]] = p[:, j]
    return classes, probs


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
        max_miss = baseline_max_miss(wb.directory) or DEFAULT_MAX_MISS
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
    questions = held_out_questions(wb, phrases, vectors) if len(phrases) else []
    compliance = (held_out_probabilities("compliance", wb.index.sides["interviewer"].phrases, vectors, folds,
                                         role=wb.bank.role)
                  if len(phrases) else None)
    for i, p in enumerate(phrases):
        qid, why = questions[i]
        alert, a_score, a_best = alert_decision("compliance", *_row(compliance, i), th)
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

    # -- candidate side: red flags, the topic by cross-validated classifier, then the verifier (which never
    # saw the bank: it is trained on training/verifier/data only)
    phrases = wb.phrases["candidate"]
    flags = (held_out_probabilities("red_flag", wb.index.sides["candidate"].phrases, wb.vectors("candidate"), folds,
                                    role=wb.bank.role)
             if len(phrases) else None)
    verified = verified_flags(wb, phrases, flags)
    for i, p in enumerate(phrases):
        flag, score, best = verified[i]
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
    negatives: dict[str, int] = {}
    for p in wb.phrases["candidate"]:
        if p.kind == "none" and p.entry_id:
            negatives[p.entry_id] = negatives.get(p.entry_id, 0) + 1
    return ExampleReport(wb.bank.role.id, checked, misses, dict(max_miss), examples, negatives)


def held_out_questions(wb: Workbench, phrases: list[Phrase], vectors: np.ndarray) -> list[tuple[str | None, str]]:
    """Per interviewer phrase: the question the listener would match if that phrase were not in the bank."""
    sims = vectors @ vectors.T
    texts = np.array(wb.cleaned("interviewer"), dtype=object)
    picks = []
    for i in range(len(phrases)):
        others = np.nonzero(texts != texts[i])[0]  # leave the phrase (and copies of it) out
        picks.append(question_decision(wb, sims[i, others], others, phrases[i].written))
    return picks


def question_decision(wb: Workbench, sims: np.ndarray, rows: np.ndarray,
                      sentence: str | None = None) -> tuple[str | None, str]:
    """(question the listener matches or None, why in words) from one sentence's similarity to `rows`."""
    th = wb.thresholds
    phrases = wb.phrases["interviewer"]
    found, counter = nearest_questions(sims, rows, phrases, top=1)
    if not found:
        return None, "no other question phrasing"
    c = found[0]
    why = rejection(c, th, sentence)
    if why == "not asked":
        return None, f"question '{c.id}' at {c.score:.2f}, but the sentence asks nothing (a lead-in)"
    if why == "too low":
        return None, f"closest is question '{c.id}' at {c.score:.2f}, below {th.question:.2f}"
    if why == "counter":
        p = phrases[counter[1]]
        return None, (f"question '{c.id}' at {c.score:.2f} loses to counter-example "
                      f"{quote(p.written, 50)} at {c.counter:.2f}, {p.where}")
    return c.id, f"{c.score:.2f}"


def alert_decision(kind: str, classes: list[str] | None, probs, thresholds) -> tuple[str | None, float, str]:
    """(alert that fires or None, its score, 'the best alert and its score' in words) for one sentence."""
    best = ranked_alerts(kind, classes, probs) if classes else []
    if not best or best[0].score <= 0:  # 0: a class that no fold's model knew
        return None, 0.0, "none of them"
    c = best[0]
    return (c.id if rejection(c, thresholds) is None else None), c.score, f"'{c.id}' at {c.score:.2f}"


def verified_flags(wb: Workbench, phrases: list[Phrase], held) -> list[tuple[str | None, float, str]]:
    """Per candidate phrase, as `alert_decision`: held-out topic candidates read by the verifier, no question."""
    if held is None:
        return [(None, 0.0, "none of them")] * len(phrases)
    classes, probs = held
    if wb.matcher.verifier is None:  # a role without the verifier (verify_red_flags: false): topic alone, as live
        return [alert_decision("red_flag", classes, row, wb.thresholds) for row in probs]
    units = [Unit(p.written, ranked_alerts("red_flag", classes, row, VERIFY_TOP)) for p, row in zip(phrases, probs)]
    verify(units, wb.matcher.verifier, wb.matcher.statements, wb.thresholds)
    out = []
    for unit in units:
        c = unit.candidates[0] if unit.candidates else None
        if c is None or c.topic is None or c.topic <= 0:
            out.append((None, 0.0, "none of them"))
            continue
        why = rejection(c, wb.thresholds)
        best = f"'{c.id}' on topic at {c.topic:.2f}, stance {c.score:.2f}"
        out.append((c.id if why is None else None, c.score, best))
    return out


def _row(held, i: int):
    """(classes, probabilities of phrase i) from `held_out_probabilities`, or (None, None)."""
    return (held[0], held[1][i]) if held else (None, None)


def run_bank_tests(dirs: Iterable[Path], folds: int = 5, max_miss: float | None = None, embedder=None,
                   cache_dir: Path | None = None, out: IO[str] | None = None, save: bool = False) -> int:
    """`s2q bank test`: prints every miss; exit status 1 when a group of any role misses more than tolerated.

    `save`: record each role's miss rates as its new baseline (after an improvement, or for a new role).
    """
    out = out or sys.stdout
    failed = False
    for wb in workbenches(dirs, embedder, cache_dir):
        report = check_examples(wb, folds, max_miss)
        if save:
            print(f"wrote the baseline {save_baseline(wb.directory, report, folds)}", file=out)
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
        for flag, n in sorted(report.negatives.items()):
            caught, own = report.caught("red_flag", flag), report.examples.get(("red_flag", flag), 0)
            print(f"  red flag {flag}: recall {caught}/{own} ({caught / max(1, own):.0%}), "
                  f"false alarms on its hard negatives {report.false_alarms(flag)}/{n} "
                  f"({report.false_alarms(flag) / n:.0%})", file=out)
        failed |= not report.passed
    return 1 if failed else 0
