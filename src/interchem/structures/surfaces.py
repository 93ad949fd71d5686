"""Surface terminations and stoichiometric slabs (oriented cells and layers: ``interchem.structures.oriented``).

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
  pymatgen's ``Slab.is_polar`` (dipole along the normal with guessed oxidation states, 1e-3 e/A),
  their symmetry is whether a slab operation exchanges the two faces. A polar stoichiometric slab
  (Tasker type 3) is flagged and explained, not silently "fixed".
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition, Structure

from interchem.errors import InterfaceError, SlabTooThinError, UnknownTerminationError
from interchem.structures.cards import check_structure, phase_label
from interchem.structures.graphs import connected_groups
from interchem.structures.oriented import (
    LAYER_TOL_A,
    Miller,
    conventional_and_primitive,
    flip_oriented,
    layer_heights,
    layers,
    oriented_cell,
    plane_spacing,
    slab_from_cut,
    surface_normal,
)

# Covalent polyanion bonds a cut must not break (pymatgen's SlabGenerator ``bonds`` idea). Cut-offs sit
# between the bond (P-S 2.05 A in PS4, P-O 1.54 A, P-N 1.6-1.7 A in LiPON) and the next neighbour.
PROTECTED_BONDS: dict[tuple[str, str], float] = {("P", "S"): 2.4, ("P", "O"): 1.9, ("P", "N"): 1.9}
FIRST_SHELL_FACTOR = 1.1  # first neighbour shell: within 1.1 x each atom's nearest-neighbour distance


def _bond_list(cell: Structure, factor: float = FIRST_SHELL_FACTOR) -> list[tuple[int, float, float]]:
    """First-shell bonds as (i, z_i, z_j): heights along the normal of both ends (j unwrapped)."""
    n = surface_normal(cell)
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
    n, d = surface_normal(cell), plane_spacing(cell)
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


def layer_formula(species: list[str]) -> str:
    """Formula of one atomic layer, elements in alphabetical order (``ClLi``, ``Li2S``)."""
    comp = Composition(" ".join(species))
    return "".join(f"{el}{int(amt) if amt != 1 else ''}" for el, amt in sorted(comp.get_el_amt_dict().items()))


class _Cuts(BaseModel):
    """Candidate cut planes of an oriented cell (heights along the normal, A) and the layers they separate."""

    heights: list[float]
    gaps: list[float]
    below: list[int]  # index of the layer just below each cut
    rejected: int
    fewest_protected: int


def _candidate_cuts(cell: Structure, heights: np.ndarray, bonds: dict[tuple[str, str], float]) -> _Cuts:
    """Cut planes midway in each gap between adjacent layers (periodic), keeping those that break the
    fewest protected polyanion bonds (none, where such a cut exists)."""
    d, nl = plane_spacing(cell), len(heights)
    cuts, gaps = [], []
    for k in range(nl):
        lo, hi = heights[k], heights[(k + 1) % nl] + (d if k == nl - 1 else 0.0)
        cuts.append(((lo + hi) / 2) % d)
        gaps.append(hi - lo)
    n_protected = [_protected_crossings(cell, c, bonds) if bonds else 0 for c in cuts]
    fewest = min(n_protected)
    keep = [i for i, k in enumerate(n_protected) if k == fewest]
    return _Cuts(
        heights=[cuts[i] for i in keep],
        gaps=[gaps[i] for i in keep],
        below=keep,
        rejected=nl - len(keep),
        fewest_protected=fewest,
    )


def _face_orbits(cell: Structure, cuts: list[float], layer_tol: float) -> tuple[list[list[int]], list[list[int]]]:
    """Symmetry orbits of the faces and of the cuts. Face 2 i is the top face of the crystal below cut i,
    face 2 i + 1 the bottom face of the crystal above it; an operation reversing the normal swaps them."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    n, d = surface_normal(cell), plane_spacing(cell)

    def nearest(h: float) -> int | None:
        dist = [abs(((h - c + d / 2) % d) - d / 2) for c in cuts]
        i = int(np.argmin(dist))
        return i if dist[i] < max(layer_tol, 0.05) else None

    face_pairs, cut_pairs = [], []
    for op in SpacegroupAnalyzer(cell, symprec=0.01).get_symmetry_operations(cartesian=True):
        rn = op.rotation_matrix @ n
        sign = 1 if np.allclose(rn, n, atol=1e-3) else (-1 if np.allclose(rn, -n, atol=1e-3) else 0)
        if not sign:
            continue
        tn = float(op.translation_vector @ n)
        for i, c in enumerate(cuts):
            j = nearest(sign * c + tn)
            if j is None:
                continue
            face_pairs += [(2 * i, 2 * j + (sign < 0)), (2 * i + 1, 2 * j + (sign > 0))]
            cut_pairs.append((i, j))
    return connected_groups(2 * len(cuts), face_pairs), connected_groups(len(cuts), cut_pairs)


