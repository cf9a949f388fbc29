"""`s2q bank search`: what the listener would match for a sentence, with every near miss and why.

Shows `Matcher.candidates` (the listener's top entries per kind and sentence) with the status the
listener's own threshold rule gives each (`matcher.rejection`), and the listener's verdict.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pipeline.authoring.workbench import Workbench, describe, quote, workbenches
from pipeline.events import UNKNOWN
from pipeline.retrieval.matcher import rejection
from pipeline.retrieval.phrases import Phrase
from pipeline.retrieval.schema import hits_of
from pipeline.retrieval.text import clean_speech

@dataclass
class Scored:
    kind: str
    id: str
    score: float
    status: str  # MATCH, not best, too low, counter (a counter-example is closer), not asked (a lead-in)
    via: Phrase | None = None  # questions: the closest phrasing
    nearest: tuple[float, Phrase] | None = None  # alerts: the entry's closest example (similarity, phrase)
    veto: tuple[float, Phrase] | None = None  # alerts: the entry's closest negative example
    topic: float | None = None  # red flags: retrieval's probability; `score` is then the verifier's stance


@dataclass
class UnitSearch:
    """One sentence (or the whole text) as the listener checks it."""

    text: str
    questions: list[Scored] = field(default_factory=list)
    counter: tuple[float, Phrase] | None = None  # the closest counter-example, for questions
    compliance: list[Scored] = field(default_factory=list)
    red_flags: list[Scored] = field(default_factory=list)


def search_text(wb: Workbench, text: str, speaker: str, top: int = 3, question: str | None = None):
    """Top candidates of each kind for every unit the listener checks, and the listener's own verdict.

    `question`: what the text answers, which the red-flag verifier reads with it.
    """
    phrases = wb.phrases["interviewer"]
    results = []
    units = wb.matcher.candidates(text, speaker, top, question)
    vectors = wb.matcher.embedder.encode([clean_speech(u.text) for u in units]) if units else None
    for unit, vector in zip(units, vectors if vectors is not None else []):
        found = UnitSearch(unit.text)
        if unit.counter:
            found.counter = (unit.counter[0], phrases[unit.counter[1]])
        for c in unit.candidates:
            rows = hits_of(found, c.kind)
            status = rejection(c, wb.thresholds, unit.text) or ("MATCH" if not rows else "not best")
            scored = Scored(c.kind, c.id, c.score, status, phrases[c.row] if c.row is not None else None,
                            topic=c.topic)
            if c.kind != "question":
                side = "candidate" if c.kind == "red_flag" else "interviewer"
                scored.nearest = _closest(wb, side, vector, lambda p: p.kind == c.kind and p.entry_id == c.id)
                scored.veto = _closest(wb, side, vector, lambda p: p.kind == "none" and p.entry_id == c.id)
            rows.append(scored)
        results.append(found)
    return results, wb.matcher.match(text, speaker, question)


def search(dirs: Iterable[Path], text: str, speaker: str, top: int = 3, embedder=None,
           cache_dir: Path | None = None, out: IO[str] | None = None, question: str | None = None) -> int:
    out = out or sys.stdout
    for wb in workbenches(dirs, embedder, cache_dir):
        th = wb.thresholds
        units, verdict = search_text(wb, text, speaker, top, question)
        print(f"role {wb.bank.role.id}, speaker {speaker}  (MATCH: what the listener picks; not best: passes, "
              "but only the best of a kind counts; too low: under the threshold; counter: a counter-example "
              "is closer)", file=out)
        if not units:
            print(f"{quote(text)}\n  fewer than 3 words (without fillers): the listener does not match it", file=out)
        for n, unit in enumerate(units):
            whole = len(units) > 1 and n == len(units) - 1
            print(quote(unit.text, 200) + (" (the whole text, also checked)" if whole else ""), file=out)
            if speaker in ("interviewer", UNKNOWN):
                print(f"  questions: similarity to the closest phrasing; needs {th.question:.2f}, and to beat the "
                      f"closest counter-example by {th.margin:+.2f}", file=out)
                for s in unit.questions:
                    print(f"    {s.score:5.2f}  {s.status:<8}  {s.id}  via {quote(s.via.written, 60)} {s.via.where}",
                          file=out)
                if unit.counter:
                    score, p = unit.counter
                    print(f"    {score:5.2f}  counter-example: {quote(p.written, 60)} ({describe(p)}) {p.where}",
                          file=out)
                _print_alerts("compliance alerts", unit.compliance, th.compliance, out)
            if speaker in ("candidate", UNKNOWN):
                _print_red_flags(unit.red_flags, th, question, out)
        found = [f"question {h.id} ({h.score:.2f})" for h in verdict.questions]
        found += [f"compliance alert {h.id} ({h.score:.2f})" for h in verdict.compliance]
        found += [f"red flag {h.id} ({h.score:.2f})" for h in verdict.red_flags]
        print("the listener would show: " + (", ".join(found) if found else "nothing"), file=out)
    return 0


def _closest(wb: Workbench, side: str, vector, keep) -> tuple[float, Phrase] | None:
    """The most similar phrase of `side` that `keep` accepts, with its cosine similarity."""
    rows = [i for i, p in enumerate(wb.phrases[side]) if keep(p)]
    if not rows:
        return None
    sims = wb.vectors(side)[rows] @ vector
    best = int(sims.argmax())
    return float(sims[best]), wb.phrases[side][rows[best]]


def explain_alert(s: Scored) -> list[str]:
    """Why an alert candidate scored as it did: its closest example, and the negative example that vetoed it
    (the entry's closest negative example, when it is closer than any of the entry's examples)."""
    lines = []
    if s.nearest:
        sim, p = s.nearest
        lines.append(f"closest example {sim:.2f}: {quote(p.written, 60)} {p.where}")
    if s.veto:
        sim, p = s.veto
        vetoed = s.status != "MATCH" and (s.nearest is None or sim >= s.nearest[0])
        lines.append(f"{'vetoed by' if vetoed else 'closest'} negative example {sim:.2f}: "
                     f"{quote(p.written, 60)} {p.where}")
    return lines


def _print_red_flags(rows: list[Scored], th, question: str | None, out: IO[str]) -> None:
    """Retrieval and verifier side by side: the topic proposes, the stance decides."""
    asked = f"read with the question {quote(question, 60)}" if question else "read without a question"
    print(f"  red flags: topic (retrieval) x stance (the verifier's, {asked}); needs {th.red_flag:.2f}, "
          f"and a topic of {th.red_flag_topic:.2f} to be read at all", file=out)
    for s in rows:
        read = s.topic is not None and s.topic > 0 and s.status != "off topic" and s.score > 0
        parts = f"topic {s.topic:.2f} x stance {s.score / s.topic:.2f}" if read else (
            f"topic {s.topic:.2f}, not read" if s.topic is not None else "")
        print(f"    {s.score:5.2f}  {s.status:<9}  {s.id}  {parts}", file=out)
        for line in explain_alert(s):
            print(f"           {line}", file=out)


def _print_alerts(title: str, rows: list[Scored], threshold: float, out: IO[str]) -> None:
    print(f"  {title}: classifier probability; needs {threshold:.2f}", file=out)
    for s in rows:
        print(f"    {s.score:5.2f}  {s.status:<8}  {s.id}", file=out)
        for line in explain_alert(s):
            print(f"           {line}", file=out)
