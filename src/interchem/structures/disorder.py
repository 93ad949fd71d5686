"""Ordered supercells of a partially occupied structure (a disordered card or any user CIF).

``ordered_candidates(structure, n=...)`` returns ordered cells that realise the occupancies, ranked by
their Ewald (point-charge) energy, or seeded random occupations; the calculator ranking (relax each
candidate, keep the lowest) is ``workflows.disorder.DisorderRankMaker``.

How the candidates are found:

1. **Supercell.** The smallest supercell (at most ``max_atoms`` atoms after ordering; default
   ``MAX_ORDERED_ATOMS`` = 200) in which every group of equivalent sites holds a whole number of each
   species, within ``occupancy_tolerance`` (default 0.02 of the group's site count: occupancies read
   from a refinement such as 0.3849 are rounded to the nearest realisable count). A structure whose
   occupancies need a bigger cell raises ``DisorderTooLargeError`` naming the occupancy and the cell
   it needs.
2. **Ewald ranking** (``method="ewald"``, the default). Small problems (at most ``ENUMERATION_LIMIT``
   configurations) go to pymatgen's ``OrderDisorderedStructureTransformation`` (its exhaustive
   EwaldMinimizer). Larger ones (Li6PS5Cl: 24 Li on 48 sites of one conventional cell, ~3e13
   configurations, where pymatgen's minimizer did not finish in 120 s) are annealed on the same
   pairwise Ewald matrix (hand-written here because pymatgen offers no sampler): seeded Metropolis
   swaps within each group from ``n_restarts`` random starts, and the ``n`` lowest distinct end states
   (distinct by Ewald energy to 1 meV) are kept.
3. **Random occupations** (``method="random"``): ``n`` seeded random orderings (no ranking), for an
   average over disorder rather than its ground state; for energies converged over disorder take
   n >= 10 (the spread of their relaxed energies is the error bar).

Oxidation states for the Ewald energy come from the structure if it carries them, else from
``oxidation_states`` or pymatgen's composition guess; a structure with no charge-balanced guess raises
``StructureValidationError`` (give ``oxidation_states`` or use ``method="random"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.core import Species, Structure

from interchem.errors import DisorderTooLargeError, StructureValidationError
from interchem.structures.cards import check_structure

MAX_ORDERED_ATOMS = 200  # the largest ordered supercell built (atoms); MLIP relaxations stay minutes
ENUMERATION_LIMIT = 20_000  # up to this many configurations pymatgen's exhaustive Ewald minimizer is used
OCCUPANCY_TOLERANCE = 0.02
DEFAULT_CANDIDATES = 4  # Ewald-lowest orderings relaxed by the calculator (their spread is reported)
METHODS = ("ewald", "random")


@dataclass
class SiteGroup:
    """Equivalent partially occupied sites (same species and occupancies) and how many of each species
    (None: vacancy) an ordering puts on them."""

    indices: list[int]
    counts: dict[str | None, int]

    def labels(self) -> list[str | None]:
        return [sp for sp, k in self.counts.items() for _ in range(k)]


def site_groups(structure: Structure, tolerance: float = OCCUPANCY_TOLERANCE) -> list[SiteGroup]:
    """The partially occupied sites of ``structure`` grouped by species and occupancy, with whole counts;
    StructureValidationError if a group's occupancies are not whole numbers within ``tolerance``."""
    by_key: dict[tuple, list[int]] = {}
    for i, site in enumerate(structure):
        if site.is_ordered:
            continue
        key = tuple(sorted((str(sp), round(occ, 4)) for sp, occ in site.species.items()))
        by_key.setdefault(key, []).append(i)
    groups = []
    for key, indices in by_key.items():
        n = len(indices)
        counts: dict[str | None, int] = {}
        for sp, occ in key:
            counts[sp] = _whole(n * occ, n, tolerance, sp, occ)
        vacancies = n - sum(counts.values())
        if vacancies < 0:
            raise StructureValidationError(f"sites with {dict(key)}: occupancies sum above 1")
        if vacancies:
            counts[None] = vacancies
        groups.append(SiteGroup(indices=indices, counts=counts))
    return groups


