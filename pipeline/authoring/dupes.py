"""`s2q bank dupes`: phrases that mean nearly the same but stand for different things.

Such pairs make the listener's choice between two entries a coin toss; each is reported with both
places, so the author can reword or move one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from pipeline.authoring.workbench import Workbench, describe, quote, workbenches
from pipeline.retrieval.phrases import Phrase


@dataclass
class Collision:
    similarity: float
    a: Phrase
    b: Phrase

    @property
    def what(self) -> str:
        if self.a.kind == self.b.kind == "question":
            return "near-duplicate questions"
        if "none" in (self.a.kind, self.b.kind):
            return "an example close to a counter-example"
        return "examples of different entries collide"

    def __str__(self) -> str:
        return (f"{self.similarity:.2f}  {self.what}\n"
                f"      {self.a.where}: {describe(self.a)}: {quote(self.a.written)}\n"
                f"      {self.b.where}: {describe(self.b)}: {quote(self.b.written)}")


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
    for wb in workbenches(dirs, embedder, cache_dir):
        found = find_collisions(wb, threshold)
        total += len(found)
        for c in found:
            print(c, file=out)
        print(f"{wb.directory}: {len(found)} pair(s) at similarity {threshold:.2f} or more", file=out)
    return 1 if total else 0
