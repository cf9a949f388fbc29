"""Stratified k-fold splits that keep groups whole, with numpy (for `s2q bank test`, no scikit-learn).

The same algorithm and the same folds as scikit-learn's `StratifiedGroupKFold(shuffle=True)`
(1.4 and later): groups are shuffled, taken in order of how uneven their classes are, and each
goes to the fold where the classes stay most evenly spread (ties: the smaller fold).
"""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np


def stratified_group_folds(labels, groups, folds: int = 5, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train rows, held-out rows) for each fold; rows with the same group are held out together."""
    _, y_inv, y_cnt = np.unique(np.asarray(labels), return_inverse=True, return_counts=True)
    if np.all(folds > y_cnt):
        raise ValueError(f"{folds} folds, but no class has that many members")
    if folds > y_cnt.min():
        warnings.warn(f"the least populated class has only {y_cnt.min()} members, fewer than {folds} folds")
    _, groups_inv, groups_cnt = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    if folds > len(groups_cnt):
        raise ValueError(f"{folds} folds, but only {len(groups_cnt)} groups")
    counts = np.zeros((len(groups_cnt), len(y_cnt)))
    np.add.at(counts, (groups_inv, y_inv), 1)
    perm = np.arange(len(groups_cnt))
    np.random.RandomState(seed).shuffle(perm)
    counts = counts[perm]
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    groups_inv = inverse[groups_inv]

    per_fold = np.zeros((folds, len(y_cnt)))
    fold_of = np.empty(len(groups_cnt), int)
    for g in np.argsort(-np.std(counts, axis=1), kind="stable"):
        best, best_eval, best_size = 0, np.inf, np.inf
        for i in range(folds):
            per_fold[i] += counts[g]
            spread = float(np.mean(np.std(per_fold / y_cnt[None, :], axis=0)))
            per_fold[i] -= counts[g]
            size = per_fold[i].sum()
            if spread < best_eval or (np.isclose(spread, best_eval) and size < best_size):
                best, best_eval, best_size = i, spread, size
        per_fold[best] += counts[g]
        fold_of[g] = best
    rows = np.arange(len(groups_inv))
    for i in range(folds):
        held = fold_of[groups_inv] == i
        yield rows[~held], rows[held]
