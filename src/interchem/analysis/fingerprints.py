"""A cheap structure descriptor and the diversity selection built on it (fine-tuning's sampling step).

Why hand-written: the selection needs a fixed-length vector per configuration that sees strain (bond
lengths), rattling (peak widths) and composition, for a few hundred small cells, with no new dependency.
SOAP (dscribe) or ACE descriptors would do it better but are not in the environment and are far more than
the farthest-point selection needs; pymatgen's ``RadialDistributionFunction`` lives in a diffraction
context and is per-structure only. So: a partial radial distribution histogram per element pair over one
global element list, Gaussian-smeared so small displacements move the vector continuously, normalised
per atom so cell size does not matter (Si8 and Si64 of the same crystal give the same vector).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymatgen.core import Structure

R_MAX_A = 5.0
N_BINS = 40
SMEAR_A = 0.08


def rdf_fingerprint(
    structure: Structure, elements: Sequence[str], r_max: float = R_MAX_A, n_bins: int = N_BINS
) -> np.ndarray:
    """Concatenated pair histograms g_ab(r) (a <= b over ``elements``, sorted) of ``structure``.

    Each block counts neighbours of type b around atoms of type a within ``r_max`` (Gaussian-smeared,
    width ``SMEAR_A``), divided by the number of atoms, so supercells of one crystal give one vector.
    Blocks of pairs absent from the structure are zero, so different compositions are far apart.
    """
    elements = sorted(set(elements))
    missing = {el.symbol for el in structure.composition.elements} - set(elements)
    if missing:
        raise ValueError(f"structure has element(s) {sorted(missing)} not in the descriptor's list {elements}")
    pairs = [(a, b) for i, a in enumerate(elements) for b in elements[i:]]
    centres = np.linspace(0.0, r_max, n_bins)
    out = np.zeros((len(pairs), n_bins))
    species = [site.specie.symbol for site in structure]
    i_idx, j_idx, _, dist = structure.get_neighbor_list(r_max)
    index = {pair: k for k, pair in enumerate(pairs)}
    for i, j, d in zip(i_idx, j_idx, dist):
        a, b = sorted((species[i], species[j]))
        out[index[(a, b)]] += np.exp(-0.5 * ((centres - d) / SMEAR_A) ** 2)
    return (out / len(structure)).ravel()


def fingerprints(structures: Sequence[Structure], r_max: float = R_MAX_A, n_bins: int = N_BINS) -> np.ndarray:
    """``rdf_fingerprint`` of every structure over their common element list (rows)."""
    elements = sorted({el.symbol for s in structures for el in s.composition.elements})
    return np.array([rdf_fingerprint(s, elements, r_max, n_bins) for s in structures]).reshape(len(structures), -1)


def unique_indices(x: np.ndarray, tol: float = 1e-3) -> list[int]:
    """Indices of the rows of ``x`` that are not within ``tol`` (Euclidean, relative to the mean row
    norm) of an earlier kept row: de-duplication of configurations by their fingerprints."""
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return []
    scale = max(float(np.linalg.norm(x, axis=1).mean()), 1e-12)
    kept: list[int] = []
    for i in range(len(x)):
        if not kept or np.linalg.norm(x[kept] - x[i], axis=1).min() > tol * scale:
            kept.append(i)
    return kept


def farthest_point_sampling(x: np.ndarray, n: int, seed: int = 0, always: Sequence[int] = ()) -> list[int]:
    """``n`` row indices of ``x`` chosen greedily, each the farthest (Euclidean) from those chosen so far.

    Starts from ``always`` (indices that must be kept, e.g. the unstrained crystals) or, without them, from
    one row drawn with ``seed``; deterministic for a given seed. ``n`` larger than the number of rows
    returns every row."""
    x = np.asarray(x, dtype=float)
    m = len(x)
    if n >= m:
        return list(range(m))
    chosen = list(dict.fromkeys(int(i) for i in always))[:n]
    if not chosen:
        chosen = [int(np.random.default_rng(seed).integers(m))]
    dmin = np.min(np.linalg.norm(x[:, None, :] - x[None, chosen, :], axis=2), axis=1)
    while len(chosen) < n:
        nxt = int(np.argmax(dmin))
        chosen.append(nxt)
        dmin = np.minimum(dmin, np.linalg.norm(x - x[nxt], axis=1))
    return chosen
