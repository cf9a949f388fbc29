"""Average-linkage clustering of voice vectors, and the voice labeler's grouping rule.

`flat_clusters(vectors, t)` gives the partition of
`scipy.cluster.hierarchy.fcluster(linkage(vectors, "average", metric="cosine"), t, "distance")`
(cluster numbers may differ; the labeler renumbers clusters by first appearance), with scipy when
it is installed and in numpy otherwise (`average_cut`). Average linkage never merges at a smaller
distance than an earlier merge, so merging the closest pair while it is within `t` is that cut of
the tree; in numpy each merge is one argmin over the distance matrix (a 500-vector session: ~0.2 s,
scipy ~10x less). scipy is 143 MB installed; the numpy cut is what lets an install drop it.
`voice_groups` is how the labeler groups a session's voices (raw and centred splits, a cap).
"""

from __future__ import annotations

import numpy as np


def cosine_distances(vectors: np.ndarray) -> np.ndarray:
    """1 - cosine similarity between every two rows, (n, n), float64."""
    x = np.asarray(vectors, np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return np.clip(1.0 - x @ x.T, 0.0, 2.0)


def flat_clusters(vectors: np.ndarray, t: float) -> np.ndarray:
    """Cluster number (1..k) of each row: groups whose average cosine distance is at most `t`."""
    n = len(vectors)
    labels = np.arange(n)
    if n < 2:
        return labels + 1
    try:  # the same cut in C when scipy is installed: ~10x faster on a long session's 600 utterances
        from scipy.cluster.hierarchy import fcluster, linkage
    except ImportError:
        return average_cut(vectors, t)
    return np.unique(fcluster(linkage(vectors, "average", metric="cosine"), t, "distance"), return_inverse=True)[1] + 1


def average_cut(vectors: np.ndarray, t: float) -> np.ndarray:
    """`flat_clusters` in numpy: the closest pair merged while within `t` (Lance-Williams)."""
    n = len(vectors)
    labels = np.arange(n)
    if n < 2:
        return labels + 1
    dist = cosine_distances(vectors)
    np.fill_diagonal(dist, np.inf)
    sizes = np.ones(n)
    alive = np.ones(n, bool)
    for _ in range(n - 1):
        flat = int(np.argmin(dist))
        a, b = divmod(flat, n)
        if not dist[a, b] <= t:
            break
        # Lance-Williams for average linkage: the merged group's distance to every other group
        merged = (sizes[a] * dist[a] + sizes[b] * dist[b]) / (sizes[a] + sizes[b])
        dist[a, :], dist[:, a] = merged, merged
        dist[a, a] = np.inf
        dist[b, :], dist[:, b] = np.inf, np.inf
        sizes[a] += sizes[b]
        alive[b] = False
        labels[labels == b] = a
    return np.unique(labels, return_inverse=True)[1] + 1


def merge_closest(vectors: np.ndarray, groups: np.ndarray, keep: int) -> np.ndarray:
    """Groups merged two at a time (the pair whose mean vectors are most alike) until `keep` are left."""
    groups = np.asarray(groups).copy()
    ids = np.unique(groups)
    if len(ids) <= max(keep, 1):
        return groups
    x = np.asarray(vectors, np.float64)
    sums = np.array([x[groups == g].sum(axis=0) for g in ids])
    unit = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    alive = np.ones(len(ids), bool)
    while alive.sum() > max(keep, 1):
        a, b = divmod(int(np.argmax(sim)), len(ids))
        sums[a] += sums[b]
        alive[b] = False
        groups[groups == ids[b]] = ids[a]
        u = sums[a] / max(float(np.linalg.norm(sums[a])), 1e-12)
        row = np.where(alive, (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)) @ u, -np.inf)
        row[a] = -np.inf
        sim[a, :], sim[:, a] = row, row
        sim[b, :], sim[:, b] = -np.inf, -np.inf
    return groups


def voice_groups(vectors: np.ndarray, raw_split: float, centred_split: float | None, min_members: int,
                 most: int) -> np.ndarray:
    """Group number of each voice vector: apart when the vectors themselves differ (average cosine
    distance over `raw_split`), or, with `centred_split`, when they differ around the session's mean
    voice (over `centred_split` once centred) and each side holds at least `min_members` vectors; at
    most `most` groups (the closest merged).

    Real voices differ in the raw space (two people 0.3-0.5 apart, one 0.07-0.3) but centring on a
    short session's mean spreads one voice's noise over the whole sphere (one real speaker gave three
    groups in 30 s); synthetic voices sit in one corner (0.05-0.15 apart) and part only once centred.
    Hence centred splits need evidence on both sides, raw ones do not.
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, int)
    raw = flat_clusters(vectors, raw_split)
    groups = raw
    if centred_split is not None and n >= 2:
        centred = vectors - vectors.mean(axis=0)
        centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
        parts = np.unique(raw * (n + 1) + flat_clusters(centred, centred_split), return_inverse=True)[1]
        ids, sizes = np.unique(parts, return_counts=True)
        parent = np.array([raw[parts == g][0] for g in ids])
        big = sizes >= min_members
        means = np.array([centred[parts == g].mean(axis=0) for g in ids])
        groups = raw * (n + 1)  # a raw group with fewer than two big parts stays whole
        for g in ids:
            if big[g] and (big & (parent == parent[g])).sum() > 1:
                groups = np.where(parts == g, groups + g + 1, groups)
        for g in ids:  # a small part joins the nearest big part of its raw group
            siblings = ids[big & (parent == parent[g])]
            if not big[g] and len(siblings) > 1:
                near = siblings[int(np.argmax(means[siblings] @ means[g]))]
                groups = np.where(parts == g, raw * (n + 1) + near + 1, groups)
        groups = np.unique(groups, return_inverse=True)[1] + 1
    return merge_closest(vectors, groups, most)
