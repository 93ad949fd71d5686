"""Slabs, surface terminations, lattice-matched anode|electrolyte interfaces, amorphous blocks.

What is written by hand here, and why
-------------------------------------
* **Terminations.** pymatgen's ``SlabGenerator`` is known to miss terminations (pymatgen #3854, #4572),
  so every candidate cut is enumerated here: the oriented cell's atoms are grouped into layers along
  the surface normal, every gap between two adjacent layers is a cut plane, and cuts that break a
  protected polyanion bond (P-S, P-O, P-N: PS4, PO4 and LiPON units stay whole) are dropped. The cuts
  are grouped with the bulk's own symmetry operations: an operation that keeps the normal maps a cut
  at height h to h + t.n, one that reverses it maps h to -h + t.n and exchanges the two faces. A cut
  creates two faces (the top of the crystal below it, the bottom of the crystal above it); a
  *termination* is a symmetry-distinct face. ``SlabGenerator`` is run beside it as a cross-check of
  the number of distinct cuts (``Terminations.n_slabgenerator``).
* **Slabs** are whole numbers of oriented cells, so they are always stoichiometric; their polarity is
  the dipole along the normal with guessed oxidation states (pymatgen's criterion, 1e-3 e/A), their
  symmetry is whether a slab operation exchanges the two faces. A polar stoichiometric slab (Tasker
  type 3) is flagged and explained, not silently "fixed".
* **Interfaces.** pymatgen's ``ZSLGenerator`` (Zur-McGill) finds the matching supercells; the
  interface is stacked here (rather than through ``CoherentInterfaceBuilder``) so that the slabs are
  the terminations above, the film is strained affinely onto the substrate's in-plane cell (its
  thickness along the normal is kept), and the strain is reported as the principal stretches of that
  deformation. The anode is the substrate (unstrained), the electrolyte the film. Duplicates are
  removed with ``StructureMatcher``.
* **Amorphous partners**: ``cut_amorphous_block`` fills the crystalline partner's in-plane cell from a
  periodic amorphous block (e.g. a melt-quenched cell), replicating it when it is smaller.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition, Lattice, Structure

from interchem.errors import (
    AmorphousBlockError,
    InterfaceError,
    NoInterfaceMatchError,
    SlabTooThinError,
    UnknownTerminationError,
)
from interchem.structures.cards import MIN_DISTANCE_A, check_structure

Miller = tuple[int, int, int]

# Covalent polyanion bonds a cut must not break (pymatgen's SlabGenerator ``bonds`` idea). Cut-offs sit
# between the bond (P-S 2.05 A in PS4, P-O 1.54 A, P-N 1.6-1.7 A in LiPON) and the next neighbour.
PROTECTED_BONDS: dict[tuple[str, str], float] = {("P", "S"): 2.4, ("P", "O"): 1.9, ("P", "N"): 1.9}
LAYER_TOL_A = 0.1  # atoms closer than this along the normal form one layer (SlabGenerator's ftol)
FIRST_SHELL_FACTOR = 1.1  # first neighbour shell: within 1.1 x each atom's nearest-neighbour distance


# --------------------------------------------------------------------------------------------------
# Oriented cells


def conventional_and_primitive(bulk: Structure) -> tuple[Structure, Structure]:
    """Conventional standard cell (Miller indices refer to it) and a primitive cell in the same frame."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    conv = SpacegroupAnalyzer(bulk, symprec=0.01).get_conventional_standard_structure()
    prim = conv.get_primitive_structure(tolerance=0.01)
    return conv, prim


