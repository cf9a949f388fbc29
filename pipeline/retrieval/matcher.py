"""Decides what an utterance is: which bank question was asked, which alert or red flag fires.

Every sentence of the utterance (and the whole utterance) is checked alone, and
per sentence only the best entry of each kind counts.
- Questions: nearest neighbour over the bank's question phrasings; a question
  matches when its closest phrasing is similar enough (`matching.question` in
  role.yaml) and closer than the closest counter-example (negative examples,
  neutral sentences) by `matching.margin`.
- Compliance alerts: a classifier trained on the bank's examples and
  counter-examples (see `AlertClassifier`); its probability must reach `matching.compliance`.
- Red flags, in two steps: the classifier proposes the flags whose *topic* the
  sentence is on (probability at least `matching.red_flag_topic`, the best
  `VERIFY_TOP`), then the verifier (`verifier.py`) reads each proposed flag
  against the whole answer and the question it answers; the topic's probability
  times the verifier's that the candidate shows the flag's *stance* must reach
  `matching.red_flag`.
`rejection()` is the only place these thresholds are applied: the listener
(`decide`), `s2q bank search` (`Matcher.candidates`) and the held-out
`s2q bank test` all go through it, so they cannot disagree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from pipeline.events import is_unnamed
from pipeline.retrieval.embedder import Embedder
from pipeline.retrieval.index import AlertClassifier, BankIndex
from pipeline.retrieval.phrases import SIDES
from pipeline.retrieval.schema import KIND_LISTS, EntryKind, Thresholds, hits_of
from pipeline.retrieval.text import clean_speech, sounds_like_question, split_sentences
from pipeline.retrieval.verifier import Verifier

VERIFY_TOP = 2  # red flags the verifier reads per sentence: the topic's best two, so its cost stays bounded


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

    kind: EntryKind
    id: str
    score: float
    counter: float | None = None  # closest counter-example (nearest-neighbour kinds only)
    row: int | None = None  # nearest-neighbour kinds: the phrase row it was found through
    topic: float | None = None  # red flags: retrieval's probability; `score` is then topic x the verifier's stance


@dataclass
class Unit:
    """One sentence (or the whole text) as the matcher checks it: its top candidates, before thresholds.

    Attributes:
        text: the words as said.
        candidates: per kind (questions first), the best entries, best first.
        counter: the closest counter-example on the interviewer side, as (similarity, phrase row).
    """

    text: str
    candidates: list[Candidate] = field(default_factory=list)
    counter: tuple[float, int] | None = None


def rejection(candidate: Candidate, thresholds: Thresholds, sentence: str | None = None) -> str | None:
    """THE threshold rule: why a candidate does not count ("too low", "counter", "not asked"), or None.

    A candidate counts when its score reaches its kind's threshold and, for nearest-neighbour kinds,
    beats the closest counter-example by the margin. A red flag must also be on topic (retrieval's
    probability at least `red_flag_topic`) before its score (topic x stance, `verify`) counts. A question
    also needs its `sentence` (when given) to ask something (`sounds_like_question`): a lead-in such as "Great, let's start with some
    fundamentals and then talk about systems you have built." is never a question asked.
    """
    if candidate.topic is not None and candidate.topic < thresholds.red_flag_topic:
        return "off topic"
    if candidate.score < thresholds.of(candidate.kind):
        return "too low"
    if candidate.counter is not None and candidate.score - candidate.counter < thresholds.margin:
        return "counter"
    if candidate.kind == "question" and sentence is not None and not sounds_like_question(sentence):
        return "not asked"
    return None


def nearest_questions(sims, rows, phrases, top: int = 1) -> tuple[list[Candidate], tuple[float, int] | None]:
    """The `top` closest questions and the closest counter-example, from one query's neighbours.

    `sims` and `rows` are the query's similarities and phrase rows (rows < 0 are skipped). Each
    question counts once, by its closest phrasing; of equally close phrases the first row wins.
    """
    sims, rows = np.asarray(sims), np.asarray(rows)
    order = np.lexsort((rows, -sims))
    best: dict[str, tuple[float, int]] = {}
    counter = None
    for sim, row in zip(sims[order], rows[order]):
        if row < 0:
            continue
        phrase = phrases[row]
        if phrase.kind == "question" and phrase.entry_id not in best:
            best[phrase.entry_id] = (float(sim), int(row))
        elif phrase.kind == "none" and counter is None:
            counter = (float(sim), int(row))
        if len(best) >= top and counter is not None:
            break
    counter_score = counter[0] if counter else -1.0
    found = [Candidate("question", qid, score, counter_score, row) for qid, (score, row) in list(best.items())[:top]]
    return found, counter


def ranked_alerts(kind: EntryKind, classes: list[str], probs, top: int = 1) -> list[Candidate]:
    """The `top` most probable entries of a classifier's probabilities (never `none`)."""
    scored = sorted(((float(p), c) for c, p in zip(classes, probs) if c != "none"), reverse=True)
    return [Candidate(kind, c, p) for p, c in scored[:top]]


