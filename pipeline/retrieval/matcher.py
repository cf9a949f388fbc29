"""Decides what an utterance is: which bank question was asked, which alert or red flag fires.

Nearest-neighbour over labelled phrasings. Every sentence of the utterance (and
the whole utterance) is compared with all phrasings on its speaker's side; a
label fires when its closest phrasing is similar enough (the threshold in the
bank's `matching` config) and closer than the closest counter-example by the
configured margin. Counter-examples are negative examples and neutral sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from pipeline.retrieval.embedder import Embedder
from pipeline.retrieval.index import BankIndex
from pipeline.retrieval.schema import Thresholds

_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences worth checking alone (3+ words), plus the whole text when it has several."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if len(s.split()) >= 3]
    units = list(sentences)
    if len(sentences) != 1 and text.strip():
        units.append(text.strip())
    return units


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


KIND_OF_LIST = {"question": "questions", "compliance": "compliance", "red_flag": "red_flags"}
SIDE_KINDS = {"interviewer": ("question", "compliance"), "candidate": ("red_flag",)}


class Matcher:
    def __init__(self, index: BankIndex, embedder: Embedder, thresholds: Thresholds | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.thresholds = thresholds or index.bank.role.matching

    def threshold(self, kind: str) -> float:
        return getattr(self.thresholds, kind)

    def scores(self, text: str, speaker: str) -> list[tuple[str, dict[tuple[str, str], float], float]]:
        """Per sentence: (sentence, {(kind, id): best similarity}, best counter-example similarity)."""
        units = split_sentences(text)
        if not units:
            return []
        side = self.index.sides[speaker]
        vectors = self.embedder.encode(units)
        sims, rows = side.search(vectors)
        out = []
        for unit, unit_sims, unit_rows in zip(units, sims, rows):
            best: dict[tuple[str, str], float] = {}
            none = -1.0
            for sim, row in zip(unit_sims, unit_rows):
                if row < 0:
                    continue
                phrase = side.phrases[row]
                if phrase.kind == "none":
                    none = max(none, float(sim))
                else:
                    key = (phrase.kind, phrase.entry_id)
                    best[key] = max(best.get(key, -1.0), float(sim))
            out.append((unit, best, none))
        return out

    def match(self, text: str, speaker: str) -> MatchResult:
        """Interviewer text -> questions and compliance alerts; candidate text -> red flags.

        An `unknown` speaker is checked as both.
        """
        result = MatchResult(speaker=speaker, text=text)
        sides = ["interviewer", "candidate"] if speaker == "unknown" else [speaker]
        for side in sides:
            found: dict[tuple[str, str], Hit] = {}
            for unit, best, none in self.scores(text, side):
                for (kind, entry_id), score in best.items():
                    if score < self.threshold(kind) or score - none < self.thresholds.margin:
                        continue
                    hit = found.get((kind, entry_id))
                    if hit is None or score > hit.score:
                        found[(kind, entry_id)] = Hit(entry_id, round(score, 4), unit)
            for (kind, _), hit in found.items():
                getattr(result, KIND_OF_LIST[kind]).append(hit)
        for name in KIND_OF_LIST.values():
            getattr(result, name).sort(key=lambda h: -h.score)
        return result
