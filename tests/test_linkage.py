"""The numpy average-linkage cut (pipeline/audio/linkage.py) partitions voices as scipy does."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio.linkage import average_cut, flat_clusters


def _partition(labels) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, g in enumerate(labels):
        groups.setdefault(int(g), set()).add(i)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("t", [0.3, 0.7, 1.0, 1.2])
def test_same_partition_as_scipy_average_cosine(seed, t):
    hierarchy = pytest.importorskip("scipy.cluster.hierarchy")
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 32))
    x = centres[rng.integers(0, 3, 60)] + rng.standard_normal((60, 32)) * (0.3 + 0.3 * seed)
    expected = hierarchy.fcluster(hierarchy.linkage(x, "average", metric="cosine"), t, "distance")
    assert _partition(average_cut(x, t)) == _partition(expected) == _partition(flat_clusters(x, t))


def test_one_and_no_vector():
    assert flat_clusters(np.ones((1, 4)), 0.5).tolist() == average_cut(np.ones((1, 4)), 0.5).tolist() == [1]
    assert flat_clusters(np.ones((0, 4)), 0.5).tolist() == []
