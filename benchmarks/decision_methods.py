"""Decision methods compared by `benchmarks.understand`, each over one side's phrase embeddings.

A method is fitted on one kind's phrases (question, compliance or red_flag; every other phrase of
the side is a counter-example, `none`) and scores query vectors: per query, each entry's score,
where 0 means vetoed. One threshold per kind then decides, as `matcher.rejection` does live.

- `nn`: nearest neighbour: the entry's closest phrase, vetoed when a counter-example is closer
  (today's question rule).
- `centroid`: prototype scoring: cosine to the entry's mean example, vetoed when the mean of a
  counter-example group (each entry's negative examples, the neutral lines) is closer.
- `logreg`: multinomial logistic regression, entry ids vs `none` (today's alert classifier).
- `hardneg`: the same classifier with each entry's `negative_examples` weighted `HARD_WEIGHT`
  times, so the near-misses authors wrote (negations, contrasts) pull the boundary hardest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.retrieval import logreg
from pipeline.retrieval.index import AlertClassifier
from pipeline.retrieval.phrases import Phrase
from pipeline.retrieval.text import with_negation

HARD_WEIGHT = 3.0  # a negative example weighs this many ordinary counter-examples
C = AlertClassifier.C


@dataclass
class Scores:
    classes: list[str]  # entry ids, never "none"
    values: np.ndarray  # (queries, classes)


class NearestNeighbour:
    name = "nn"

    def fit(self, kind: str, phrases: list[Phrase], vectors: np.ndarray) -> "NearestNeighbour":
        self.classes = sorted({p.entry_id for p in phrases if p.kind == kind})
        self.labels = np.array([p.entry_id if p.kind == kind else ("none" if p.kind == "none" else "")
                                for p in phrases])
        self.vectors = vectors
        return self

    def score(self, queries: np.ndarray, texts: list[str] | None = None) -> Scores:
        sims = queries @ self.vectors.T
        none = self.labels == "none"
        counter = sims[:, none].max(axis=1) if none.any() else np.full(len(queries), -1.0)
        values = np.stack([sims[:, self.labels == c].max(axis=1) for c in self.classes], axis=1)
        return Scores(self.classes, np.where(values > counter[:, None], values, 0.0))


class Centroid:
    name = "centroid"

    def fit(self, kind: str, phrases: list[Phrase], vectors: np.ndarray) -> "Centroid":
        self.classes = sorted({p.entry_id for p in phrases if p.kind == kind})
        self.centroids = _unit(np.stack([vectors[[p.kind == kind and p.entry_id == c for p in phrases]].mean(0)
                                         for c in self.classes]))
        groups = sorted({p.entry_id for p in phrases if p.kind == "none"})
        self.counters = _unit(np.stack([vectors[[p.kind == "none" and p.entry_id == g for p in phrases]].mean(0)
                                        for g in groups])) if groups else np.zeros((0, vectors.shape[1]))
        return self

    def score(self, queries: np.ndarray, texts: list[str] | None = None) -> Scores:
        values = queries @ self.centroids.T
        counter = (queries @ self.counters.T).max(axis=1) if len(self.counters) else np.full(len(queries), -1.0)
        return Scores(self.classes, np.where(values > counter[:, None], values, 0.0))


class LogReg:
    name = "logreg"
    hard_weight = 1.0

    def fit(self, kind: str, phrases: list[Phrase], vectors: np.ndarray) -> "LogReg":
        keep = [i for i, p in enumerate(phrases) if p.kind in (kind, "none")]
        labels = [phrases[i].entry_id if phrases[i].kind == kind else "none" for i in keep]
        weights = np.array([self.hard_weight if phrases[i].field == "negative example" else 1.0 for i in keep])
        classes, self.coef, self.intercept = logreg.fit(vectors[keep], labels, c=C, sample_weight=weights)
        self.all_classes = classes
        self.classes = [c for c in classes if c != "none"]
        return self

    def score(self, queries: np.ndarray, texts: list[str] | None = None) -> Scores:
        logits = queries @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        cols = [self.all_classes.index(c) for c in self.classes]
        return Scores(self.classes, probs[:, cols])


class HardNegatives(LogReg):
    name = "hardneg"
    hard_weight = HARD_WEIGHT


class Negation(HardNegatives):
    """`hardneg` over [vector, vector if the sentence is negated]: sentence embeddings barely move
    with a "never" or "didn't", so the classifier gets the negated copy to learn the flip."""

    name = "negation"

    def fit(self, kind, phrases, vectors):
        return super().fit(kind, phrases, with_negation(vectors, [p.text for p in phrases]))

    def score(self, queries, texts=None):
        return super().score(with_negation(queries, texts))


METHODS = {m.name: m for m in (NearestNeighbour, Centroid, LogReg, HardNegatives, Negation)}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