def _whole(value: float, n: int, tolerance: float, species: str, occupancy: float) -> int:
    k = round(value)
    if abs(value - k) > tolerance * n:
        raise StructureValidationError(
            f"occupancy {occupancy} of {species} on {n} sites gives {value:.3f} atoms, not a whole number"
        )
    return int(k)


def ordering_supercell(
    structure: Structure, max_atoms: int = MAX_ORDERED_ATOMS, tolerance: float = OCCUPANCY_TOLERANCE
) -> tuple[int, int, int]:
    """The smallest diagonal supercell (most cubic among equal sizes) whose site groups hold whole counts.

    DisorderTooLargeError names the occupancy that forces a supercell beyond ``max_atoms``."""
    atoms_per_cell = sum(sum(site.species.values()) for site in structure)
    if structure.is_ordered:
        return (1, 1, 1)
    n = 1
    while True:
        if atoms_per_cell * n > max_atoms + 1e-6:
            occ = _worst_occupancy(structure, tolerance)
            raise DisorderTooLargeError(
                f"{structure.composition.reduced_formula}: occupancy {occ} needs an ordered supercell of more "
                f"than {n - 1} cells ({atoms_per_cell * n:.0f}+ atoms), above the limit of {max_atoms} atoms; "
                f"raise max_atoms or round the occupancies (occupancy_tolerance={tolerance})"
            )
        scaling = _most_cubic(structure, n)
        if _realisable(structure * scaling, tolerance):
            return scaling
        n += 1


def _realisable(structure: Structure, tolerance: float) -> bool:
    try:
        site_groups(structure, tolerance)
    except StructureValidationError:
        return False
    return True


def _worst_occupancy(structure: Structure, tolerance: float) -> str:
    """The partial occupancy with the largest denominator (the one that forces the big supercell)."""
    partial = {(str(sp), occ) for site in structure for sp, occ in site.species.items() if occ < 1}
    sp, occ = max(partial, key=lambda so: Fraction(so[1]).limit_denominator(1000).denominator)
    return f"{occ:g} of {sp}"


