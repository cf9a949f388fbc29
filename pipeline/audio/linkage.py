"""Average-linkage clustering of voice vectors with numpy: the part of scipy the voice labeler uses.

`flat_clusters(vectors, t)` gives the same partition as
`scipy.cluster.hierarchy.fcluster(linkage(vectors, "average", metric="cosine"), t, "distance")`
(cluster numbers may differ; the labeler renumbers clusters by first appearance). Average
linkage never merges at a smaller distance than an earlier merge, so merging the closest pair
while it is within `t` is that cut of the tree. A session clusters at most a few hundred long
utterances: each merge is one argmin over the distance matrix (a 500-vector session: ~0.2 s).
scipy is 143 MB installed; this is what lets the default install drop it.
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
