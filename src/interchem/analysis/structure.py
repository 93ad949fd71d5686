"""Pure structural and mechanical analysis: density, radial distribution functions, coordination,
volume per host atom against Li content, volume expansion, Voigt-Reuss-Hill moduli.

No I/O, no calculators, no stores: every function takes pymatgen Structures, arrays or a
Trajectory and returns numbers, arrays or small pydantic models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations_with_replacement

import numpy as np
from pydantic import BaseModel
from pymatgen.analysis.elasticity.elastic import ElasticTensor
from pymatgen.core import Composition, Element, Structure

from interchem.errors import ElasticError

AVOGADRO = 6.02214076e23
GPA_PER_EV_A3 = 160.21766208


# --- density -------------------------------------------------------------------------------------


def density_g_cm3(structure: Structure) -> float:
    """Mass density (g/cm^3) of a periodic cell.

    By hand rather than ``Structure.density``: pymatgen converts amu with its own mass constant, 1.5e-9
    relative off (g/mol) / N_A, with which the amorphous cells are sized; a cell packed at a density must
    read back at exactly that density.
    """
    mass = float(structure.composition.weight)  # g/mol
    return mass / AVOGADRO / (structure.volume * 1e-24)


def elemental_volume_density(composition: Composition | str) -> float:
    """A rough density (g/cm^3): the mass over the sum of the elements' own solid molar volumes.

    Over the 35 crystalline phases of the card library (metals, alloys, oxides, nitrides,
    sulfides, halides, elements) the true density lies between 0.96x and 3.1x this estimate
    (compounds of small anions pack much tighter than the elements). ``density_bounds`` turns
    that into a sanity window.
    """
    comp = Composition(composition)
    volume_cm3 = 0.0
    for el, amount in comp.items():
        molar_volume = Element(el.symbol).molar_volume
        if molar_volume is None:
            raise ValueError(f"no molar volume known for {el.symbol}")
        volume_cm3 += amount * float(molar_volume)
    return float(comp.weight) / volume_cm3


# Sanity window around elemental_volume_density (see its docstring): wider than the 0.96-3.1x
# seen in crystals at the low end, because amorphous phases and MLIP predictions may be 10-20 % less
# dense and a melt-quench is started loose; a density outside it means a wrong unit or a typo.
DENSITY_WINDOW = (0.5, 3.5)


def density_bounds(composition: Composition | str) -> tuple[float, float]:
    rough = elemental_volume_density(composition)
    return DENSITY_WINDOW[0] * rough, DENSITY_WINDOW[1] * rough


# --- radial distribution functions --------------------------------------------------------------


class PairRDF(BaseModel):
    """g(r) of one element pair averaged over frames, with the first peak and minimum."""

    pair: str  # "Si-Si", "Li-Si" (alphabetical)
    r: list[float]
    g: list[float]
    first_peak_A: float | None
    first_minimum_A: float | None
    coordination: float | None  # mean number of B around A up to first_minimum_A (A = first element)


def _frames_from(structures_or_traj) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(species, positions (F, N, 3), lattices (F, 3, 3)) from Structures or a pymatgen Trajectory."""
    if isinstance(structures_or_traj, Structure):
        structures_or_traj = [structures_or_traj]
    if hasattr(structures_or_traj, "coords") and hasattr(structures_or_traj, "constant_lattice"):
        traj = structures_or_traj
        frac = np.asarray(traj.coords, dtype=float)
        lat = np.asarray(traj.lattice, dtype=float)
        if traj.constant_lattice or lat.ndim == 2:
            lat = np.repeat(lat.reshape(1, 3, 3), len(frac), axis=0)
        species = [str(s) for s in traj.species]
        return species, np.einsum("fij,fjk->fik", frac, lat), lat
    structures = list(structures_or_traj)
    if not structures:
        raise ValueError("no frames to analyse")
    species = [site.species_string for site in structures[0]]
    return (
        species,
        np.array([s.cart_coords for s in structures]),
        np.array([s.lattice.matrix for s in structures]),
    )