class Matcher:
    def __init__(self, index: BankIndex, embedder: Embedder, thresholds: Thresholds | None = None,
                 verifier: Verifier | None = None, verify: bool = True) -> None:
        """`verify=False`: red flags by topic alone, as before the verifier (benchmarks compare the two)."""
        self.index = index
        self.embedder = embedder
        self.verifier = (verifier or Verifier()) if verify else None
        self.thresholds = thresholds or index.bank.role.matching
        self.statements = {f.id: f.name for f in index.bank.red_flags}  # what the verifier reads a flag as
        self.timings_ms: dict[str, float] = {}  # of the last scores() / candidates() call

    def candidates(self, text: str, speaker: str, top: int = 1, question: str | None = None) -> list[Unit]:
        """Per sentence of `text`, the `top` candidate entries of each kind on this speaker's side.

        An `unknown` speaker is checked as both. `question`: the interviewer's words this text answers,
        which the verifier reads with it. What `s2q bank search` shows; `match()` decides on top=1.
        """
        units = [Unit(u) for u in split_sentences(text)]
        if not units:
            return []
        sides = SIDES if is_unnamed(speaker) else (speaker,)
        exchange = bool(question and self.verifier and "candidate" in sides and "red_flag" in self.index.classifiers)
        t0 = time.perf_counter()
        vectors = self.embedder.encode([clean_speech(u.text) for u in units]  # and the question with the answer
                                       + ([clean_speech(f"{question} {text}")] if exchange else []))
        if exchange:
            vectors, exchange_vector = vectors[:-1], vectors[-1:]
        t1 = time.perf_counter()
        if "interviewer" in sides:
            side = self.index.sides["interviewer"]
            sims, rows = side.search(vectors)
            for unit, unit_sims, unit_rows in zip(units, sims, rows):
                unit.candidates, unit.counter = nearest_questions(unit_sims, unit_rows, side.phrases, top)
        for kind, side in AlertClassifier.KINDS.items():
            classifier = self.index.classifiers.get(kind)
            if side not in sides or classifier is None:
                continue
            for unit, probs in zip(units, classifier.probabilities(vectors)):
                wanted = max(top, VERIFY_TOP) if kind == "red_flag" and self.verifier else top
                unit.candidates += ranked_alerts(kind, classifier.classes, probs, wanted)
        if exchange:  # "No, not really." is on no topic alone, and on monitoring after "How did you monitor it?"
            classifier = self.index.classifiers["red_flag"]
            units.append(Unit(text, ranked_alerts("red_flag", classifier.classes,
                                                  classifier.probabilities(exchange_vector)[0], max(top, VERIFY_TOP))))
        t2 = time.perf_counter()
        if self.verifier is not None:
            verify(units, self.verifier, self.statements, self.thresholds, question, top, answer=text)
        self.timings_ms = {"embed": (t1 - t0) * 1000, "search": (t2 - t1) * 1000,
                           "verify": (time.perf_counter() - t2) * 1000}
        return units

    def scores(self, text: str, speaker: str, question: str | None = None) -> list[tuple[str, list[Candidate]]]:
        """Per sentence of `text`, the best candidate entry of each kind on this speaker's side."""
        return [(u.text, u.candidates) for u in self.candidates(text, speaker, top=1, question=question)]

    def match(self, text: str, speaker: str, question: str | None = None) -> MatchResult:
        """Interviewer text -> questions and compliance alerts; candidate text -> red flags.

        An `unknown` speaker is checked as both; `question` is what the text answers (red flags).
        """
        result = decide(text, speaker, self.scores(text, speaker, question), self.thresholds)
        result.timings_ms = {k: round(v, 2) for k, v in self.timings_ms.items()}
        return result


