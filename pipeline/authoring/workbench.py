"""One role's bank, its cached index and the listener's matcher, as search, dupes and test use them.

Authoring never re-derives what the listener does: the phrases are the index's own rows
(`retrieval.phrases`, with their file:line) and every decision comes from `retrieval.matcher`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from pipeline.retrieval.bank import BANK_ROOT, BankError, Problem, list_roles, role_dir
from pipeline.retrieval.phrases import Phrase

KIND_NAMES = {"question": "question", "compliance": "compliance alert", "red_flag": "red flag"}


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


class Workbench:
    """One role's bank, its (cached) index and matcher, and the place of every phrase."""

    def __init__(self, directory: Path, embedder=None, cache_dir: Path | None = None) -> None:
        from pipeline.retrieval.bank import load_bank
        from pipeline.retrieval.embedder import role_embedder
        from pipeline.retrieval.index import BankIndex
        from pipeline.retrieval.matcher import Matcher
        from pipeline.retrieval.stance_probe import stance_reader

        self.directory = Path(directory)
        self.bank = load_bank(directory=self.directory)
        self.embedder = role_embedder(self.bank.role, embedder).load()
        self.index = BankIndex.build(self.bank, self.embedder, cache_dir)
        # Red flags as the live matcher reads them (build_interview_step): the role's stance reader, if any.
        reader = stance_reader(self.bank.role, self.embedder)
        self.matcher = Matcher(self.index, self.embedder, verifier=reader, verify=reader is not None)
        self.phrases: dict[str, list[Phrase]] = {side: ix.phrases for side, ix in self.index.sides.items()}

    @property
    def thresholds(self):
        return self.matcher.thresholds

    def vectors(self, side: str) -> np.ndarray:
        return self.index.sides[side].vectors

    def cleaned(self, side: str) -> list[str]:
        """Each row's text as matched (fillers removed)."""
        return [p.text for p in self.phrases[side]]


def workbenches(dirs: Iterable[Path], embedder=None, cache_dir: Path | None = None) -> Iterator[Workbench]:
    """A workbench per role folder; every bank is validated before any model or cache work."""
    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import Embedder

    dirs = list(dirs)
    for directory in dirs:
        load_bank(directory=directory)
    embedder = (embedder or Embedder()).load()
    for directory in dirs:
        yield Workbench(directory, embedder, cache_dir)


def describe(p: Phrase) -> str:
    """'question `x` (alternative)', 'neutral line', 'negative example of red flag `y`'."""
    if p.kind != "none":
        return f"{KIND_NAMES[p.kind]} '{p.entry_id}' ({p.field})"
    if not p.entry_id:
        return "neutral line"
    return f"{p.field} of '{p.entry_id}'"


def quote(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return '"' + (text if len(text) <= width else text[: width - 1] + "…") + '"'
