"""Tuned MiniLM embedders for the comparison: one on the whole bank, one per cross-validation fold.

The fold models never see their fold's phrases, so the thresholds and own-example recall fitted
for a tuned embedder come from phrases it was not trained on, as for the untuned one. Folders are
cached under ~/.cache/s2q/tuned by role, bank hash, options and fold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from pipeline.retrieval.bank import content_hash, load_bank
from benchmarks.finetune import TuneOptions, finetune
from pipeline.retrieval.phrases import bank_phrases

CACHE = Path.home() / ".cache" / "s2q" / "tuned"


def fold_held_out(bank, fold: int, folds: int) -> frozenset[str]:
    """The phrase texts of `fold` (row i of each side is in fold i % folds, as understand.out_of_fold)."""
    return frozenset(p.text for side in bank_phrases(bank).values() for i, p in enumerate(side) if i % folds == fold)


def model_dir(bank, options: TuneOptions, fold: int | None, folds: int, build: bool = True) -> Path | None:
    """The tuned model's folder; fine-tuned now when missing and `build`, else None."""
    settings = hashlib.sha1(json.dumps(asdict(options), sort_keys=True).encode()).hexdigest()[:6]
    tag = "all" if fold is None else f"fold{fold}of{folds}"
    path = CACHE / f"{bank.role.id}-{content_hash(bank)[:12]}-{settings}-{tag}"
    if not (path / "tuned.json").exists():
        if not build:
            return None
        held_out = frozenset() if fold is None else fold_held_out(bank, fold, folds)
        finetune(bank, path, options, held_out)
    return path


def tuned_for(name: str, role: str, folds: int, options: TuneOptions = TuneOptions(), build: bool = True):
    """The whole-bank tuned embedder, with `.folds` (one embedder per fold); None when torch is missing,
    or when it is not cached and not `build`."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    from pipeline.retrieval.embedder import Embedder

    bank = load_bank(role)
    path = model_dir(bank, options, None, folds, build)
    if path is None:
        return None
    embedder = Embedder(str(path)).load()
    if folds:
        embedder.folds = [Embedder(str(model_dir(bank, options, f, folds))).load() for f in range(folds)]
    return embedder
