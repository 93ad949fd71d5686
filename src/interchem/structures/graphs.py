"""Connected groups of indices joined by pairs (symmetry orbits of hops, faces and cuts), by scipy."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def connected_groups(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected groups of 0..n-1 joined by ``pairs``: each ascending, ordered by their smallest member."""
    pairs = list(pairs)
    rows = np.array([a for a, _ in pairs], dtype=int)
    cols = np.array([b for _, b in pairs], dtype=int)
    graph = coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])