def partial_rdfs(
    frames,
    r_max: float = 6.0,
    dr: float = 0.05,
    pairs: Iterable[tuple[str, str]] | None = None,
    cutoffs: dict[str, float | None] | None = None,
) -> dict[str, PairRDF]:
    """Partial radial distribution functions g_ab(r), averaged over frames.

    ``frames``: a Structure, a list of Structures (same atoms in the same order) or a pymatgen
    Trajectory. Normalisation: g_ab(r) = V n_ab(r) / (N_a (N_b - delta_ab) 4 pi r^2 dr) with n_ab the
    number of ordered (a, b) pairs in the shell, so g -> 1 at large r in any cell size. r_max may
    exceed half the cell (periodic images are included through ASE's neighbour list).
    ``cutoffs`` ({"Si-Si": 2.85, ...}) replaces the detected first minimum as the coordination
    cutoff (use the minima of a thermally averaged g(r) for a single noisy frame).
    """
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    species, positions, lattices = _frames_from(frames)
    species_arr = np.array(species)
    elements = sorted(set(species))
    if pairs is None:
        pairs = list(combinations_with_replacement(elements, 2))
    pairs = [tuple(sorted(p)) for p in pairs]
    edges = np.arange(0.0, r_max + dr / 2, dr)
    centres = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    counts = {p: np.zeros(len(centres)) for p in pairs}
    norm = {p: 0.0 for p in pairs}
    n_of = {e: int(np.sum(species_arr == e)) for e in elements}
    for pos, lat in zip(positions, lattices):
        atoms = Atoms(symbols=species, positions=pos, cell=lat, pbc=True)
        i, j, d = neighbor_list("ijd", atoms, r_max)
        si, sj = species_arr[i], species_arr[j]
        volume = abs(np.linalg.det(lat))
        for a, b in pairs:
            mask = (si == a) & (sj == b)
            hist, _ = np.histogram(d[mask], bins=edges)
            n_pairs = n_of.get(a, 0) * (n_of.get(b, 0) - (1 if a == b else 0))
            if n_pairs <= 0:
                continue
            counts[(a, b)] += hist
            norm[(a, b)] += n_pairs / volume  # pair density of this frame
    out = {}
    for a, b in pairs:
        if norm[(a, b)] == 0:
            continue
        g = counts[(a, b)] / (norm[(a, b)] * shell)
        peak, minimum = first_peak_and_minimum(centres, g)
        if cutoffs and cutoffs.get(f"{a}-{b}"):
            minimum = float(cutoffs[f"{a}-{b}"])
        coordination = None
        if minimum is not None:
            # Mean number of b around one a: integrate the histogram, averaged over frames.
            n_frames = len(positions)
            coordination = float(counts[(a, b)][centres <= minimum].sum() / n_frames / n_of[a])
        out[f"{a}-{b}"] = PairRDF(
            pair=f"{a}-{b}",
            r=[round(float(x), 4) for x in centres],
            g=[round(float(x), 5) for x in g],
            first_peak_A=peak,
            first_minimum_A=minimum,
            coordination=coordination,
        )
    return out


def first_peak_and_minimum(
    r: Sequence[float], g: Sequence[float], smooth: int = 5
) -> tuple[float | None, float | None]:
    """Position of the first peak of g(r) (first maximum above 1) and of the minimum after it.

    g is smoothed with a running mean of ``smooth`` bins first so that noise of a small cell does
    not give a spurious minimum; None when g never rises above 1.
    """
    r = np.asarray(r, dtype=float)
    raw = np.asarray(g, dtype=float)
    g = np.convolve(raw, np.ones(smooth) / smooth, mode="same") if smooth > 1 else raw
    above = np.nonzero(g > 1.0)[0]
    if len(above) == 0:
        return None, None
    start = above[0]
    # Walk up to the local maximum, then down to the following local minimum.
    k = start
    while k + 1 < len(g) and g[k + 1] >= g[k]:
        k += 1
    lo, hi = max(k - smooth, 0), min(k + smooth + 1, len(raw))
    peak = float(r[lo + int(np.argmax(raw[lo:hi]))])  # the smoothed curve finds it, the raw one places it
    m = k
    while m + 1 < len(g) and g[m + 1] <= g[m]:
        m += 1
    minimum = float(r[m]) if m < len(g) - 1 else None
    return peak, minimum


def mean_coordination(structure: Structure, center: str, neighbor: str, cutoff: float) -> float:
    """Mean number of ``neighbor`` atoms within ``cutoff`` (A) of each ``center`` atom."""
    indices = [i for i, site in enumerate(structure) if site.species_string == center]
    if not indices:
        raise ValueError(f"no {center} atoms in {structure.composition.reduced_formula}")
    total = 0
    for i in indices:
        total += sum(1 for nb in structure.get_neighbors(structure[i], cutoff) if nb.species_string == neighbor)
    return total / len(indices)


