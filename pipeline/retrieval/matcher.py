"""Decides what an utterance is: which bank question was asked, which alert or red flag fires.

Every sentence of the utterance (and the whole utterance) is checked alone, and
per sentence only the best entry of each kind counts.
- Questions: nearest neighbour over the bank's question phrasings; a question
  matches when its closest phrasing is similar enough (`matching.question` in
  role.yaml) and closer than the closest counter-example (negative examples,
  neutral sentences) by `matching.margin`.
- Compliance alerts and red flags: a classifier trained on the bank's examples
  and counter-examples (see `AlertClassifier`); its probability must reach
  `matching.compliance` / `matching.red_flag`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pipeline.retrieval.embedder import Embedder
from pipeline.retrieval.index import AlertClassifier, BankIndex
from pipeline.retrieval.schema import Thresholds
from pipeline.retrieval.text import clean_speech, split_sentences


@dataclass
class Hit:
    id: str
    score: float
    quote: str  # the sentence that matched


@dataclass
class MatchResult:
    speaker: str
    text: str
    questions: list[Hit] = field(default_factory=list)
    compliance: list[Hit] = field(default_factory=list)
    red_flags: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)  # embed, search


@dataclass
class Candidate:
    """One entry's score for one sentence, before thresholds."""

    kind: str  # question | compliance | red_flag
    id: str
    score: float
    counter: float | None = None  # closest counter-example (nearest-neighbour kinds only)


KIND_OF_LIST = {"question": "questions", "compliance": "compliance", "red_flag": "red_flags"}


class Matcher:
    def __init__(self, index: BankIndex, embedder: Embedder, thresholds: Thresholds | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.thresholds = thresholds or index.bank.role.matching
        self.timings_ms: dict[str, float] = {}  # of the last scores() call

    def scores(self, text: str, speaker: str) -> list[tuple[str, list[Candidate]]]:
        """Per sentence of `text`, the best candidate entry of each kind on this speaker's side."""
        units = split_sentences(text)
        if not units:
            return []
        t0 = time.perf_counter()
        vectors = self.embedder.encode([clean_speech(u) for u in units])
        t1 = time.perf_counter()
        per_unit: list[list[Candidate]] = [[] for _ in units]
        if speaker == "interviewer":
            self._question_candidates(vectors, per_unit)
        for kind, side in AlertClassifier.KINDS.items():
            classifier = self.index.classifiers.get(kind)
            if side != speaker or classifier is None:
                continue
            for candidates, probs in zip(per_unit, classifier.probabilities(vectors)):
                scored = [(float(p), c) for c, p in zip(classifier.classes, probs) if c != "none"]
                if scored:
                    score, entry = max(scored)
                    candidates.append(Candidate(kind, entry, score))
        self.timings_ms = {"embed": (t1 - t0) * 1000, "search": (time.perf_counter() - t1) * 1000}
        return list(zip(units, per_unit))

    def _question_candidates(self, vectors, per_unit: list[list[Candidate]]) -> None:
        side = self.index.sides["interviewer"]
        sims, rows = side.search(vectors)
        for candidates, unit_sims, unit_rows in zip(per_unit, sims, rows):
            best_question, counter = None, -1.0
            for sim, row in zip(unit_sims, unit_rows):
                if row < 0:
                    continue
                phrase = side.phrases[row]
                if phrase.kind == "question":
                    if best_question is None or sim > best_question[1]:
                        best_question = (phrase.entry_id, float(sim))
                elif phrase.kind == "none":
                    counter = max(counter, float(sim))
            if best_question:
                candidates.append(Candidate("question", best_question[0], best_question[1], counter))

    def match(self, text: str, speaker: str) -> MatchResult:
        """Interviewer text -> questions and compliance alerts; candidate text -> red flags.

        An `unknown` speaker is checked as both.
        """
        sides = ["interviewer", "candidate"] if speaker == "unknown" else [speaker]
        scored, timings = [], {"embed": 0.0, "search": 0.0}
        for side in sides:
            scored += self.scores(text, side)
            for k, v in self.timings_ms.items():
                timings[k] += v
        result = decide(text, speaker, scored, self.thresholds)
        result.timings_ms = {k: round(v, 2) for k, v in timings.items()}
        return result


def decide(text: str, speaker: str, scored: list[tuple[str, list[Candidate]]], thresholds: Thresholds) -> MatchResult:
    """Applies thresholds to `Matcher.scores` output; separate so calibration can sweep it cheaply."""
    result = MatchResult(speaker=speaker, text=text)
    found: dict[tuple[str, str], Hit] = {}
    for unit, candidates in scored:
        for c in candidates:
            if c.score < getattr(thresholds, c.kind):
                continue
            if c.counter is not None and c.score - c.counter < thresholds.margin:
                continue
            hit = found.get((c.kind, c.id))
            if hit is None or c.score > hit.score:
                found[(c.kind, c.id)] = Hit(c.id, round(c.score, 4), unit)
    for (kind, _), hit in found.items():
        getattr(result, KIND_OF_LIST[kind]).append(hit)
    for name in KIND_OF_LIST.values():
        getattr(result, name).sort(key=lambda h: -h.score)
    result.questions = _asked(result.questions)
    return result


def _asked(hits: list[Hit]) -> list[Hit]:
    """One utterance asks one question, or several in sentences ending with '?'.

    "Great, some basics first. What do bias and variance mean?" asks the second
    sentence; its lead-in must not count as a question of its own.
    """
    questions = [h for h in hits if h.quote.rstrip().endswith("?")]
    return questions if questions else hits[:1]