def _most_cubic(structure: Structure, n: int) -> tuple[int, int, int]:
    best, best_len = (n, 1, 1), -1.0
    for a in range(1, n + 1):
        for b in range(1, n // a + 1):
            if n % (a * b):
                continue
            c = n // (a * b)
            shortest = min(x * length for x, length in zip((a, b, c), structure.lattice.abc, strict=True))
            if shortest > best_len + 1e-6:
                best, best_len = (a, b, c), shortest
    return best


def with_oxidation_states(structure: Structure, oxidation_states: dict[str, float] | None = None) -> Structure:
    """A copy of ``structure`` whose species carry oxidation states (given, present, or guessed)."""
    if all(getattr(sp, "oxi_state", None) is not None for site in structure for sp in site.species):
        return structure.copy()
    if oxidation_states is None:
        guesses = structure.composition.oxi_state_guesses(max_sites=-50)
        if not guesses:
            raise StructureValidationError(
                f"{structure.composition.reduced_formula}: no charge-balanced oxidation states found for the "
                "Ewald ranking; give oxidation_states or use method='random'"
            )
        oxidation_states = guesses[0]
    decorated = structure.copy()
    decorated.add_oxidation_state_by_element(oxidation_states)
    return decorated


def ordered_candidates(
    structure: Structure,
    n: int = 8,
    method: str = "ewald",
    seed: int = 0,
    max_atoms: int = MAX_ORDERED_ATOMS,
    occupancy_tolerance: float = OCCUPANCY_TOLERANCE,
    oxidation_states: dict[str, float] | None = None,
    n_restarts: int | None = None,
) -> list[Structure]:
    """Up to ``n`` ordered cells of a partially occupied ``structure`` (module docstring), lowest Ewald
    energy first for ``method="ewald"``. Each carries ``properties["ordering"]`` (method, rank, Ewald
    energy, supercell, seed) and the phase label and provenance of the input."""
    if method not in METHODS:
        raise StructureValidationError(f"ordering method {method!r}: choose one of {', '.join(METHODS)}")
    if n < 1:
        raise StructureValidationError(f"number of ordered candidates must be at least 1, got {n}")
    check_structure(structure, label=structure.composition.reduced_formula, allow_partial=True)
    if structure.is_ordered:
        raise StructureValidationError(f"{structure.composition.reduced_formula}: no partially occupied sites")
    scaling = ordering_supercell(structure, max_atoms, occupancy_tolerance)
    charged = with_oxidation_states(structure, oxidation_states) if method == "ewald" else structure.copy()
    supercell = charged * scaling
    groups = site_groups(supercell, occupancy_tolerance)
    rng = np.random.default_rng(seed)
    if method == "random":
        states = [[list(rng.permutation(np.array(g.labels(), dtype=object))) for g in groups] for _ in range(n)]
        found = [(math.nan, s) for s in states]
    elif _n_configurations(groups) <= ENUMERATION_LIMIT:
        found = _pymatgen_ranked(supercell, groups, n)
    else:
        ewald = _EwaldModel(supercell, groups)
        found = ewald.lowest(n, n_restarts or max(4 * n, 16), rng)
    out = []
    for rank, (energy, state) in enumerate(found):
        ordered = _apply(supercell, groups, state)
        ordered.properties = {
            **{k: v for k, v in (structure.properties or {}).items() if k in ("phase", "provenance")},
            "ordering": {
                "method": method,
                "rank": rank,
                "ewald_eV": None if math.isnan(energy) else float(energy),
                "supercell": list(scaling),
                "seed": seed,
            },
        }
        check_structure(ordered, label=f"ordered candidate {rank}")
        out.append(ordered)
    return out


def _n_configurations(groups: list[SiteGroup]) -> float:
    total = 1.0
    for g in groups:
        ways = math.factorial(len(g.indices))
        for k in g.counts.values():
            ways //= math.factorial(k)
        total *= ways
    return total


def _apply(supercell: Structure, groups: list[SiteGroup], state: list[list]) -> Structure:
    """The ordered cell: each group's sites get the species of ``state`` (None: removed)."""
    ordered = supercell.copy()
    ordered.remove_oxidation_states()
    remove = []
    for group, labels in zip(groups, state, strict=True):
        for i, label in zip(group.indices, labels, strict=True):
            if label is None:
                remove.append(i)
            else:
                ordered.replace(i, Species.from_str(label).symbol if _charged(label) else label)
    ordered.remove_sites(remove)
    return ordered.get_sorted_structure()


def _charged(label: str) -> bool:
    return label[-1] in "+-"


def _pymatgen_ranked(supercell: Structure, groups: list[SiteGroup], n: int) -> list[tuple[float, list[list]]]:
    """pymatgen's exhaustive Ewald ordering, mapped back onto the site groups."""
    from pymatgen.transformations.standard_transformations import OrderDisorderedStructureTransformation

    ranked = OrderDisorderedStructureTransformation(algo=OrderDisorderedStructureTransformation.ALGO_FAST)
    results = ranked.apply_transformation(supercell, return_ranked_list=n)
    out = []
    for res in results:
        ordered = res["structure"]
        state = []
        for g in groups:
            labels = []
            for i in g.indices:
                hits = ordered.get_sites_in_sphere(supercell[i].coords, 0.01)
                labels.append(str(hits[0].specie) if hits else None)
            state.append(labels)
        out.append((float(res["energy"]), state))
    return out


class _EwaldModel:
    """Pairwise Ewald energy of site occupations: E = q . M . q over every site of the supercell, with
    M the Ewald matrix of unit charges (real + reciprocal + self terms are each bilinear in the charges;
    the charged-cell term is the same for every ordering of one composition)."""

    def __init__(self, supercell: Structure, groups: list[SiteGroup]):
        unit = Structure(supercell.lattice, ["H+"] * len(supercell), supercell.frac_coords)
        for site in unit:
            site.species = {Species("H", 1): 1}
        self.M = EwaldSummation(unit).total_energy_matrix
        self.M = 0.5 * (self.M + self.M.T)
        self.groups = groups
        self.q = np.array([_charge(site.species) if site.is_ordered else 0.0 for site in supercell])

    def charges(self, state: list[list]) -> np.ndarray:
        q = self.q.copy()
        for g, labels in zip(self.groups, state, strict=True):
            q[g.indices] = [0.0 if lab is None else Species.from_str(lab).oxi_state for lab in labels]
        return q

    def energy(self, state: list[list]) -> float:
        q = self.charges(state)
        return float(q @ self.M @ q)

    def anneal(self, rng: np.random.Generator, steps: int) -> tuple[float, list[list]]:
        """Metropolis swaps of unlike occupants within a group, temperature falling geometrically."""
        state = [list(rng.permutation(np.array(g.labels(), dtype=object))) for g in self.groups]
        q = self.charges(state)
        v = self.M @ q
        energy = float(q @ v)
        movable = [k for k, g in enumerate(self.groups) if len(set(g.labels())) > 1]
        t_hot, t_cold = 0.5, 0.002  # eV: from above typical swap energies to well below them
        for step in range(steps):
            temperature = t_hot * (t_cold / t_hot) ** (step / max(steps - 1, 1))
            k = movable[rng.integers(len(movable))]
            labels, idx = state[k], self.groups[k].indices
            a, b = rng.integers(len(idx), size=2)
            if labels[a] == labels[b]:
                continue
            i, j = idx[a], idx[b]
            di, dj = q[j] - q[i], q[i] - q[j]
            delta = 2 * (di * v[i] + dj * v[j]) + di * di * self.M[i, i] + dj * dj * self.M[j, j]
            delta += 2 * di * dj * self.M[i, j]
            if delta <= 0 or rng.random() < math.exp(-delta / temperature):
                v += self.M[:, i] * di + self.M[:, j] * dj
                q[i], q[j] = q[j], q[i]
                labels[a], labels[b] = labels[b], labels[a]
                energy += delta
        return float(q @ self.M @ q), state

    def lowest(self, n: int, restarts: int, rng: np.random.Generator) -> list[tuple[float, list[list]]]:
        steps = 400 * sum(len(g.indices) for g in self.groups)
        found = sorted((self.anneal(rng, steps) for _ in range(restarts)), key=lambda es: es[0])
        distinct: list[tuple[float, list[list]]] = []
        for energy, state in found:  # one per energy (to 1 meV): symmetry copies share their energy
            if not distinct or energy - distinct[-1][0] > 1e-3:
                distinct.append((energy, state))
        return distinct[:n]


def _charge(species) -> float:
    return float(sum(getattr(sp, "oxi_state", 0) * occ for sp, occ in species.items()))


def parent_equivalent_millers(
    parent: Structure, ordered: Structure, miller: tuple[int, int, int], symprec: float = 0.1
) -> list[tuple[int, int, int]]:
    """The planes of an ordered cell that are ``miller`` under the symmetry of its partially occupied parent.

    Ordering breaks the parent's symmetry: in a cubic argyrodite (100), (010) and (001) are one surface, in
    one of its ordered cells three different ones (with their own lattice matches and terminations). Each
    plane's normal (``miller`` in the ordered cell's lattice) is turned by the parent's point-group
    rotations (Cartesian: ordering and relaxation keep the orientation) and read back as the smallest
    integer Miller index of the ordered cell; planes that differ only in sign are one. The requested plane
    comes first; a rotated normal that no small integer index fits (distorted beyond 5 %) is skipped."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    recip = ordered.lattice.reciprocal_lattice_crystallographic
    normal = recip.get_cartesian_coords(np.asarray(miller, float))
    ops = SpacegroupAnalyzer(parent, symprec=symprec).get_point_group_operations(cartesian=True)
    rotations = [op.rotation_matrix for op in ops]
    found: list[tuple[int, int, int]] = [tuple(int(x) for x in miller)]
    for rot in rotations:
        index = _small_integer(ordered.lattice.matrix @ (rot @ normal))
        if index is None:
            continue
        if index not in found and tuple(-x for x in index) not in found:  # the requested one may be negative
            found.append(index)
    return found


def _small_integer(v: np.ndarray, max_index: int = 6, tol: float = 0.05) -> tuple[int, int, int] | None:
    """The smallest integer vector parallel to ``v`` within ``tol`` (relative), components up to ``max_index``."""
    for scale in range(1, max_index + 1):
        w = v / np.abs(v).max() * scale
        r = np.round(w)
        if np.all(np.abs(w - r) <= tol * scale) and np.abs(r).max() <= max_index:
            g = math.gcd(*(int(x) for x in r))
            index = [int(x) // g for x in r]
            sign = -1 if next(x for x in index if x) < 0 else 1  # one sign per plane: first non-zero positive
            return tuple(sign * x for x in index)
    return None
