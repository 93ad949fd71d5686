"""Lattice-matched anode|electrolyte interfaces: ZSL supercells, stacking, de-duplication, ranking, gap, split.

pymatgen's ``ZSLGenerator`` (Zur-McGill) finds the matching supercells and ``Interface.from_slabs`` stacks
them; the slabs are this project's terminations (``interchem.structures.surfaces``) rather than
``CoherentInterfaceBuilder``'s, the film is strained affinely onto the substrate's in-plane cell (its
thickness along the normal is kept), and the strain is reported as the principal stretches of that
deformation. The anode is the substrate (unstrained), the electrolyte the film. Duplicates are removed
with ``StructureMatcher``. The gap is changed with ``Interface.gap`` and the partners are taken apart
with ``Interface.substrate``/``.film``.

Written by hand around pymatgen's Interface, and why: a candidate keeps a plain ``Structure`` in stacking
order (anode first) with the ``interface_side`` site property, because an ``Interface`` re-sorts its sites
by electronegativity whenever it is built or read back, which would reorder the atoms (and MD velocities
drawn per index); ``from_slabs`` turns the film over by mirroring z, so it is handed the mirror image of
the face-down film and the two mirrors cancel (a plain z-mirror of a non-centrosymmetric film is another
crystal).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition, Structure
from pymatgen.core.interface import Interface

from interchem.errors import InterfaceError, NoInterfaceMatchError
from interchem.structures.amorphous import cut_amorphous_block
from interchem.structures.cards import check_structure, phase_label
from interchem.structures.surfaces import (
    Miller,
    SlabInfo,
    Terminations,
    find_terminations,
    make_slab,
    surface_normal,
)

SIDES = ("anode", "electrolyte")  # interface_side values, bottom (substrate) first


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
    film_supercell_vectors: list[list[float]] = Field(
        description="unstrained electrolyte in-plane supercell vectors (A)"
    )
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
    film_vectors: np.ndarray,
    substrate_vectors: np.ndarray,
    film_normal: np.ndarray | None = None,
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


def _lattice_matches(substrate: Structure, film: Structure, lim: InterfaceLimits) -> list[tuple]:
    """ZSL supercell pairs (film vectors, substrate vectors, their integer transformations, principal
    stretches, von Mises strain) within the limits, one per (areas, strain)."""
    from pymatgen.analysis.interfaces.zsl import ZSLGenerator

    sub_v = substrate.lattice.matrix[:2]
    film_v = film.lattice.matrix[:2]
    n_sub, n_film = surface_normal(substrate), surface_normal(film)
    zsl = ZSLGenerator(
        max_area_ratio_tol=0.09,
        max_area=lim.max_area,
        max_length_tol=lim.max_strain,
        max_angle_tol=lim.max_angle_tol,
        bidirectional=True,
    )
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
    return matches


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
        self.anode_name = self.anode_name or phase_label(self.anode)
        self.electrolyte_name = self.electrolyte_name or phase_label(self.electrolyte)
        if self.model not in ("vacuum", "periodic"):
            raise InterfaceError(f"interface model must be 'vacuum' or 'periodic', not {self.model!r}")
        for name in ("max_area", "max_strain", "max_atoms"):
            if getattr(self.limits, name) <= 0:
                raise InterfaceError(f"limit {name} must be positive, not {getattr(self.limits, name)}")
        if self.gap_A <= 0.5:
            raise InterfaceError(f"interfacial gap {self.gap_A} A is too small (atoms would overlap)")

    def terminations(self) -> tuple[Terminations, Terminations]:
        ta = find_terminations(self.anode, self.anode_miller, phase=self.anode_name, cross_check=False)
        te = find_terminations(
            self.electrolyte, self.electrolyte_miller, phase=self.electrolyte_name, cross_check=False
        )
        return ta, te

    def build(self) -> list[InterfaceCandidate]:
        ta, te = self.terminations()
        a_terms = [ta.get(self.anode_termination)] if self.anode_termination is not None else ta.terminations
        e_terms = (
            [te.get(self.electrolyte_termination)] if self.electrolyte_termination is not None else te.terminations
        )
        lim = self.limits
        # one slab per termination: the anode face on top, the electrolyte face at the bottom
        a_slabs = [
            make_slab(
                self.anode,
                self.anode_miller,
                t,
                self.anode_thickness_A,
                10.0,
                self.fixed_bottom_layers,
                terminations=ta,
                phase=self.anode_name,
            )
            for t in a_terms
        ]
        e_slabs = [
            make_slab(
                self.electrolyte,
                self.electrolyte_miller,
                t,
                self.electrolyte_thickness_A,
                10.0,
                terminations=te,
                phase=self.electrolyte_name,
                face_on="bottom",
            )
            for t in e_terms
        ]
        matches = _lattice_matches(a_slabs[0].structure, e_slabs[0].structure, lim)
        n_matches = len(matches)
        candidates: list[InterfaceCandidate] = []
        too_many = 0
        for fs, ss, mf, ms, stretches, vm in matches:
            for sa, se in itertools.product(a_slabs, e_slabs):
                n_atoms = len(sa.structure) * abs(round(np.linalg.det(ms))) + len(se.structure) * abs(
                    round(np.linalg.det(mf))
                )
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
        periodic = self.model == "periodic"
        structure = stack_slabs(sub, film, self.gap_A, self.gap_A if periodic else self.vacuum_A)
        structure.properties = {
            "kind": "interface",
            "anode": self.anode_name,
            "electrolyte": self.electrolyte_name,
            "model": self.model,
        }
        check_structure(structure, label=f"{self.anode_name}|{self.electrolyte_name} interface")
        a_s, b_s = sub.lattice.matrix[:2]
        area = float(np.linalg.norm(np.cross(a_s, b_s)))
        imax = int(np.argmax(np.abs(stretches)))
        t_s, t_f = _thickness(sub), _thickness(film)
        return InterfaceCandidate(
            anode=self.anode_name,
            electrolyte=self.electrolyte_name,
            anode_miller=tuple(self.anode_miller),
            electrolyte_miller=tuple(self.electrolyte_miller),
            anode_termination=sa.termination.label,
            electrolyte_termination=se.termination.label,
            structure=structure,
            model=self.model,
            n_interfaces=2 if periodic else 1,
            area_A2=area,
            strain=float(stretches[imax]),
            max_abs_strain=float(np.max(np.abs(stretches))),
            von_mises_strain=vm,
            n_atoms=len(structure),
            n_anode=len(sub),
            n_electrolyte=len(film),
            gap_A=self.gap_A,
            anode_thickness_A=t_s,
            electrolyte_thickness_A=t_f,
            film_supercell_vectors=film.lattice.matrix[:2].tolist(),
            substrate_supercell_vectors=[a_s.tolist(), b_s.tolist()],
            anode_transformation=np.asarray(ms).tolist(),
            electrolyte_transformation=np.asarray(mf).tolist(),
        )


def deduplicate(candidates: list[InterfaceCandidate]) -> list[InterfaceCandidate]:
    """Drop candidates that are the same structure (StructureMatcher, no supercells, no scaling); the
    first (lower strain) of each group is kept."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(
        ltol=0.1, stol=0.2, angle_tol=3, primitive_cell=False, scale=False, attempt_supercell=False
    )
    kept: list[InterfaceCandidate] = []
    for cand in sorted(candidates, key=lambda c: (c.max_abs_strain, c.n_atoms)):
        same = [
            k
            for k in kept
            if k.n_atoms == cand.n_atoms
            and abs(k.area_A2 - cand.area_A2) < 0.5
            and k.anode_termination == cand.anode_termination
            and k.electrolyte_termination == cand.electrolyte_termination
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


def _thickness(slab: Structure) -> float:
    z = slab.cart_coords @ surface_normal(slab)
    return float(z.max() - z.min())


def stack_slabs(substrate: Structure, film: Structure, gap_A: float, vacuum_A: float) -> Structure:
    """``film`` (its face at the bottom) on ``substrate`` (face on top) with ``gap_A`` between them, by
    ``Interface.from_slabs``: the film takes the substrate's in-plane cell (fractional in-plane coordinates
    kept), c is along the normal and ``vacuum_A`` long beyond the two slabs, half of it below the substrate
    (a periodic model passes vacuum_A = gap_A: the second interface then has the same gap). Both slabs need
    c along their normals. Returns a plain Structure, anode sites first, with ``interface_side``."""
    film_flipped = film.copy()  # from_slabs mirrors z; the mirror image makes it the film itself again
    film_flipped.frac_coords = film.frac_coords * np.array([1.0, 1.0, -1.0])
    parts = []
    for part, side in ((substrate, SIDES[0]), (film_flipped, SIDES[1])):
        part = part.copy()
        part.add_site_property("interface_side", [side] * len(part))
        parts.append(part)
    fixed = substrate.site_properties.get("selective_dynamics")
    if fixed is not None:  # from_slabs keeps only the properties both slabs carry
        parts[1].add_site_property("selective_dynamics", [[True] * 3] * len(film))
    n_sub = len(substrate)
    for k, part in enumerate(parts):
        part.add_site_property("stack_index", list(range(k * n_sub, k * n_sub + len(part))))
    iface = Interface.from_slabs(parts[0], parts[1], gap=gap_A, vacuum_over_film=vacuum_A, center_slab=False)
    iface.translate_sites(list(range(len(iface))), [0, 0, vacuum_A / 2], frac_coords=False, to_unit_cell=True)
    return _in_stacking_order(iface, {})


def _in_stacking_order(iface: Interface, properties: dict) -> Structure:
    """The Interface's sites back in stacking order (``stack_index``), as a plain Structure."""
    order = np.argsort(iface.site_properties["stack_index"], kind="stable")
    out = Structure.from_sites([iface[int(i)] for i in order])
    out.remove_site_property("stack_index")
    out.properties = dict(properties)
    return out


def as_interface(structure: Structure) -> Interface:
    """A pymatgen ``Interface`` of an interface built here (site property ``interface_side``), in
    pymatgen's frame (a along x, c along z: the gap and vacuum setters need it), with gap and vacuum
    measured from the positions and ``stack_index`` recording the site order."""
    side = structure.site_properties.get("interface_side")
    if side is None:
        raise InterfaceError("structure has no 'interface_side' site property: not an interface built here")
    anode = np.array([s == SIDES[0] for s in side])
    lattice = structure.lattice
    if not (math.isclose(lattice.alpha, 90, abs_tol=1e-3) and math.isclose(lattice.beta, 90, abs_tol=1e-3)):
        raise InterfaceError("interface cell has c not along the surface normal: not an interface built here")
    z = structure.frac_coords[:, 2] * lattice.c
    gap = float(z[~anode].min() - z[anode].max())
    vacuum = float(lattice.c - np.ptp(z[anode]) - gap - np.ptp(z[~anode]))
    props = dict(structure.site_properties)
    props["interface_label"] = ["substrate" if a else "film" for a in anode]
    props["stack_index"] = list(range(len(structure)))
    return Interface(
        type(lattice).from_parameters(*lattice.abc, *lattice.angles),
        structure.species_and_occu,
        structure.frac_coords,
        site_properties=props,
        gap=gap,
        vacuum_over_film=vacuum,
    )


def set_gap(structure: Structure, gap_A: float, vacuum_A: float | None = None) -> Structure:
    """The same interface with the electrolyte moved rigidly along the normal so that the distance
    between the anode's top layer and the electrolyte's bottom layer is ``gap_A`` (both partners
    unchanged), by pymatgen's ``Interface.gap``. Periodic models keep the same gap at the second
    interface; vacuum models keep the vacuum (or set it to ``vacuum_A``). The anode starts half the
    vacuum (periodic: half the gap) above the cell's bottom, as when built."""
    iface = as_interface(structure)
    periodic = (structure.properties or {}).get("model", "vacuum") == "periodic"
    iface.gap = gap_A
    if periodic:
        iface.vacuum_over_film = gap_A
    elif vacuum_A is not None:
        iface.vacuum_over_film = vacuum_A
    z_anode = iface.frac_coords[iface.substrate_indices, 2] * iface.lattice.c
    shift = iface.vacuum_over_film / 2 - z_anode.min()
    iface.translate_sites(list(range(len(iface))), [0, 0, shift], frac_coords=False, to_unit_cell=True)
    return _in_stacking_order(iface, structure.properties or {})


def split_interface(structure: Structure, vacuum_A: float = 12.0) -> tuple[Structure, Structure]:
    """The anode and electrolyte parts of an interface (``Interface.substrate``/``.film``, in this order),
    each alone in the same in-plane cell with ``vacuum_A`` of vacuum (positions as in the interface,
    atoms in the interface's order): the E_A and E_B of the work of adhesion."""
    iface = as_interface(structure)
    a, b, c = iface.lattice.matrix
    parts = []
    for sub in (iface.substrate, iface.film):
        sub = Structure.from_sites(sorted(sub, key=lambda site: site.properties["stack_index"]))
        sub.remove_site_property("stack_index")
        sub.remove_site_property("interface_label")
        # unwrap along the normal: a part may straddle the periodic boundary of a periodic model
        z = _unwrap_heights(sub.frac_coords[:, 2] * iface.lattice.c, iface.lattice.c)
        t = z.max() - z.min()
        frac = sub.frac_coords.copy()
        frac[:, 2] = (z - z.min() + vacuum_A / 2) / (t + vacuum_A)
        lattice = type(iface.lattice)([a, b, c / np.linalg.norm(c) * (t + vacuum_A)])
        parts.append(Structure(lattice, sub.species_and_occu, frac % 1.0, site_properties=sub.site_properties))
    return parts[0], parts[1]


def _unwrap_heights(z: np.ndarray, c_len: float) -> np.ndarray:
    z = np.mod(z, c_len)
    zs = np.sort(z)
    gaps = np.diff(np.concatenate([zs, [zs[0] + c_len]]))
    k = int(np.argmax(gaps))  # the largest empty stretch is outside the part
    start = zs[(k + 1) % len(zs)]
    return np.where(z >= start, z, z + c_len)


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
    crystal_name = crystal_name or phase_label(crystal)
    amorphous_name = amorphous_name or phase_label(block, fallback=f"a-{block.composition.reduced_formula}")
    face = "top" if crystal_role == "anode" else "bottom"
    slab = make_slab(crystal, miller, termination, crystal_thickness_A, 10.0, phase=crystal_name, face_on=face)
    cs = slab.structure.copy()
    cs.make_supercell([supercell[0], supercell[1], 1])
    ab = cs.lattice.matrix[:2]
    amorph = cut_amorphous_block(block, ab, amorphous_thickness_A, phase=amorphous_name)
    bottom, top = (cs, amorph) if crystal_role == "anode" else (amorph, cs)
    structure = stack_slabs(bottom, top, gap_A, vacuum_A)
    anode_name, elec_name = (
        (crystal_name, amorphous_name) if crystal_role == "anode" else (amorphous_name, crystal_name)
    )
    structure.properties = {"kind": "interface", "anode": anode_name, "electrolyte": elec_name, "model": "vacuum"}
    check_structure(structure, label=f"{anode_name}|{elec_name} interface")
    n_a = len(bottom)
    vec = ab.tolist()
    crystal_is_anode = crystal_role == "anode"
    return InterfaceCandidate(
        anode=anode_name,
        electrolyte=elec_name,
        anode_miller=tuple(miller) if crystal_is_anode else (0, 0, 0),
        electrolyte_miller=(0, 0, 0) if crystal_is_anode else tuple(miller),
        anode_termination=slab.termination.label if crystal_is_anode else "amorphous",
        electrolyte_termination="amorphous" if crystal_is_anode else slab.termination.label,
        structure=structure,
        model="vacuum",
        n_interfaces=1,
        area_A2=float(np.linalg.norm(np.cross(*ab))),
        strain=0.0,
        max_abs_strain=0.0,
        von_mises_strain=0.0,
        n_atoms=len(structure),
        n_anode=n_a,
        n_electrolyte=len(structure) - n_a,
        gap_A=gap_A,
        anode_thickness_A=0.0,
        electrolyte_thickness_A=0.0,
        film_supercell_vectors=vec,
        substrate_supercell_vectors=vec,
        anode_transformation=[[supercell[0], 0], [0, supercell[1]]],
        electrolyte_transformation=[[1, 0], [0, 1]],
    )


def side_composition(structure: Structure, side: str) -> Composition:
    labels = structure.site_properties["interface_side"]
    return Composition(" ".join(s.specie.symbol for s, lab in zip(structure, labels) if lab == side))


def describe_candidate(c: InterfaceCandidate) -> dict[str, Any]:
    return {
        "rank": c.rank,
        "label": c.label(),
        "n_atoms": c.n_atoms,
        "area_A2": round(c.area_A2, 2),
        "strain_percent": round(100 * c.strain, 2),
        "von_mises_percent": round(100 * c.von_mises_strain, 2),
        "model": c.model,
        "interface_energy_J_m2": c.interface_energy_J_m2,
    }