def _face_note(fewest: int, protected_bonds: dict, polar: bool | None, symmetric: bool) -> str:
    note = ""
    if fewest:
        note = (
            f"every cut of this plane breaks {fewest} protected polyanion bond(s) per cell "
            f"({sorted(protected_bonds)}); "
        )
    if polar:
        note += (
            "polar: the stoichiometric slab has a dipole along the normal (Tasker type 3); no stoichiometric "
            "non-polar slab exists for this cut - use a dipole correction or a non-stoichiometric symmetric slab"
        )
    elif not symmetric:
        note += "the two faces of the stoichiometric slab differ; surface energies are averages of both faces"
    return note


def find_terminations(
    bulk: Structure,
    miller: Miller,
    phase: str | None = None,
    layer_tol: float = LAYER_TOL_A,
    protected_bonds: dict[tuple[str, str], float] | None = None,
    cross_check: bool = True,
) -> Terminations:
    """Every symmetry-distinct termination of ``bulk`` for ``miller`` (conventional-cell indices)."""
    # long: enumerates cuts, groups equivalent ones and labels them in one pass over the same layer data
    phase = phase or phase_label(bulk)
    miller = tuple(int(x) for x in miller)  # type: ignore[assignment]
    protected_bonds = PROTECTED_BONDS if protected_bonds is None else protected_bonds
    cell = oriented_cell(bulk, miller)
    d = plane_spacing(cell)
    groups = layers(cell, layer_tol)
    heights = layer_heights(cell, groups)
    order = np.argsort(heights)
    groups, heights = [groups[i] for i in order], heights[order]
    cuts = _candidate_cuts(cell, heights, protected_bonds)
    face_orbits, cut_orbits = _face_orbits(cell, cuts.heights, layer_tol)
    bonds = _bond_list(cell)
    broken = [sum(_crossings(zi, zj, c, d) for _, zi, zj in bonds) // 2 for c in cuts.heights]  # listed from both ends
    orbit_of = {face: k for k, members in enumerate(face_orbits) for face in members}
    species = [s.specie.symbol for s in cell]
    charges = _guess_charges(bulk)
    terms = []
    for members in face_orbits:
        # one representative per face orbit: the unflipped top face first (face 2 i before 2 i + 1)
        rep = min(members, key=lambda f: (f % 2, f // 2))
        i, top = rep // 2, rep % 2 == 0
        symmetric = (rep ^ 1) in members
        k, nl = cuts.below[i], len(groups)
        below_seq = [layer_formula([species[j] for j in groups[(k - m) % nl]]) for m in range(3)]
        above_seq = [layer_formula([species[j] for j in groups[(k + 1 + m) % nl]]) for m in range(3)]
        seq = below_seq if top else above_seq  # the face seen from outside, outermost layer first
        c = cuts.heights[i]
        polar = _slab_polar(cell, c / d, charges)
        terms.append(
            dict(
                shift=float(c / d if top else (1.0 - c / d) % 1.0),
                flipped=not top,
                layer_sequence=seq,
                symmetric=symmetric,
                polar=polar,
                broken=broken[i],
                gap=float(cuts.gaps[i]),
                note=_face_note(cuts.fewest_protected, protected_bonds, polar, symmetric),
                root=orbit_of[rep],
                other_root=orbit_of[rep ^ 1],
            )
        )
    terms.sort(key=lambda t: (t["broken"], -t["gap"], t["layer_sequence"], t["flipped"]))
    labels = _labels(terms)
    label_of_root = {t["root"]: labels[k] for k, t in enumerate(terms)}
    out = [
        Termination(
            index=k,
            label=labels[k],
            shift=t["shift"],
            flipped=t["flipped"],
            layer_sequence=t["layer_sequence"],
            symmetric=t["symmetric"],
            polar=t["polar"],
            broken_bonds_per_cell=t["broken"],
            gap_A=round(t["gap"], 4),
            note=t["note"],
            opposite_label=label_of_root[t["other_root"]],  # the slab's bottom when this face is on top
        )
        for k, t in enumerate(terms)
    ]
    result = Terminations(
        phase=phase,
        miller=miller,
        n_cuts=len(cut_orbits),
        terminations=out,
        rejected_cuts=cuts.rejected,
        d_spacing_A=d,
        surface_area_A2=float(cell.lattice.volume / d),
    )
    if cross_check:
        result.n_slabgenerator = slabgenerator_count(bulk, miller, protected_bonds)
    return result


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
    """pymatgen's ``Slab.is_polar`` (|dipole| / area > 1e-3 e/A) on a 2-cell slab from this cut, the sites
    carrying the guessed oxidation states."""
    from pymatgen.core.surface import Slab

    if charges is None:
        return None
    cut = slab_from_cut(cell, shift, n_cells, vacuum=10.0)
    cut.add_oxidation_state_by_element({el: charges.get(el, 0.0) for el in cut.symbol_set})
    slab = Slab(
        cut.lattice,
        cut.species,
        cut.frac_coords,
        miller_index=(0, 0, 1),
        oriented_unit_cell=cell,
        shift=shift,
        scale_factor=np.eye(3),
        reorient_lattice=False,
    )
    return slab.is_polar()


def slabgenerator_count(bulk: Structure, miller: Miller, protected_bonds: dict | None = None) -> int:
    """Number of distinct slabs pymatgen's SlabGenerator returns for this plane (the cross-check)."""
    from pymatgen.core.surface import SlabGenerator

    conv, _ = conventional_and_primitive(bulk)
    gen = SlabGenerator(
        conv, miller, min_slab_size=8.0, min_vacuum_size=10.0, primitive=True, lll_reduce=False, center_slab=True
    )
    bonds = {k: v for k, v in (protected_bonds or {}).items() if all(e in conv.composition for e in k)} or None
    return len(gen.get_slabs(bonds=bonds, ftol=LAYER_TOL_A, symmetrize=False))


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
    li_layers: tuple[int, int] = Field((0, 0), description="Li layers added (> 0) or removed (< 0): top, bottom face")
    li_excess: int = Field(0, description="Li atoms beyond the bulk's ratio (both faces): 0 is stoichiometric")


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
    li_layers: tuple[int, int] = (0, 0),
) -> SlabInfo:
    """A stoichiometric slab (whole oriented cells) with the chosen termination on top (or at the
    bottom with ``face_on="bottom"``, as a film sitting on a substrate needs), ``vacuum_A`` of vacuum,
    c along the normal and the bottom ``fixed_bottom_layers`` atomic layers marked fixed
    (``selective_dynamics`` False, read by the relax job as ASE ``FixAtoms``).

    ``li_layers`` = (top, bottom) makes it non-stoichiometric in Li (``li_rich_or_poor``): k > 0 adds the Li
    of the k layers the bulk continues with beyond that face, k < 0 removes the Li of its k outermost
    layers. Its surface energy then depends on the Li chemical potential.

    Raises UnknownTerminationError for a termination that does not exist and SlabTooThinError when
    fewer free than fixed layers would remain.
    """
    phase = phase or phase_label(bulk)
    terms = terminations or find_terminations(bulk, miller, phase=phase, cross_check=False)
    term = termination if isinstance(termination, Termination) else terms.get(termination)
    if vacuum_A < 0:
        raise InterfaceError(f"vacuum_A must be >= 0, not {vacuum_A}")
    if fixed_bottom_layers < 0:
        raise InterfaceError(f"fixed_bottom_layers must be >= 0, not {fixed_bottom_layers}")
    cell = oriented_cell(bulk, miller)
    d = plane_spacing(cell)
    if n_cells is None:
        n_cells = max(1, math.ceil(min_thickness_A / d - 1e-9))
    if n_cells < 1:
        raise InterfaceError(f"n_cells must be >= 1, not {n_cells}")
    flipped, shift = term.flipped, term.shift
    if face_on == "bottom":  # the other side of the same face: flip the frame, cut at 1 - shift
        flipped, shift = not flipped, (1.0 - shift) % 1.0
    if flipped:
        cell = flip_oriented(cell)
    slab = slab_from_cut(cell, shift, n_cells, vacuum_A)
    n_stoich = len(slab)
    if any(li_layers):
        slab = li_rich_or_poor(slab, n_cells * cell.lattice.matrix[2], li_layers, f"{phase} {tuple(miller)}")
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
        props["selective_dynamics"] = [[i not in fixed] * 3 for i in range(len(slab))]
    for k, v in props.items():
        slab.add_site_property(k, v)
    slab.properties = {
        "phase": phase,
        "miller": list(miller),
        "termination": term.label,
        "li_layers": list(li_layers),
        "kind": "slab",
        "provenance": (bulk.properties or {}).get("provenance", {}),
    }
    check_structure(slab, label=f"{phase} {tuple(miller)} slab")
    return SlabInfo(
        phase=phase,
        miller=tuple(miller),
        termination=term,
        structure=slab,
        n_cells=n_cells,
        n_layers=n_layers,
        n_fixed_layers=fixed_bottom_layers,
        thickness_A=n_cells * d,
        vacuum_A=vacuum_A,
        area_A2=float(slab.lattice.volume / slab.lattice.c),
        bulk_formula_units=n_stoich / bulk.composition.num_atoms,
        li_layers=tuple(li_layers),
        li_excess=len(slab) - n_stoich,
    )


def li_rich_or_poor(slab: Structure, period: np.ndarray, li_layers: tuple[int, int], what: str = "slab") -> Structure:
    """The slab with its Li changed face by face, ``li_layers`` = (top, bottom): k > 0 adds the Li of the k
    layers the crystal continues with beyond that face, k < 0 removes the Li of its k outermost layers.
    ``period`` is the slab's own repeat along the stack (n_cells x the oriented cell's c): the crystal beyond
    the top face is the slab's bottom layers moved up by it, beyond the bottom face its top layers moved
    down, so added Li sit on bulk sites. E.g. Li2S(100), Li2 on top and S below: (0, 1) gives the symmetric
    Li2/Li2 slab (Li-rich, no dipole). A layer with no Li cannot give or lose one: InterfaceError naming it."""
    z = slab.cart_coords @ surface_normal(slab)
    order = np.argsort(z)
    groups: list[list[int]] = [[int(order[0])]]
    for i, j in zip(order[:-1], order[1:]):  # layers along the normal, bottom to top
        if z[j] - z[i] > LAYER_TOL_A:
            groups.append([])
        groups[-1].append(int(j))
    top, bottom = (int(k) for k in li_layers)
    if max(0, -top) + max(0, -bottom) >= len(groups) or max(top, bottom) > len(groups):
        raise InterfaceError(f"{what}: {len(groups)} atomic layers, too thin to change Li layers {li_layers}")
    # (face, sign, layers whose Li is added beyond the face (moved by shift) or removed from it)
    changes = [
        ("top", top, groups[:top] if top > 0 else groups[len(groups) + top :], period),
        ("bottom", bottom, groups[len(groups) - bottom :] if bottom > 0 else groups[:-bottom], -period),
    ]
    out, remove = slab.copy(), []
    for face, k, chosen, shift in changes:
        for layer in chosen if k else []:
            li = [i for i in layer if slab[i].specie.symbol == "Li"]
            if not li:
                formula = Composition(" ".join(slab[i].specie.symbol for i in layer)).formula.replace(" ", "")
                raise InterfaceError(
                    f"{what}: the {formula} layer {'beyond' if k > 0 else 'at'} the {face} face holds no Li, so "
                    f"{'adding' if k > 0 else 'removing'} {abs(k)} Li layer(s) there is not defined; choose another "
                    "termination or face"
                )
            if k < 0:
                remove += li
            for i in li if k > 0 else []:
                out.append("Li", slab[i].coords + shift, coords_are_cartesian=True)
    out.remove_sites(sorted(remove))
    return out


def _bottom_layer_sites(slab: Structure, n_layers: int, tol: float = LAYER_TOL_A) -> set[int]:
    z = slab.cart_coords @ surface_normal(slab)
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