def _miller_in_primitive(conv: Structure, prim: Structure, miller: Miller) -> tuple[int, int, int]:
    g = np.asarray(miller, float) @ conv.lattice.reciprocal_lattice_crystallographic.matrix
    raw = prim.lattice.matrix @ g  # a_i . G: the plane's Miller index in the primitive basis (rational)
    for denom in range(1, 25):
        scaled = raw * denom
        if np.allclose(scaled, np.round(scaled), atol=1e-4):
            ints = np.round(scaled).astype(int)
            g_ = reduce(math.gcd, [abs(int(x)) for x in ints if x]) or 1
            return tuple(int(x) // g_ for x in ints)  # type: ignore[return-value]
    raise InterfaceError(f"Miller index {miller} could not be expressed in the primitive cell")


def oriented_cell(bulk: Structure, miller: Miller) -> Structure:
    """The smallest cell of ``bulk`` with a, b in the (hkl) plane (2D-reduced) and c.n = d_hkl > 0.

    ``miller`` refers to the conventional standard cell. Written by hand (integer search) so that the
    in-plane cell is the primitive surface cell and c is the shortest out-of-plane lattice vector.
    """
    if len(miller) != 3 or not any(miller):
        raise InterfaceError(f"Miller index {miller!r} must be three integers, not all zero")
    conv, prim = conventional_and_primitive(bulk)
    hkl = np.array(_miller_in_primitive(conv, prim, tuple(int(x) for x in miller)))
    mat = prim.lattice.matrix
    g = hkl @ prim.lattice.reciprocal_lattice_crystallographic.matrix
    d = 1.0 / np.linalg.norm(g)
    nmax = int(max(abs(hkl))) + 3
    grid = np.array(list(itertools.product(range(-nmax, nmax + 1), repeat=3)))
    grid = grid[np.any(grid != 0, axis=1)]
    dots = grid @ hkl
    carts = grid @ mat
    inplane = grid[dots == 0]
    ip_cart = inplane @ mat
    order = np.argsort(np.linalg.norm(ip_cart, axis=1))
    inplane, ip_cart = inplane[order], ip_cart[order]
    area_min = prim.volume / d
    v1 = inplane[0]
    v2 = None
    for u, uc in zip(inplane[1:], ip_cart[1:]):
        if abs(np.linalg.norm(np.cross(ip_cart[0], uc)) - area_min) < 1e-6 * area_min:
            v2 = u
            break
    if v2 is None:
        raise InterfaceError(f"no primitive in-plane cell found for {miller}")
    a, b = v1 @ mat, v2 @ mat
    # Gauss-reduce the 2D cell (shortest basis, angle 60-120 degrees)
    a, b, v1, v2 = _reduce_2d(a, b, v1, v2)
    n = np.cross(a, b)
    if n @ g < 0:
        a, b, v1, v2 = b, a, v2, v1
        n = -n
    n = n / np.linalg.norm(n)
    # c: a lattice vector one plane up (u.hkl = 1) with the smallest in-plane component
    up = grid[dots == 1]
    up_cart = carts[dots == 1]
    par = up_cart - np.outer(up_cart @ n, n)
    v3 = up[int(np.argmin(np.linalg.norm(par, axis=1)))]
    m = np.array([v1, v2, v3])
    if round(abs(np.linalg.det(m))) != 1:
        raise InterfaceError(f"oriented cell for {miller} is not unimodular (det {np.linalg.det(m):.2f})")
    cell = prim.copy()
    cell.make_supercell(m)
    cell.properties = dict(bulk.properties or {})
    return cell


def _reduce_2d(a, b, va, vb):
    for _ in range(100):
        if np.linalg.norm(b) < np.linalg.norm(a):
            a, b, va, vb = b, a, vb, va
        mu = round(float(a @ b) / float(a @ a))
        if mu == 0:
            break
        b, vb = b - mu * a, vb - mu * va
    return a, b, va, vb


def flip_oriented(cell: Structure) -> Structure:
    """The same crystal seen from the other side: lattice (b, a, -c), a proper rotation of the frame.
    The top face of a cut at fraction p here is the bottom face of the cut at 1 - p in ``cell``."""
    a, b, c = cell.lattice.matrix
    frac = cell.frac_coords[:, [1, 0, 2]] * np.array([1, 1, -1])
    return Structure(Lattice([b, a, -c]), cell.species, frac % 1.0, properties=dict(cell.properties or {}))


def _normal(cell: Structure) -> np.ndarray:
    a, b, _ = cell.lattice.matrix
    n = np.cross(a, b)
    return n / np.linalg.norm(n)


def _spacing(cell: Structure) -> float:
    return float(cell.lattice.matrix[2] @ _normal(cell))


# --------------------------------------------------------------------------------------------------
# Layers, cuts, terminations


def layers(cell: Structure, tol: float = LAYER_TOL_A) -> list[np.ndarray]:
    """Atom indices of each layer along the normal, bottom to top within [0, d) (periodic clustering)."""
    d = _spacing(cell)
    h = (cell.frac_coords[:, 2] % 1.0) * d
    order = np.argsort(h)
    groups: list[list[int]] = [[int(order[0])]]
    for i, j in zip(order[:-1], order[1:]):
        if h[j] - h[i] > tol:
            groups.append([])
        groups[-1].append(int(j))
    if len(groups) > 1 and (h[order[0]] + d) - h[order[-1]] <= tol:  # wrap: top layer joins the bottom
        groups[0] = groups.pop() + groups[0]
    return [np.array(g) for g in groups]


def _layer_heights(cell: Structure, groups: list[np.ndarray]) -> np.ndarray:
    d = _spacing(cell)
    h = (cell.frac_coords[:, 2] % 1.0) * d
    out = []
    for g in groups:
        hs = h[g]
        if hs.max() - hs.min() > d / 2:  # wrapped layer
            hs = np.where(hs > d / 2, hs - d, hs)
        out.append(float(np.mean(hs)) % d)
    return np.array(out)


def _bond_list(cell: Structure, factor: float = FIRST_SHELL_FACTOR) -> list[tuple[int, float, float]]:
    """First-shell bonds as (i, z_i, z_j): heights along the normal of both ends (j unwrapped)."""
    n = _normal(cell)
    neigh = cell.get_all_neighbors(r=6.0)
    out = []
    for i, nb in enumerate(neigh):
        if not nb:
            continue
        dmin = min(x.nn_distance for x in nb)
        zi = float(cell[i].coords @ n)
        for x in nb:
            if x.nn_distance <= factor * dmin + 1e-6:
                out.append((i, zi, float(x.coords @ n)))
    return out


def _crossings(z1: float, z2: float, plane: float, d: float) -> int:
    lo, hi = min(z1, z2), max(z1, z2)
    return int(math.floor((hi - plane) / d) - math.floor((lo - plane) / d))


def _protected_crossings(cell: Structure, plane: float, bonds: dict[tuple[str, str], float]) -> int:
    """Protected bonds (per oriented cell) that a cut at height ``plane`` breaks."""
    count = 0
    n, d = _normal(cell), _spacing(cell)
    for (e1, e2), cutoff in bonds.items():
        for i in (i for i, s in enumerate(cell) if s.specie.symbol == e1):
            zi = float(cell[i].coords @ n)
            for x in cell.get_neighbors(cell[i], cutoff):
                if x.specie.symbol == e2:
                    count += _crossings(zi, float(x.coords @ n), plane, d)
    return count


class Termination(BaseModel):
    """One symmetry-distinct surface face of a Miller plane (the face that is on top of its slab)."""

    index: int
    label: str
    shift: float = Field(description="cut plane as a fraction of the oriented cell's c (in its own frame)")
    flipped: bool = Field(description="face taken from the flipped oriented cell (b, a, -c)")
    layer_sequence: list[str] = Field(description="outermost layers, surface first")
    opposite_label: str = ""
    symmetric: bool = Field(description="both faces of the stoichiometric slab are equivalent")
    polar: bool | None = Field(description="dipole along the normal (guessed oxidation states); None: no guess")
    stoichiometric: bool = True
    broken_bonds_per_cell: int = Field(description="first-shell bonds the cut breaks per surface cell")
    gap_A: float = Field(description="distance between the two layers the cut separates")
    note: str = ""


class Terminations(BaseModel):
    phase: str
    miller: Miller
    n_cuts: int = Field(description="symmetry-distinct cut planes (= distinct stoichiometric slabs)")
    n_slabgenerator: int | None = Field(None, description="distinct slabs pymatgen's SlabGenerator finds (cross-check)")
    terminations: list[Termination]
    rejected_cuts: int = Field(0, description="cuts dropped because they break a protected polyanion bond")
    d_spacing_A: float
    surface_area_A2: float

    def labels(self) -> list[str]:
        return [t.label for t in self.terminations]

    def get(self, which: int | str | None) -> Termination:
        """A termination by index or label (None: the first, which has the fewest broken bonds)."""
        if which is None:
            return self.terminations[0]
        if isinstance(which, (int, np.integer)) and not isinstance(which, bool):
            if 0 <= which < len(self.terminations):
                return self.terminations[int(which)]
        elif isinstance(which, str):
            for t in self.terminations:
                if t.label == which:
                    return t
            if which.strip().isdigit():
                return self.get(int(which))
        raise UnknownTerminationError(which, self.phase, self.miller, self.labels())


def _formula(species: list[str]) -> str:
    comp = Composition(" ".join(species))
    return "".join(f"{el}{int(amt) if amt != 1 else ''}" for el, amt in sorted(comp.get_el_amt_dict().items()))


def find_terminations(
    bulk: Structure,
    miller: Miller,
    phase: str | None = None,
    layer_tol: float = LAYER_TOL_A,
    protected_bonds: dict[tuple[str, str], float] | None = None,
    cross_check: bool = True,
) -> Terminations:
    """Every symmetry-distinct termination of ``bulk`` for ``miller`` (conventional-cell indices)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    phase = phase or (bulk.properties or {}).get("phase") or bulk.composition.reduced_formula
    miller = tuple(int(x) for x in miller)  # type: ignore[assignment]
    protected_bonds = PROTECTED_BONDS if protected_bonds is None else protected_bonds
    cell = oriented_cell(bulk, miller)
    d, n = _spacing(cell), _normal(cell)
    groups = layers(cell, layer_tol)
    heights = _layer_heights(cell, groups)
    order = np.argsort(heights)
    groups, heights = [groups[i] for i in order], heights[order]
    nl = len(groups)
    # candidate cut planes: midway in each gap between adjacent layers (periodic)
    cuts, gaps, below = [], [], []
    for k in range(nl):
        lo, hi = heights[k], heights[(k + 1) % nl] + (d if k == nl - 1 else 0.0)
        cuts.append(((lo + hi) / 2) % d)
        gaps.append(hi - lo)
        below.append(k)
    # keep the cuts that break the fewest protected polyanion bonds (none, where such a cut exists)
    n_protected = [_protected_crossings(cell, c, protected_bonds) if protected_bonds else 0 for c in cuts]
    fewest = min(n_protected)
    keep = [i for i, k in enumerate(n_protected) if k == fewest]
    rejected = nl - len(keep)
    cuts = [cuts[i] for i in keep]
    gaps = [gaps[i] for i in keep]
    below = [below[i] for i in keep]
    # faces: (cut index, +1 = top face of the crystal below the cut, -1 = bottom face of the one above)
    ops = SpacegroupAnalyzer(cell, symprec=0.01).get_symmetry_operations(cartesian=True)
    parent = {(i, s): (i, s) for i in range(len(cuts)) for s in (1, -1)}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def nearest(h: float) -> int | None:
        dist = [abs(((h - c + d / 2) % d) - d / 2) for c in cuts]
        i = int(np.argmin(dist))
        return i if dist[i] < max(layer_tol, 0.05) else None

    cut_orbit = {i: i for i in range(len(cuts))}
    for op in ops:
        rn = op.rotation_matrix @ n
        sign = 1 if np.allclose(rn, n, atol=1e-3) else (-1 if np.allclose(rn, -n, atol=1e-3) else 0)
        if not sign:
            continue
        tn = float(op.translation_vector @ n)
        for i, c in enumerate(cuts):
            j = nearest(sign * c + tn)
            if j is None:
                continue
            for s in (1, -1):
                a, b = find((i, s)), find((j, sign * s))
                if a != b:
                    parent[a] = b
            ri, rj = _root(cut_orbit, i), _root(cut_orbit, j)
            if ri != rj:
                cut_orbit[ri] = rj
    bonds = _bond_list(cell)
    broken = []
    for c in cuts:
        count = sum(_crossings(zi, zj, c, d) for _, zi, zj in bonds)
        broken.append(count // 2)  # each bond is listed from both ends
    charges = _guess_charges(bulk)
    faces: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in parent:
        faces.setdefault(find(key), []).append(key)
    # one representative per face orbit; prefer the unflipped top face
    reps = []
    for members in faces.values():
        members.sort(key=lambda x: (-x[1], x[0]))
        i, s = members[0]
        symmetric = (i, -s) in members
        reps.append((i, s, symmetric))
    species = [s.specie.symbol for s in cell]
    terms = []
    for i, s, symmetric in reps:
        k = below[i]
        if s == 1:  # top face of the crystal below the cut: layers k, k-1, ...
            seq = [_formula([species[j] for j in groups[(k - m) % nl]]) for m in range(3)]
            opp = [_formula([species[j] for j in groups[(k + 1 + m) % nl]]) for m in range(3)]
        else:  # bottom face of the crystal above the cut, seen from outside: layers k+1, k+2, ...
            seq = [_formula([species[j] for j in groups[(k + 1 + m) % nl]]) for m in range(3)]
            opp = [_formula([species[j] for j in groups[(k - m) % nl]]) for m in range(3)]
        shift = cuts[i] / d if s == 1 else (1.0 - cuts[i] / d) % 1.0
        polar = _slab_polar(cell, cuts[i] / d, charges)
        note = ""
        if fewest:
            note = f"every cut of this plane breaks {fewest} protected polyanion bond(s) per cell ({sorted(protected_bonds)}); "
        if polar:
            note += (
                "polar: the stoichiometric slab has a dipole along the normal (Tasker type 3); no stoichiometric "
                "non-polar slab exists for this cut - use a dipole correction or a non-stoichiometric symmetric slab"
            )
        elif not symmetric:
            note += "the two faces of the stoichiometric slab differ; surface energies are averages of both faces"
        terms.append(
            dict(shift=float(shift), flipped=s == -1, layer_sequence=seq, opposite=opp, symmetric=symmetric,
                 polar=polar, broken=broken[i], gap=float(gaps[i]), note=note, cut=i, root=find((i, s)),
                 other_root=find((i, -s)))
        )
    terms.sort(key=lambda t: (t["broken"], -t["gap"], t["layer_sequence"], t["flipped"]))
    labels = _labels(terms)
    out = [
        Termination(
            index=k, label=labels[k], shift=t["shift"], flipped=t["flipped"], layer_sequence=t["layer_sequence"],
            symmetric=t["symmetric"], polar=t["polar"], broken_bonds_per_cell=t["broken"], gap_A=round(t["gap"], 4),
            note=t["note"],
        )
        for k, t in enumerate(terms)
    ]
    # the other face of the same cut (the slab's bottom when this face is on top)
    label_of_root = {t["root"]: labels[k] for k, t in enumerate(terms)}
    for k, t in enumerate(terms):
        out[k].opposite_label = label_of_root[t["other_root"]]
    n_cuts = len({_root(cut_orbit, i) for i in range(len(cuts))})
    result = Terminations(
        phase=phase, miller=miller, n_cuts=n_cuts, terminations=out, rejected_cuts=rejected,
        d_spacing_A=d, surface_area_A2=float(cell.lattice.volume / d),
    )
    if cross_check:
        result.n_slabgenerator = slabgenerator_count(bulk, miller, protected_bonds)
    return result


def _root(parent: dict[int, int], i: int) -> int:
    while parent[i] != i:
        i = parent[i]
    return i


def _labels(terms: list[dict]) -> list[str]:
    """Shortest unambiguous labels: outer layer; outer/second layer; + bonds cut; + index."""
    levels = [
        lambda t, k: f"{t['layer_sequence'][0]}-terminated",
        lambda t, k: f"{t['layer_sequence'][0]}/{t['layer_sequence'][1]}-terminated",
        lambda t, k: f"{t['layer_sequence'][0]}/{t['layer_sequence'][1]}-terminated ({t['broken']} bonds cut)",
        lambda t, k: f"{t['layer_sequence'][0]}/{t['layer_sequence'][1]}-terminated ({t['broken']} bonds cut) #{k}",
    ]
    for level in levels:
        labels = [level(t, k) for k, t in enumerate(terms)]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _guess_charges(bulk: Structure) -> dict[str, float] | None:
    try:
        guesses = bulk.composition.oxi_state_guesses(max_sites=-50)
    except Exception:  # noqa: BLE001 - pymatgen raises several types for odd compositions
        guesses = ()
    if not guesses:
        return None
    charges = guesses[0]
    if all(abs(v) < 1e-9 for v in charges.values()):
        return None
    return dict(charges)


def _slab_polar(cell: Structure, shift: float, charges: dict[str, float] | None, n_cells: int = 2) -> bool | None:
    """pymatgen's polarity criterion (|dipole| / area > 1e-3 e/A) on a 2-cell slab from this cut."""
    if charges is None:
        return None
    slab = _slab_from_cut(cell, shift, n_cells, vacuum=10.0)
    z = slab.cart_coords @ _normal(slab)
    q = np.array([charges.get(s.specie.symbol, 0.0) for s in slab])
    dipole = float(np.sum(q * (z - z.mean())))
    area = slab.lattice.volume / slab.lattice.c
    return bool(abs(dipole) / area > 1e-3)


def slabgenerator_count(bulk: Structure, miller: Miller, protected_bonds: dict | None = None) -> int:
    """Number of distinct slabs pymatgen's SlabGenerator returns for this plane (the cross-check)."""
    from pymatgen.core.surface import SlabGenerator

    conv, _ = conventional_and_primitive(bulk)
    gen = SlabGenerator(conv, miller, min_slab_size=8.0, min_vacuum_size=10.0, primitive=True, lll_reduce=False, center_slab=True)
    bonds = {k: v for k, v in (protected_bonds or {}).items() if all(e in conv.composition for e in k)} or None
    return len(gen.get_slabs(bonds=bonds, ftol=LAYER_TOL_A, symmetrize=False))


# --------------------------------------------------------------------------------------------------
# Slabs


def _slab_from_cut(cell: Structure, shift: float, n_cells: int, vacuum: float) -> Structure:
    """Whole oriented cells stacked from the cut at fractional ``shift``; c perpendicular to the surface,
    the cut plane at vacuum/2 along the normal (with no vacuum the cell is the periodic bulk again)."""
    a, b, c = cell.lattice.matrix
    n, d = _normal(cell), _spacing(cell)
    fc = (cell.frac_coords[:, 2] - shift) % 1.0
    species, carts = [], []
    for k in range(n_cells):
        r = cell.frac_coords[:, :1] * a + cell.frac_coords[:, 1:2] * b + (fc[:, None] + k) * c
        carts.append(r)
        species += [s.species for s in cell]
    r = np.vstack(carts)
    z = r @ n
    r_par = r - np.outer(z, n)
    z = z + vacuum / 2  # r.n = (fc' + k) d: heights above the cut plane
    thickness = n_cells * d
    lattice = Lattice([a, b, (thickness + vacuum) * n])
    return Structure(lattice, species, r_par + np.outer(z, n), coords_are_cartesian=True, to_unit_cell=True)


class SlabInfo(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    phase: str
    miller: Miller
    termination: Termination
    structure: Structure
    n_cells: int
    n_layers: int
    n_fixed_layers: int
    thickness_A: float
    vacuum_A: float
    area_A2: float
    bulk_formula_units: float


def make_slab(
    bulk: Structure,
    miller: Miller,
    termination: int | str | Termination | None = None,
    min_thickness_A: float = 8.0,
    vacuum_A: float = 15.0,
    fixed_bottom_layers: int = 0,
    n_cells: int | None = None,
    terminations: Terminations | None = None,
    phase: str | None = None,
    face_on: Literal["top", "bottom"] = "top",
) -> SlabInfo:
    """A stoichiometric slab (whole oriented cells) with the chosen termination on top (or at the
    bottom with ``face_on="bottom"``, as a film sitting on a substrate needs), ``vacuum_A`` of vacuum,
    c along the normal and the bottom ``fixed_bottom_layers`` atomic layers marked fixed
    (``selective_dynamics`` False, read by the relax job as ASE ``FixAtoms``).

    Raises UnknownTerminationError for a termination that does not exist and SlabTooThinError when
    fewer free than fixed layers would remain.
    """
    phase = phase or (bulk.properties or {}).get("phase") or bulk.composition.reduced_formula
    terms = terminations or find_terminations(bulk, miller, phase=phase, cross_check=False)
    term = termination if isinstance(termination, Termination) else terms.get(termination)
    if vacuum_A < 0:
        raise InterfaceError(f"vacuum_A must be >= 0, not {vacuum_A}")
    if fixed_bottom_layers < 0:
        raise InterfaceError(f"fixed_bottom_layers must be >= 0, not {fixed_bottom_layers}")
    cell = oriented_cell(bulk, miller)
    d = _spacing(cell)
    if n_cells is None:
        n_cells = max(1, math.ceil(min_thickness_A / d - 1e-9))
    if n_cells < 1:
        raise InterfaceError(f"n_cells must be >= 1, not {n_cells}")
    flipped, shift = term.flipped, term.shift
    if face_on == "bottom":  # the other side of the same face: flip the frame, cut at 1 - shift
        flipped, shift = not flipped, (1.0 - shift) % 1.0
    if flipped:
        cell = flip_oriented(cell)
    slab = _slab_from_cut(cell, shift, n_cells, vacuum_A)
    n_layers = len(layers(cell)) * n_cells
    if fixed_bottom_layers and fixed_bottom_layers > n_layers // 2:
        raise SlabTooThinError(
            f"{phase} {tuple(miller)} slab has {n_layers} atomic layers ({n_cells} cells, {n_cells * d:.1f} A); "
            f"fixing {fixed_bottom_layers} bottom layers would leave fewer free than fixed layers - ask for a "
            f"thicker slab (min_thickness_A >= {2 * fixed_bottom_layers * d / len(layers(cell)):.1f} A) or fix fewer"
        )
    props: dict[str, list] = {}
    if fixed_bottom_layers:
        fixed = _bottom_layer_sites(slab, fixed_bottom_layers)
        props["selective_dynamics"] = [[not (i in fixed)] * 3 for i in range(len(slab))]
    for k, v in props.items():
        slab.add_site_property(k, v)
    slab.properties = {
        "phase": phase, "miller": list(miller), "termination": term.label, "kind": "slab",
        "provenance": (bulk.properties or {}).get("provenance", {}),
    }
    check_structure(slab, label=f"{phase} {tuple(miller)} slab")
    return SlabInfo(
        phase=phase, miller=tuple(miller), termination=term, structure=slab, n_cells=n_cells, n_layers=n_layers,
        n_fixed_layers=fixed_bottom_layers, thickness_A=n_cells * d, vacuum_A=vacuum_A,
        area_A2=float(slab.lattice.volume / slab.lattice.c),
        bulk_formula_units=len(slab) / bulk.composition.num_atoms,
    )


def _bottom_layer_sites(slab: Structure, n_layers: int, tol: float = LAYER_TOL_A) -> set[int]:
    z = slab.cart_coords @ _normal(slab)
    order = np.argsort(z)
    fixed: set[int] = set()
    count, last = 0, None
    for i in order:
        if last is None or z[i] - last > tol:
            count += 1
            if count > n_layers:
                break
        fixed.add(int(i))
        last = z[i]
    return fixed


# --------------------------------------------------------------------------------------------------
# Interfaces


class InterfaceCandidate(BaseModel):
    """One lattice-matched anode|electrolyte interface (substrate: anode, film: electrolyte)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    anode: str
    electrolyte: str
    anode_miller: Miller
    electrolyte_miller: Miller
    anode_termination: str
    electrolyte_termination: str
    structure: Structure
    model: Literal["vacuum", "periodic"]
    n_interfaces: int
    area_A2: float
    strain: float = Field(description="largest principal stretch - 1 of the electrolyte (signed)")
    max_abs_strain: float
    von_mises_strain: float
    n_atoms: int
    n_anode: int
    n_electrolyte: int
    gap_A: float
    anode_thickness_A: float
    electrolyte_thickness_A: float
    film_supercell_vectors: list[list[float]] = Field(description="unstrained electrolyte in-plane supercell vectors (A)")
    substrate_supercell_vectors: list[list[float]]
    anode_transformation: list[list[int]]
    electrolyte_transformation: list[list[int]]
    rank: int = -1
    interface_energy_J_m2: float | None = None

    def label(self) -> str:
        return (
            f"{self.anode}{_m(self.anode_miller)}[{self.anode_termination}]|"
            f"{self.electrolyte}{_m(self.electrolyte_miller)}[{self.electrolyte_termination}]"
        )


def _m(miller) -> str:
    return "(" + "".join(str(x) for x in miller) + ")"


def in_plane_strain(
    film_vectors: np.ndarray, substrate_vectors: np.ndarray, film_normal: np.ndarray | None = None,
    substrate_normal: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float]:
    """Principal stretches - 1 (Biot strain), von Mises strain and det of the 2D deformation that takes
    the film supercell vectors onto the substrate's, each pair expressed in an orthonormal frame of
    its own plane oriented by its surface normal (det < 0: the match needs a mirror image)."""

    def frame(v, nrm):
        nrm = np.cross(v[0], v[1]) if nrm is None else np.asarray(nrm, float)
        nrm = nrm / np.linalg.norm(nrm)
        e1 = v[0] / np.linalg.norm(v[0])
        e2 = np.cross(nrm, e1)
        return np.array([[x @ e1, x @ e2] for x in v]).T  # columns

    f = frame(np.asarray(film_vectors, float), film_normal)
    s = frame(np.asarray(substrate_vectors, float), substrate_normal)
    deformation = s @ np.linalg.inv(f)
    stretches = np.sqrt(np.linalg.eigvalsh(deformation.T @ deformation)) - 1.0
    e = stretches
    von_mises = float(np.sqrt(e[0] ** 2 + e[1] ** 2 - e[0] * e[1]))  # plane-stress equivalent
    return stretches, von_mises, float(np.linalg.det(deformation))


def _integer_transform(sl: np.ndarray, base: np.ndarray) -> np.ndarray:
    m = sl @ np.linalg.pinv(base)
    mi = np.round(m).astype(int)
    if not np.allclose(m, mi, atol=1e-4):
        raise InterfaceError("ZSL supercell vectors are not integer combinations of the surface cell")
    return mi


@dataclass
class InterfaceLimits:
    """Limits of the lattice match. Defaults keep a quick CHGNet interface at ~150-400 atoms."""

    max_area: float = 200.0  # A^2 of the matched supercell
    max_strain: float = 0.05  # largest |principal stretch - 1| of the electrolyte
    max_angle_tol: float = 0.02  # relative angle mismatch allowed in the ZSL search
    max_atoms: int = 400
    max_candidates: int = 20


@dataclass
class InterfaceBuilder:
    """Build, de-duplicate and rank lattice-matched anode|electrolyte interfaces.

    ``build()`` raises NoInterfaceMatchError naming the limits when nothing fits. The anode slab is
    unstrained; the electrolyte slab is strained onto it.
    """

    anode: Structure
    electrolyte: Structure
    anode_miller: Miller = (1, 0, 0)
    electrolyte_miller: Miller = (1, 0, 0)
    anode_name: str | None = None
    electrolyte_name: str | None = None
    limits: InterfaceLimits = field(default_factory=InterfaceLimits)
    anode_thickness_A: float = 8.0
    electrolyte_thickness_A: float = 8.0
    gap_A: float = 2.5
    vacuum_A: float = 12.0
    model: Literal["vacuum", "periodic"] = "vacuum"
    anode_termination: int | str | None = None  # None: every termination
    electrolyte_termination: int | str | None = None
    fixed_bottom_layers: int = 0

    def __post_init__(self) -> None:
        self.anode_name = self.anode_name or (self.anode.properties or {}).get("phase") or self.anode.composition.reduced_formula
        self.electrolyte_name = (
            self.electrolyte_name or (self.electrolyte.properties or {}).get("phase") or self.electrolyte.composition.reduced_formula
        )
        if self.model not in ("vacuum", "periodic"):
            raise InterfaceError(f"interface model must be 'vacuum' or 'periodic', not {self.model!r}")
        for name in ("max_area", "max_strain", "max_atoms"):
            if getattr(self.limits, name) <= 0:
                raise InterfaceError(f"limit {name} must be positive, not {getattr(self.limits, name)}")
        if self.gap_A <= 0.5:
            raise InterfaceError(f"interfacial gap {self.gap_A} A is too small (atoms would overlap)")

    def terminations(self) -> tuple[Terminations, Terminations]:
        ta = find_terminations(self.anode, self.anode_miller, phase=self.anode_name, cross_check=False)
        te = find_terminations(self.electrolyte, self.electrolyte_miller, phase=self.electrolyte_name, cross_check=False)
        return ta, te

    def build(self) -> list[InterfaceCandidate]:
        from pymatgen.analysis.interfaces.zsl import ZSLGenerator

        ta, te = self.terminations()
        a_terms = [ta.get(self.anode_termination)] if self.anode_termination is not None else ta.terminations
        e_terms = [te.get(self.electrolyte_termination)] if self.electrolyte_termination is not None else te.terminations
        lim = self.limits
        # one slab per termination: the anode face on top, the electrolyte face at the bottom
        a_slabs = [
            make_slab(self.anode, self.anode_miller, t, self.anode_thickness_A, 10.0, self.fixed_bottom_layers,
                      terminations=ta, phase=self.anode_name)
            for t in a_terms
        ]
        e_slabs = [
            make_slab(self.electrolyte, self.electrolyte_miller, t, self.electrolyte_thickness_A, 10.0,
                      terminations=te, phase=self.electrolyte_name, face_on="bottom")
            for t in e_terms
        ]
        sub_v = a_slabs[0].structure.lattice.matrix[:2]
        film_v = e_slabs[0].structure.lattice.matrix[:2]
        n_sub, n_film = _normal(a_slabs[0].structure), _normal(e_slabs[0].structure)
        zsl = ZSLGenerator(max_area_ratio_tol=0.09, max_area=lim.max_area, max_length_tol=lim.max_strain,
                           max_angle_tol=lim.max_angle_tol, bidirectional=True)
        matches = []
        seen = set()
        for match in zsl(film_v, sub_v):
            fs, ss = np.array(match.film_sl_vectors, float), np.array(match.substrate_sl_vectors, float)
            # The pairing f_i <-> s_i must not need a mirror: when it does, try the equivalent pairs
            # (f0, -f1) and (f1, f0), which ZSL's length/angle test cannot tell apart.
            if np.cross(*ss) @ n_sub < 0:  # right-handed substrate supercell (then det > 0 makes the film so too)
                ss, fs = ss[::-1].copy(), fs[::-1].copy()
            best = None
            for ff in (fs, np.array([fs[0], -fs[1]]), fs[::-1].copy()):
                stretches, vm, det = in_plane_strain(ff, ss, n_film, n_sub)
                if det > 0 and np.max(np.abs(stretches)) <= lim.max_strain + 1e-9:
                    best = (ff, stretches, vm)
                    break
            if best is None:
                continue
            fs, stretches, vm = best
            mf, ms = _integer_transform(fs, film_v), _integer_transform(ss, sub_v)
            key = (abs(round(np.linalg.det(mf))), abs(round(np.linalg.det(ms))), round(vm, 4))
            if key in seen:
                continue
            seen.add(key)
            matches.append((fs, ss, mf, ms, stretches, vm))
        n_matches = len(matches)
        candidates: list[InterfaceCandidate] = []
        too_many = 0
        for fs, ss, mf, ms, stretches, vm in matches:
            for sa, se in itertools.product(a_slabs, e_slabs):
                n_atoms = len(sa.structure) * abs(round(np.linalg.det(ms))) + len(se.structure) * abs(round(np.linalg.det(mf)))
                if n_atoms > lim.max_atoms:
                    too_many += 1
                    continue
                candidates.append(self._stack(sa, se, fs, ss, mf, ms, stretches, vm))
        if not candidates:
            raise NoInterfaceMatchError(
                f"no {self.anode_name}{_m(self.anode_miller)}|{self.electrolyte_name}{_m(self.electrolyte_miller)} "
                f"interface within max_area={lim.max_area} A^2, max_strain={lim.max_strain:.3f}, "
                f"max_atoms={lim.max_atoms}: {n_matches} lattice match(es) in area/strain"
                + (f", {too_many} candidate(s) over the atom limit" if too_many else "")
                + " - raise the limits or choose other Miller indices"
            )
        candidates = deduplicate(candidates)
        return rank_candidates(candidates)[: lim.max_candidates]

    def _stack(self, sa: SlabInfo, se: SlabInfo, fs, ss, mf, ms, stretches, vm) -> InterfaceCandidate:
        sub = sa.structure.copy()
        sub.make_supercell([[*ms[0], 0], [*ms[1], 0], [0, 0, 1]])
        film = se.structure.copy()
        film.make_supercell([[*mf[0], 0], [*mf[1], 0], [0, 0, 1]])
        n_s = _normal(sub)
        a_s, b_s = sub.lattice.matrix[:2]
        zs = sub.cart_coords @ n_s
        zs = zs - zs.min()
        t_s = float(zs.max())
        sub_par = sub.frac_coords[:, :2]
        ff = film.frac_coords[:, :2]
        zf = film.cart_coords @ _normal(film)
        zf = zf - zf.min()
        t_f = float(zf.max())
        gap = self.gap_A
        offset = self.vacuum_A / 2 if self.model == "vacuum" else gap / 2
        c_len = t_s + gap + t_f + (self.vacuum_A if self.model == "vacuum" else gap)
        lattice = Lattice([a_s, b_s, c_len * n_s])
        # the film is mapped affinely onto the substrate cell: fractional in-plane coordinates kept
        cart_sub = sub_par[:, :1] * a_s + sub_par[:, 1:2] * b_s + np.outer(zs + offset, n_s)
        cart_film = ff[:, :1] * a_s + ff[:, 1:2] * b_s + np.outer(zf + t_s + gap + offset, n_s)
        species = [s.species for s in sub] + [s.species for s in film]
        side = ["anode"] * len(sub) + ["electrolyte"] * len(film)
        fixed = sub.site_properties.get("selective_dynamics")
        props: dict[str, list] = {"interface_side": side}
        if fixed is not None:
            props["selective_dynamics"] = list(fixed) + [[True] * 3] * len(film)
        structure = Structure(lattice, species, np.vstack([cart_sub, cart_film]), coords_are_cartesian=True,
                              to_unit_cell=True, site_properties=props)
        structure.properties = {
            "kind": "interface", "anode": self.anode_name, "electrolyte": self.electrolyte_name, "model": self.model,
        }
        check_structure(structure, label=f"{self.anode_name}|{self.electrolyte_name} interface")
        area = float(np.linalg.norm(np.cross(a_s, b_s)))
        imax = int(np.argmax(np.abs(stretches)))
        return InterfaceCandidate(
            anode=self.anode_name, electrolyte=self.electrolyte_name, anode_miller=tuple(self.anode_miller),
            electrolyte_miller=tuple(self.electrolyte_miller), anode_termination=sa.termination.label,
            electrolyte_termination=se.termination.label, structure=structure, model=self.model,
            n_interfaces=1 if self.model == "vacuum" else 2, area_A2=area, strain=float(stretches[imax]),
            max_abs_strain=float(np.max(np.abs(stretches))), von_mises_strain=vm, n_atoms=len(structure),
            n_anode=len(sub), n_electrolyte=len(film), gap_A=gap, anode_thickness_A=t_s, electrolyte_thickness_A=t_f,
            film_supercell_vectors=film.lattice.matrix[:2].tolist(), substrate_supercell_vectors=[a_s.tolist(), b_s.tolist()],
            anode_transformation=np.asarray(ms).tolist(), electrolyte_transformation=np.asarray(mf).tolist(),
        )


def deduplicate(candidates: list[InterfaceCandidate]) -> list[InterfaceCandidate]:
    """Drop candidates that are the same structure (StructureMatcher, no supercells, no scaling); the
    first (lower strain) of each group is kept."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(ltol=0.1, stol=0.2, angle_tol=3, primitive_cell=False, scale=False, attempt_supercell=False)
    kept: list[InterfaceCandidate] = []
    for cand in sorted(candidates, key=lambda c: (c.max_abs_strain, c.n_atoms)):
        same = [
            k for k in kept
            if k.n_atoms == cand.n_atoms and abs(k.area_A2 - cand.area_A2) < 0.5
            and k.anode_termination == cand.anode_termination and k.electrolyte_termination == cand.electrolyte_termination
        ]
        if any(matcher.fit(k.structure, cand.structure) for k in same):
            continue
        kept.append(cand)
    return kept


def rank_candidates(candidates: list[InterfaceCandidate]) -> list[InterfaceCandidate]:
    """Rank: interface energy first when computed for all; otherwise strain in 1 % steps, then area,
    then atom count (a small, little-strained cell is the cheapest faithful model)."""
    if candidates and all(c.interface_energy_J_m2 is not None for c in candidates):
        key = lambda c: (c.interface_energy_J_m2, c.max_abs_strain, c.area_A2)  # noqa: E731
    else:
        key = lambda c: (math.floor(c.max_abs_strain * 100 + 1e-9), c.area_A2, c.n_atoms, c.max_abs_strain)  # noqa: E731
    ranked = sorted(candidates, key=key)
    for i, c in enumerate(ranked):
        c.rank = i
    return ranked


def set_gap(structure: Structure, gap_A: float, vacuum_A: float | None = None) -> Structure:
    """The same interface with the electrolyte moved rigidly along the normal so that the distance
    between the anode's top layer and the electrolyte's bottom layer is ``gap_A`` (both partners
    unchanged). Periodic models keep the same gap at the second interface; vacuum models keep the
    vacuum (or set it to ``vacuum_A``)."""
    side = structure.site_properties.get("interface_side")
    if side is None:
        raise InterfaceError("structure has no 'interface_side' site property: not an interface built here")
    n = _normal(structure)
    z = structure.cart_coords @ n
    an = np.array([s == "anode" for s in side])
    model = (structure.properties or {}).get("model", "vacuum")
    z_a = z[an] - z[an].min()
    z_e = z[~an] - z[~an].min()
    t_a, t_e = z_a.max(), z_e.max()
    if model == "periodic":
        offset, c_len = gap_A / 2, t_a + t_e + 2 * gap_A
    else:
        old_vac = structure.lattice.matrix[2] @ n - (z.max() - z.min())
        vac = vacuum_A if vacuum_A is not None else old_vac
        offset, c_len = vac / 2, t_a + gap_A + t_e + vac
    a, b = structure.lattice.matrix[:2]
    frac = structure.frac_coords[:, :2]
    newz = np.empty(len(structure))
    newz[an] = z_a + offset
    newz[~an] = z_e + t_a + gap_A + offset
    cart = frac[:, :1] * a + frac[:, 1:2] * b + np.outer(newz, n)
    out = Structure(Lattice([a, b, c_len * n]), [s.species for s in structure], cart, coords_are_cartesian=True,
                    to_unit_cell=True, site_properties=structure.site_properties, properties=dict(structure.properties or {}))
    return out


def split_interface(structure: Structure, vacuum_A: float = 12.0) -> tuple[Structure, Structure]:
    """The anode and electrolyte parts of an interface, each alone in the same in-plane cell with
    vacuum (positions as in the interface): the E_A and E_B of the work of adhesion."""
    side = structure.site_properties.get("interface_side")
    if side is None:
        raise InterfaceError("structure has no 'interface_side' site property: not an interface built here")
    parts = []
    n = _normal(structure)
    a, b = structure.lattice.matrix[:2]
    for which in ("anode", "electrolyte"):
        idx = [i for i, s in enumerate(side) if s == which]
        sub = Structure.from_sites([structure[i] for i in idx])
        z = sub.cart_coords @ n
        # unwrap along the normal: a part may straddle the periodic boundary of a periodic model
        z = _unwrap_heights(z, structure.lattice.matrix[2] @ n)
        frac = sub.frac_coords[:, :2]
        t = z.max() - z.min()
        cart = frac[:, :1] * a + frac[:, 1:2] * b + np.outer(z - z.min() + vacuum_A / 2, n)
        parts.append(Structure(Lattice([a, b, (t + vacuum_A) * n]), [s.species for s in sub], cart,
                               coords_are_cartesian=True, to_unit_cell=True, site_properties=sub.site_properties))
    return parts[0], parts[1]


def _unwrap_heights(z: np.ndarray, c_len: float) -> np.ndarray:
    z = np.mod(z, c_len)
    zs = np.sort(z)
    gaps = np.diff(np.concatenate([zs, [zs[0] + c_len]]))
    k = int(np.argmax(gaps))  # the largest empty stretch is outside the part
    start = zs[(k + 1) % len(zs)]
    return np.where(z >= start, z, z + c_len)


# --------------------------------------------------------------------------------------------------
# Amorphous partners


SANE_VOLUME_PER_ATOM_A3 = (5.0, 45.0)  # LiPON ~9.5, Si 20, Li 21.6 A^3/atom: outside this the block is broken


def cut_amorphous_block(
    block: Structure,
    in_plane_vectors: np.ndarray | list,
    thickness_A: float,
    vacuum_A: float = 0.0,
    replicate: bool = True,
    min_distance_A: float = 1.5,
    phase: str | None = None,
) -> Structure:
    """Cut a periodic amorphous block (e.g. a melt-quenched cell) to the crystalline partner's in-plane
    cell ``in_plane_vectors`` (2 x 3, A) and ``thickness_A`` along its normal.

    Every atom of the infinite periodic block whose position falls in the prism {f1 A + f2 B + z n:
    0 <= f < 1, 0 <= z < thickness} is taken. When the block is smaller than the prism's extent it is
    replicated (``replicate=True``; the replicas are the block's own periodic images, no new order
    beyond its period) or, with ``replicate=False``, AmorphousBlockError names the sizes. At the new
    in-plane boundaries the block's period and the target cell's differ, so atoms closer than
    ``min_distance_A`` across a seam are removed (one of each pair); the count is recorded in
    ``properties["seam_removed"]``. A short relaxation or anneal heals the seam.
    """
    phase = phase or (block.properties or {}).get("phase") or block.composition.reduced_formula
    vpa = block.volume / len(block)
    lo, hi = SANE_VOLUME_PER_ATOM_A3
    if not lo <= vpa <= hi:
        raise AmorphousBlockError(
            f"amorphous block {phase}: {vpa:.1f} A^3 per atom is not a sane solid density (expected {lo}-{hi} A^3/atom)"
        )
    if thickness_A <= 0:
        raise AmorphousBlockError(f"thickness_A must be positive, not {thickness_A}")
    ab = np.asarray(in_plane_vectors, float)[:2]
    n = np.cross(ab[0], ab[1])
    n = n / np.linalg.norm(n)
    prism = Lattice([ab[0], ab[1], thickness_A * n])
    # extent needed: the prism corners in the block's fractional coordinates
    corners = np.array(list(itertools.product([0, 1], repeat=3)), float) @ prism.matrix
    fc = block.lattice.get_fractional_coords(corners)
    need = fc.max(axis=0) - fc.min(axis=0)
    # the block's widths perpendicular to its faces vs the prism's extent: smaller -> replicas needed
    if not replicate and np.any(need > 1.0 + 1e-6):
        widths = block.volume / np.array([np.linalg.norm(np.cross(*block.lattice.matrix[[1, 2]])),
                                          np.linalg.norm(np.cross(*block.lattice.matrix[[2, 0]])),
                                          np.linalg.norm(np.cross(*block.lattice.matrix[[0, 1]]))])
        raise AmorphousBlockError(
            f"amorphous block {phase} ({', '.join(f'{w:.1f}' for w in widths)} A between faces) is too small for the "
            f"{np.linalg.norm(ab[0]):.1f} x {np.linalg.norm(ab[1]):.1f} A cell x {thickness_A:.1f} A (needs "
            f"{', '.join(f'{x:.2f}' for x in need)} block periods); replicate it first (replicate=True or make_supercell)"
        )
    lo_i = np.floor(fc.min(axis=0)).astype(int) - 1
    hi_i = np.ceil(fc.max(axis=0)).astype(int) + 1
    images = np.array(list(itertools.product(*[range(a, b + 1) for a, b in zip(lo_i, hi_i)])), float)
    frac = block.frac_coords % 1.0
    all_frac = (frac[None, :, :] + images[:, None, :]).reshape(-1, 3)
    all_cart = block.lattice.get_cartesian_coords(all_frac)
    species = [s.species for s in block] * len(images)
    pf = prism.get_fractional_coords(all_cart)
    inside = np.all((pf >= -1e-9) & (pf < 1 - 1e-9), axis=1)
    idx = np.nonzero(inside)[0]
    if len(idx) == 0:
        raise AmorphousBlockError(f"no atoms of {phase} fall in the target cell")
    cell = Lattice([ab[0], ab[1], (thickness_A + max(vacuum_A, 0.0)) * n])
    z = pf[idx, 2] * thickness_A + vacuum_A / 2
    cart = pf[idx, :1] * ab[0] + pf[idx, 1:2] * ab[1] + np.outer(z, n)
    out = Structure(cell, [species[i] for i in idx], cart, coords_are_cartesian=True, to_unit_cell=True)
    # Seam overlaps exist only across the in-plane boundaries: look for them in a cell with room along
    # the normal (the slab's top and bottom are free surfaces, not a periodic seam), greedily removing
    # the atom with most close contacts first.
    probe = Structure(Lattice([ab[0], ab[1], (thickness_A + 10.0) * n]), out.species, cart + 5.0 * n,
                      coords_are_cartesian=True, to_unit_cell=True)
    removed_idx: list[int] = []
    dm = probe.distance_matrix
    np.fill_diagonal(dm, np.inf)
    close = dm < min_distance_A
    while close.any():
        k = int(np.argmax(close.sum(axis=1)))
        close[k, :] = False
        close[:, k] = False
        removed_idx.append(k)
    removed = len(removed_idx)
    if removed_idx:
        out.remove_sites(removed_idx)
    out.properties = {
        "phase": phase, "kind": "amorphous slab", "seam_removed": removed,
        "block_formula": block.composition.reduced_formula,
        "replicas": [int(x) for x in np.ceil(need)],
        "provenance": (block.properties or {}).get("provenance", {}),
    }
    check_structure(out, label=f"{phase} amorphous slab", min_distance=min(MIN_DISTANCE_A, min_distance_A))
    return out


def amorphous_interface(
    crystal: Structure,
    miller: Miller,
    block: Structure,
    crystal_role: Literal["anode", "electrolyte"] = "electrolyte",
    termination: int | str | None = None,
    crystal_thickness_A: float = 8.0,
    amorphous_thickness_A: float = 10.0,
    supercell: tuple[int, int] = (1, 1),
    gap_A: float = 2.5,
    vacuum_A: float = 12.0,
    crystal_name: str | None = None,
    amorphous_name: str | None = None,
) -> InterfaceCandidate:
    """Crystalline slab | amorphous slab cut to the crystal's in-plane cell (no strain: the amorphous
    partner takes the cell). The anode is always at the bottom (substrate), as in ``InterfaceBuilder``."""
    crystal_name = crystal_name or (crystal.properties or {}).get("phase") or crystal.composition.reduced_formula
    amorphous_name = amorphous_name or (block.properties or {}).get("phase") or f"a-{block.composition.reduced_formula}"
    face = "top" if crystal_role == "anode" else "bottom"
    slab = make_slab(crystal, miller, termination, crystal_thickness_A, 10.0, phase=crystal_name, face_on=face)
    cs = slab.structure.copy()
    cs.make_supercell([supercell[0], supercell[1], 1])
    ab = cs.lattice.matrix[:2]
    amorph = cut_amorphous_block(block, ab, amorphous_thickness_A, phase=amorphous_name)
    parts = [(cs, "crystal"), (amorph, "amorphous")]
    if crystal_role == "electrolyte":
        parts = parts[::-1]
    n = _normal(cs)
    z0 = vacuum_A / 2
    species, carts, side = [], [], []
    for k, (s, _kind) in enumerate(parts):
        z = s.cart_coords @ n
        z = z - z.min()
        frac = s.frac_coords[:, :2]
        carts.append(frac[:, :1] * ab[0] + frac[:, 1:2] * ab[1] + np.outer(z + z0, n))
        species += [x.species for x in s]
        side += ["anode" if k == 0 else "electrolyte"] * len(s)
        z0 += z.max() + gap_A
    c_len = z0 - gap_A + vacuum_A / 2
    structure = Structure(Lattice([ab[0], ab[1], c_len * n]), species, np.vstack(carts), coords_are_cartesian=True,
                          to_unit_cell=True, site_properties={"interface_side": side})
    anode_name, elec_name = (crystal_name, amorphous_name) if crystal_role == "anode" else (amorphous_name, crystal_name)
    structure.properties = {"kind": "interface", "anode": anode_name, "electrolyte": elec_name, "model": "vacuum"}
    check_structure(structure, label=f"{anode_name}|{elec_name} interface")
    n_a = side.count("anode")
    vec = ab.tolist()
    return InterfaceCandidate(
        anode=anode_name, electrolyte=elec_name,
        anode_miller=tuple(miller) if crystal_role == "anode" else (0, 0, 0),
        electrolyte_miller=tuple(miller) if crystal_role == "electrolyte" else (0, 0, 0),
        anode_termination=slab.termination.label if crystal_role == "anode" else "amorphous",
        electrolyte_termination=slab.termination.label if crystal_role == "electrolyte" else "amorphous",
        structure=structure, model="vacuum", n_interfaces=1, area_A2=float(np.linalg.norm(np.cross(*ab))),
        strain=0.0, max_abs_strain=0.0, von_mises_strain=0.0, n_atoms=len(structure), n_anode=n_a,
        n_electrolyte=len(structure) - n_a, gap_A=gap_A, anode_thickness_A=0.0, electrolyte_thickness_A=0.0,
        film_supercell_vectors=vec, substrate_supercell_vectors=vec,
        anode_transformation=[[supercell[0], 0], [0, supercell[1]]], electrolyte_transformation=[[1, 0], [0, 1]],
    )


def side_composition(structure: Structure, side: str) -> Composition:
    labels = structure.site_properties["interface_side"]
    return Composition(" ".join(s.specie.symbol for s, lab in zip(structure, labels) if lab == side))


def describe_candidate(c: InterfaceCandidate) -> dict[str, Any]:
    return {
        "rank": c.rank, "label": c.label(), "n_atoms": c.n_atoms, "area_A2": round(c.area_A2, 2),
        "strain_percent": round(100 * c.strain, 2), "von_mises_percent": round(100 * c.von_mises_strain, 2),
        "model": c.model, "interface_energy_J_m2": c.interface_energy_J_m2,
    }