def coordination_histogram(structure: Structure, center: str, neighbor: str, cutoff: float) -> dict[int, float]:
    """Fraction of ``center`` atoms with each number of ``neighbor`` atoms within ``cutoff``."""
    counts: dict[int, int] = {}
    indices = [i for i, site in enumerate(structure) if site.species_string == center]
    for i in indices:
        n = sum(1 for nb in structure.get_neighbors(structure[i], cutoff) if nb.species_string == neighbor)
        counts[n] = counts.get(n, 0) + 1
    return {k: v / len(indices) for k, v in sorted(counts.items())}


# --- lithiation: volume per host atom -----------------------------------------------------------


def li_per_host(composition: Composition | Structure, host: str = "Si", ion: str = "Li") -> float:
    comp = composition.composition if isinstance(composition, Structure) else Composition(composition)
    if comp[host] == 0:
        raise ValueError(f"{comp.reduced_formula} holds no {host}")
    return float(comp[ion] / comp[host])


def volume_per_host(structure: Structure, host: str = "Si") -> float:
    """Cell volume per host atom (A^3 per Si)."""
    n = structure.composition[host]
    if n == 0:
        raise ValueError(f"{structure.composition.reduced_formula} holds no {host}")
    return float(structure.volume / n)


class VolumePoint(BaseModel):
    phase: str
    x: float  # Li per Si
    volume_per_si_A3: float
    expansion_percent: float | None = None  # relative to the host reference (Si of the same series)
    amorphous: bool = False


def volume_expansion(points: list[VolumePoint], reference_volume_per_si: float) -> list[VolumePoint]:
    """Fill ``expansion_percent`` = 100 (V(x)/V_Si - 1) against a reference volume per Si."""
    if reference_volume_per_si <= 0:
        raise ValueError("reference volume per Si must be positive")
    return [
        p.model_copy(update={"expansion_percent": 100.0 * (p.volume_per_si_A3 / reference_volume_per_si - 1.0)})
        for p in points
    ]


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of y = a + b x; needs two distinct x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(set(np.round(x, 9))) < 2:
        raise ValueError("a linear fit needs at least two distinct x")
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


# --- elastic moduli -----------------------------------------------------------------------------


class ElasticModuli(BaseModel):
    """Isotropic aggregate moduli (GPa) of a 6x6 Voigt stiffness tensor."""

    bulk_voigt: float
    bulk_reuss: float
    shear_voigt: float
    shear_reuss: float
    bulk_vrh: float
    shear_vrh: float
    youngs_vrh: float
    poisson_vrh: float
    min_eigenvalue: float


def vrh_moduli(c_voigt: Sequence[Sequence[float]]) -> ElasticModuli:
    """Voigt, Reuss and Hill bulk/shear moduli, Young's modulus and Poisson ratio (Hill 1952), by pymatgen's
    ``ElasticTensor`` (k_voigt/k_reuss/k_vrh, g_*, y_mod, homogeneous_poisson).

    ``c_voigt``: 6x6 stiffness in Voigt notation (GPa), shear entries as C44 (engineering strain).
    Raises ElasticError for a tensor that is not symmetric positive definite (mechanically unstable
    or badly fitted), because its Reuss bounds would be meaningless.
    """
    c = np.asarray(c_voigt, dtype=float)
    if c.shape != (6, 6) or not np.all(np.isfinite(c)):
        raise ElasticError(f"stiffness must be a finite 6x6 matrix, got shape {c.shape}")
    c = 0.5 * (c + c.T)
    eig = np.linalg.eigvalsh(c)
    if eig.min() <= 0:
        raise ElasticError(f"stiffness tensor is not positive definite (smallest eigenvalue {eig.min():.2f} GPa)")
    tensor = ElasticTensor.from_voigt(c)
    return ElasticModuli(
        bulk_voigt=float(tensor.k_voigt),
        bulk_reuss=float(tensor.k_reuss),
        shear_voigt=float(tensor.g_voigt),
        shear_reuss=float(tensor.g_reuss),
        bulk_vrh=float(tensor.k_vrh),
        shear_vrh=float(tensor.g_vrh),
        youngs_vrh=float(tensor.y_mod) / 1e9,  # pymatgen returns y_mod in Pa for a tensor in GPa
        poisson_vrh=float(tensor.homogeneous_poisson),
        min_eigenvalue=float(eig.min()),
    )


def cubic_stiffness(c11: float, c12: float, c44: float) -> np.ndarray:
    """6x6 Voigt stiffness of a cubic crystal."""
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    np.fill_diagonal(c[:3, :3], c11)
    c[3, 3] = c[4, 4] = c[5, 5] = c44
    return c
