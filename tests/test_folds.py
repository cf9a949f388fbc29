"""`s2q bank test`'s numpy fold splitter gives scikit-learn's StratifiedGroupKFold folds exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pipeline.authoring.folds import stratified_group_folds


@pytest.mark.parametrize("seed", range(8))
def test_same_folds_as_scikit_learn(seed):
    model_selection = pytest.importorskip("sklearn.model_selection")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 300))
    labels = rng.choice(["none", "a", "b", "c", "d"], n, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    groups = rng.integers(0, n // 2, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = list(model_selection.StratifiedGroupKFold(5, shuffle=True, random_state=seed % 3)
                        .split(np.zeros(n), labels, groups))
        got = list(stratified_group_folds(labels, groups, 5, seed % 3))
    assert len(got) == len(expected)
    for (train, held), (want_train, want_held) in zip(got, expected):
        assert train.tolist() == list(want_train) and held.tolist() == list(want_held)


def test_groups_stay_whole_and_every_row_is_held_out_once():
    labels = ["x", "y"] * 20
    groups = [i // 4 for i in range(40)]
    held = np.concatenate([h for _, h in stratified_group_folds(labels, groups, 5)])
    assert sorted(held.tolist()) == list(range(40))
    for _, h in stratified_group_folds(labels, groups, 5):
        assert {groups[i] for i in h}.isdisjoint({groups[i] for i in set(range(40)) - set(h.tolist())})