def verify(units: list[Unit], verifier: Verifier, statements: dict[str, str], thresholds: Thresholds,
           question: str | None = None, top: int = 1, answer: str | None = None) -> None:
    """Red flags on topic get as their score the probability that the answer is on the flag's topic *and*
    shows its stance: retrieval's topic times the verifier's stance, read in one batch.

    Retrieval's probability stays on each red-flag candidate as `topic`. Over all units, the
    `VERIFY_TOP` flags with the best topic (at least `red_flag_topic`) are read by the verifier
    against the whole `answer` (default: each unit alone) and its `question`; the rest score 0 (not
    read). The stance is the answer's, not a sentence's: "Early on we had no tests." means something
    else in an answer that goes on "now every change runs them". Each unit then keeps its `top` red
    flags, best stance first. `s2q bank test` calls this too, on held-out topics.
    """
    groups = [units] if answer is not None else [[u] for u in units]  # no answer: each unit stands alone
    reads = []  # (group's answer, flag, candidates to score)
    for group in groups:
        flags = [c for u in group for c in u.candidates if c.kind == "red_flag"]
        best_topic: dict[str, float] = {}
        for c in flags:
            c.topic, c.score = c.score, 0.0
            if c.topic >= thresholds.red_flag_topic:
                best_topic[c.id] = max(best_topic.get(c.id, 0.0), c.topic)
        text = answer if answer is not None else group[0].text
        for flag in sorted(best_topic, key=lambda f: -best_topic[f])[:VERIFY_TOP]:
            reads.append((text, flag, [c for c in flags if c.id == flag and c.topic >= thresholds.red_flag_topic]))
    stances = verifier.scores([(statements[flag], question, text) for text, flag, _ in reads])
    for (_, _, candidates), stance in zip(reads, stances):
        for c in candidates:
            c.score = c.topic * float(stance)
    for unit in units:
        ranked = sorted((c for c in unit.candidates if c.kind == "red_flag"), key=lambda c: (-c.score, -c.topic))
        unit.candidates = [c for c in unit.candidates if c.kind != "red_flag"] + ranked[:top]


def decide(text: str, speaker: str, scored: list[tuple[str, list[Candidate]]], thresholds: Thresholds) -> MatchResult:
    """Applies thresholds to `Matcher.scores` output; separate so calibration can sweep it cheaply."""
    result = MatchResult(speaker=speaker, text=text)
    found: dict[tuple[str, str], Hit] = {}
    for unit, candidates in scored:
        for c in candidates:
            if rejection(c, thresholds, unit) is not None:
                continue
            hit = found.get((c.kind, c.id))
            if hit is None or c.score > hit.score:
                found[(c.kind, c.id)] = Hit(c.id, round(c.score, 4), unit)
    for (kind, _), hit in found.items():
        hits_of(result, kind).append(hit)
    for kind in KIND_LISTS:
        hits_of(result, kind).sort(key=lambda h: -h.score)
    result.questions = _asked(result.questions)
    return result


def _asked(hits: list[Hit]) -> list[Hit]:
    """One utterance asks one question, or several in sentences ending with '?'.

    "Great, some basics first. What do bias and variance mean?" asks the second
    sentence; its lead-in must not count as a question of its own.
    """
    questions = [h for h in hits if h.quote.rstrip().endswith("?")]
    return questions if questions else hits[:1]
