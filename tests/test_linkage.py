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


def _corner(rng, sides: list[int], spread: float) -> np.ndarray:
    """Voices in one corner of the space (as synthetic ones are): a shared part plus a small own part."""
    shared = np.ones(32)
    own = rng.standard_normal((len(sides), 32))
    return np.stack([shared + spread * own[k] + 0.01 * rng.standard_normal(32) for k in sides])


def test_voices_in_one_corner_part_once_centred_with_enough_on_each_side():
    from pipeline.audio.linkage import voice_groups

    rng = np.random.default_rng(0)
    x = _corner(rng, [0, 1, 0, 1, 0, 1], 0.2)  # raw distances well under 0.3
    assert len(set(voice_groups(x, 0.3, None, 3, 3))) == 1  # not centred: one voice
    assert _partition(voice_groups(x, 0.3, 1.1, 3, 3)) == {frozenset({0, 2, 4}), frozenset({1, 3, 5})}
    assert len(set(voice_groups(x[:5], 0.3, 1.1, 3, 3))) == 1  # two on one side: not enough to split


def test_voices_apart_in_the_raw_space_need_no_evidence_and_the_cap_merges_the_closest():
    from pipeline.audio.linkage import voice_groups

    x = np.eye(4)[[0, 1, 2, 3]] + np.array([0.0, 0.0, 0.0, 0.9])[None, :] * np.array([[0], [0], [1], [0]])
    assert len(set(voice_groups(x, 0.3, 1.1, 3, 4))) == 4  # one vector each, all far apart
    groups = voice_groups(x, 0.3, 1.1, 3, 3)
    assert len(set(groups)) == 3 and groups[2] == groups[3]  # the two closest (rows 2 and 3) merged
