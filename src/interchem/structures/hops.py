"""Li hops for NEB: symmetry-distinct hop paths, NEB endpoint supercells, and percolation thresholds.

Pure functions on pymatgen ``Structure`` objects; nothing here runs a calculation.

Methods
-------
*Hop enumeration* (``enumerate_li_hops``). Every directed hop ``(i, j, L)`` of the cell is listed: from
site ``i`` (fractional coords ``f_i`` as stored) to the periodic image ``f_j + L`` of site ``j``, for all
neighbours of the mobile species within ``cutoff`` (pymatgen ``get_neighbors``). The symmetry operations
``(R, t)`` of the *full* host structure (``SpacegroupAnalyzer(structure, symprec)``, fractional, in the
input cell's basis) act on the sites as a permutation plus integer lattice shifts ``f_k R + t = f_p(k) +
s_k``; the image of ``(i, j, L)`` is ``(p(i), p(j), R L + s_j - s_i)``. Hops are joined (connected components) with
their images under every operation and with their reverse ``(j, i, -L)``, so a class is one symmetry-
distinct, undirected path. ``multiplicity`` is the number of undirected paths of the class per cell
(directed hops / 2); ``n_from_start`` the number of directed hops of the class leaving the start site
(8 for the nearest-neighbour hop of bcc Li).

*Vacancy vs interstitial.* ``mechanism="vacancy"`` hops between occupied sites of ``species``; the NEB
endpoints have the vacancy at the start site (initial) or at the end site (final). ``mechanism=
"interstitial"`` hops between candidate interstitial sites (``find_interstitial_sites``), with an extra
atom of ``species`` at the start (initial) or the end (final). The installed pymatgen has no
``pymatgen.analysis.defects`` (a separate package, not a dependency), so candidates come from a simple
empty-space search: the distance to the nearest atom is evaluated on a grid (``grid_spacing_A``), its
local maxima at least ``min_distance_A`` from every atom are kept, merged within ``merge_tol_A``, snapped
onto special positions (averaged over the operations that map them onto themselves within
``merge_tol_A``) and expanded into full symmetry orbits. Straight-line paths are not checked for
clashes with host atoms: that is the NEB's job.

*Percolation* (``percolation_threshold``). The hops with ``barrier_eV <= E`` (every equivalent copy,
kept on the ``Hop`` as ``members``) form a periodic quotient graph: nodes are the sites of one cell,
edges carry the lattice translation ``L``. Each connected component is walked once, giving every node
an offset ``o`` in the infinite cover; each edge then closes a cycle with net translation
``o_i + L - o_j``. The rank of the integer span of these translations is the number of dimensions in
which that component is infinite (0: isolated clusters, 1: chains, 2: layers, 3: a 3D network). The
threshold for dimension d is the lowest barrier value at which some component reaches rank >= d; None
when it never does. Hops without a barrier never open.

*Errors.* A structure without the mobile species raises ``NoMobileSpeciesError``; a cutoff below the
shortest distance between sites raises ``NoHopsError`` that gives the shortest distance (an empty list
would silently look like "no diffusion" in a later NEB workflow).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from interchem.errors import HopError, NoHopsError, NoMobileSpeciesError
from interchem.structures.cards import phase_label
from interchem.structures.graphs import connected_groups

Mechanism = Literal["vacancy", "interstitial"]

# Slack on the neighbour cutoff so that a hop sitting exactly at the cutoff is kept with all its images.
_CUTOFF_SLACK_A = 1e-6


class Hop(BaseModel):
    """One symmetry-distinct hop path (the reverse hop is the same path)."""

    species: str
    mechanism: Mechanism
    # Vacancy: indices into the structure. Interstitial: indices into ``find_interstitial_sites``.
    start_index: int
    end_index: int
    # The end is the periodic image ``end_image`` of site ``end_index``: end_frac = frac[end] + end_image.
    end_image: tuple[int, int, int]
    start_frac: tuple[float, float, float]
    end_frac: tuple[float, float, float]
    distance_A: float
    # Undirected paths of this class per cell; directed hops of the class leaving the start site.
    multiplicity: int
    n_from_start: int
    start_wyckoff: str
    end_wyckoff: str
    # Every path of the class in the cell, one direction each: (start, end, image of end).
    members: list[tuple[int, int, tuple[int, int, int]]]
    barrier_eV: float | None = None


def symmetry_operations_frac(structure: Structure, symprec: float) -> list[tuple[np.ndarray, np.ndarray]]:
    sga = SpacegroupAnalyzer(structure, symprec=symprec)
    return [
        (np.rint(op.rotation_matrix).astype(int), np.asarray(op.translation_vector, float))
        for op in sga.get_symmetry_operations(cartesian=False)
    ]


def _site_map(frac: np.ndarray, lattice: Lattice, rot: np.ndarray, trans: np.ndarray, tol: float):
    """Permutation p and integer shifts s with frac[k] R + t = frac[p[k]] + s[k]; None if not a map."""
    new = frac @ rot.T + trans
    diff = new[:, None, :] - frac[None, :, :]
    dist = np.linalg.norm((diff - np.rint(diff)) @ lattice.matrix, axis=-1)
    perm = np.argmin(dist, axis=1)
    if np.any(dist[np.arange(len(frac)), perm] > tol) or len(set(perm.tolist())) != len(frac):
        return None
    shifts = np.rint(new - frac[perm]).astype(int)
    return perm, shifts


def _directed_hops(frac: np.ndarray, lattice: Lattice, cutoff: float):
    """All directed hops (i, j, L, distance) between the points ``frac`` within ``cutoff``."""
    if not len(frac):
        return []
    points = Structure(lattice, ["H"] * len(frac), frac, coords_are_cartesian=False)
    centers, neighbours, images, dists = points.get_neighbor_list(cutoff + _CUTOFF_SLACK_A)
    hops = []
    for i, j, img, d in zip(centers, neighbours, images, dists):
        if d < 1e-6:
            continue
        # The neighbour sits at frac[j] + img (images are relative to the stored coords).
        hops.append((int(i), int(j), tuple(int(x) for x in np.rint(img)), float(d)))
    return hops


def _shortest_distance(frac: np.ndarray, lattice: Lattice) -> float | None:
    r = 4.0
    while r <= 32.0:
        found = [d for (_, _, _, d) in _directed_hops(frac, lattice, r)]
        if found:
            return min(found)
        r *= 2
    return None


def _hop_classes(frac, lattice, ops, cutoff, tol):
    """Group directed hops into symmetry-distinct undirected classes."""
    directed = _directed_hops(frac, lattice, cutoff)
    index = {(i, j, L): n for n, (i, j, L, _) in enumerate(directed)}
    pairs = []
    for n, (i, j, L, _) in enumerate(directed):
        rev = index.get((j, i, (-L[0], -L[1], -L[2])))
        if rev is not None:
            pairs.append((n, rev))
    for rot, trans in ops:
        mapped = _site_map(frac, lattice, rot, trans, tol)
        if mapped is None:
            continue
        perm, shifts = mapped
        for n, (i, j, L, _) in enumerate(directed):
            img = rot @ np.asarray(L) + shifts[j] - shifts[i]
            m = index.get((int(perm[i]), int(perm[j]), tuple(int(x) for x in img)))
            if m is not None:  # an image can fall just outside the cutoff when symmetry is loose
                pairs.append((n, m))
    return directed, connected_groups(len(directed), pairs)


def _wyckoff_by_site(structure: Structure, symprec: float) -> list[str]:
    sym = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetrized_structure()
    labels = [""] * len(structure)
    for group, symbol in zip(sym.equivalent_indices, sym.wyckoff_symbols):
        for k in group:
            labels[k] = symbol
    return labels


def _build_hops(frac, lattice, ops, cutoff, symprec, species, mechanism, wyckoff, phase) -> list[Hop]:
    directed, classes = _hop_classes(frac, lattice, ops, cutoff, tol=1.5 * symprec + 1e-3)
    if not directed:
        shortest = _shortest_distance(frac, lattice)
        what = f"{species} sites" if mechanism == "vacancy" else "interstitial sites"
        raise NoHopsError(
            f"no {mechanism} hops in {phase!r} within cutoff {cutoff:.3f} A: the shortest distance between "
            f"{what} is {shortest:.3f} A; raise the cutoff above it"
            if shortest is not None
            else f"no {mechanism} hops in {phase!r}: no two {species} sites within 32 A"
        )
    hops = []
    for members in classes:

        def order(n: int) -> tuple:
            i, j, L, _ = directed[n]
            return (i, j, sum(map(abs, L)), L)

        rep = min(members, key=order)
        i, j, L, _ = directed[rep]
        undirected = sorted(
            {min((a, b, img), (b, a, (-img[0], -img[1], -img[2]))) for a, b, img, _ in (directed[n] for n in members)}
        )
        hops.append(
            Hop(
                species=species,
                mechanism=mechanism,
                start_index=i,
                end_index=j,
                end_image=L,
                start_frac=tuple(float(x) for x in frac[i]),
                end_frac=tuple(float(x) for x in frac[j] + np.asarray(L)),
                distance_A=round(float(np.mean([directed[n][3] for n in members])), 6),
                multiplicity=len(undirected),
                n_from_start=sum(1 for n in members if directed[n][0] == i),
                start_wyckoff=wyckoff[i],
                end_wyckoff=wyckoff[j],
                members=list(undirected),
            )
        )
    hops.sort(key=lambda h: (h.distance_A, h.start_wyckoff, h.end_wyckoff, h.start_index))
    return hops


def find_interstitial_sites(
    structure: Structure,
    min_distance_A: float = 1.5,
    grid_spacing_A: float = 0.2,
    merge_tol_A: float = 0.5,
    symprec: float = 0.1,
    return_orbits: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Candidate interstitial sites (fractional, shape (n, 3)): full symmetry orbits of empty-space maxima.

    See the module docstring: grid of the distance to the nearest atom, local maxima >= ``min_distance_A``,
    merged, snapped onto special positions, expanded by the host's symmetry. Ordered by orbit, the most
    open orbit first. With ``return_orbits`` also the orbit number of each site (0, 0, ..., 1, ...).

    These are geometric candidates, not energy minima: ``interchem.workflows.interstitials`` relaxes
    them with a calculator and merges those that fall into the same minimum.
    """
    lattice = structure.lattice
    n = [max(4, math.ceil(length / grid_spacing_A)) for length in lattice.abc]
    axes = [np.arange(k) / k for k in n]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    atoms = structure.frac_coords
    dmin = np.full(len(grid), np.inf)
    for start in range(0, len(grid), 4096):  # bounded memory on large cells
        chunk = lattice.get_all_distances(grid[start : start + 4096], atoms)
        dmin[start : start + 4096] = chunk.min(axis=1)
    field = dmin.reshape(n)
    is_max = field >= min_distance_A
    for shift in np.ndindex(3, 3, 3):
        if shift != (1, 1, 1):
            is_max &= field >= np.roll(field, tuple(s - 1 for s in shift), axis=(0, 1, 2)) - 1e-9
    idx = np.flatnonzero(is_max.reshape(-1))
    idx = idx[np.argsort(-dmin[idx])]
    ops = symmetry_operations_frac(structure, symprec)

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return periodic_within(lattice, a, b, merge_tol_A)

    sites: list[np.ndarray] = []
    orbit_ids: list[int] = []
    for k in idx:
        p = grid[k]
        if sites and close(p, np.array(sites)):
            continue
        p = snap_to_special_position(p, lattice, ops, merge_tol_A)
        if sites and close(p, np.array(sites)):
            continue
        if np.min(lattice.get_all_distances(p[None, :], atoms)) < min_distance_A:
            continue
        orbit = symmetry_orbit(p, lattice, ops, merge_tol_A)
        orbit_ids.extend([orbit_ids[-1] + 1 if orbit_ids else 0] * len(orbit))
        sites.extend(orbit)
    out = np.array(sites).reshape(-1, 3)
    return (out, np.array(orbit_ids, dtype=int)) if return_orbits else out


def periodic_within(lattice: Lattice, a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Is fractional point ``a`` within ``tol`` (A, periodic) of any of the points ``b``?"""
    b = np.asarray(b).reshape(-1, 3)
    return bool(np.min(lattice.get_all_distances(np.asarray(a)[None, :], b)) < tol) if len(b) else False


def snap_to_special_position(p: np.ndarray, lattice: Lattice, ops, tol: float) -> np.ndarray:
    """Average ``p`` over the symmetry operations that map it within ``tol`` (A) of itself: a point near
    a special position lands on it (three passes, so a point that gains stabilisers on the way converges)."""
    p = np.asarray(p, float)
    for _ in range(3):
        images = []
        for rot, trans in ops:
            q = rot @ p + trans
            q = q - np.rint(q - p)  # nearest image to p
            if np.linalg.norm(lattice.get_cartesian_coords(q - p)) < tol:
                images.append(q)
        p = np.mean(images, axis=0)
    return p % 1.0


def symmetry_orbit(p: np.ndarray, lattice: Lattice, ops, tol: float) -> list[np.ndarray]:
    """The distinct images of fractional point ``p`` under ``ops`` (points closer than ``tol`` A are one)."""
    orbit: list[np.ndarray] = []
    for rot, trans in ops:
        q = (rot @ np.asarray(p, float) + trans) % 1.0
        if not orbit or not periodic_within(lattice, q, np.array(orbit), tol):
            orbit.append(q)
    return orbit


def _interstitial_wyckoff(structure: Structure, sites: np.ndarray, symprec: float) -> list[str]:
    """Wyckoff label of each interstitial site: its orbit added as a spare element keeps the symmetry."""
    present = {el.symbol for el in structure.composition.elements}
    spare = next(e for e in ("Kr", "Xe", "Rb", "Cs", "Ba", "Sr") if e not in present)
    labels = []
    done: dict[int, str] = {}
    host = structure.copy()
    for k in range(len(sites)):
        if k in done:
            labels.append(done[k])
            continue
        trial = host.copy()
        for p in sites:
            trial.append(spare, p)
        wy = _wyckoff_by_site(trial, symprec)
        for m in range(len(sites)):
            done[m] = wy[len(host) + m]
        labels.append(done[k])
    return labels


def enumerate_li_hops(
    structure: Structure,
    species: str = "Li",
    cutoff: float = 4.0,
    mechanism: Mechanism = "vacancy",
    symprec: float = 0.1,
    interstitial_sites: np.ndarray | Sequence[Sequence[float]] | None = None,
) -> list[Hop]:
    """Symmetry-distinct hops of ``species`` within ``cutoff`` (A), shortest first. See the module docstring.

    ``interstitial_sites`` (fractional, full symmetry orbits): the sites to hop between for the
    interstitial mechanism, e.g. the relaxed minima of ``interchem.workflows.interstitials``; default:
    the geometric candidates of ``find_interstitial_sites``."""
    phase = phase_label(structure)
    if mechanism not in ("vacancy", "interstitial"):
        raise HopError(f"unknown hop mechanism {mechanism!r}; use 'vacancy' or 'interstitial'")
    if cutoff <= 0:
        raise HopError(f"hop cutoff must be positive, got {cutoff!r} A")
    li = [k for k, site in enumerate(structure) if species in {el.symbol for el in site.species.elements}]
    ops = symmetry_operations_frac(structure, symprec)
    if mechanism == "vacancy":
        if not li:
            raise NoMobileSpeciesError(phase, species)
        sub = np.array([structure[k].frac_coords for k in li])
        wy_all = _wyckoff_by_site(structure, symprec)
        wy = [wy_all[k] for k in li]
        hops = _build_hops(sub, structure.lattice, ops, cutoff, symprec, species, mechanism, wy, phase)
        remap = lambda m: li[m]  # noqa: E731 - back to structure indices
        return [
            h.model_copy(
                update={
                    "start_index": remap(h.start_index),
                    "end_index": remap(h.end_index),
                    "members": [(remap(a), remap(b), img) for a, b, img in h.members],
                }
            )
            for h in hops
        ]
    if interstitial_sites is not None:
        sites = np.asarray(interstitial_sites, float).reshape(-1, 3)
    else:
        sites = find_interstitial_sites(structure, symprec=symprec)
    if not len(sites):
        raise NoHopsError(f"no interstitial sites found in {phase!r} (min distance to atoms 1.5 A)")
    wy = _interstitial_wyckoff(structure, sites, symprec)
    return _build_hops(sites, structure.lattice, ops, cutoff, symprec, species, mechanism, wy, phase)


def supercell_scaling(structure: Structure, min_length: float) -> tuple[int, int, int]:
    a, b, c = (max(1, math.ceil(min_length / length - 1e-9)) for length in structure.lattice.abc)
    return a, b, c


def build_neb_endpoints(
    structure: Structure, hop: Hop, supercell_min_length: float = 8.0
) -> tuple[Structure, Structure]:
    """(initial, final) supercells for an NEB of ``hop``; lattice lengths >= ``supercell_min_length`` (A).

    The cell is repeated along a, b, c (diagonal scaling, ceil(min / length) each). Vacancy: initial has
    the vacancy at the start site (the moving atom sits at the end), final at the end site (the atom
    sits at the start). Interstitial: the extra atom at the start (initial) vs the end (final), appended
    last. All other atoms are identical and in the same order; the moving atom has the same index in
    both (``properties["neb_moving_index"]``), and its final position is the initial one minus the hop
    vector, so a straight/IDPP interpolation follows the hop itself rather than another image.
    """
    scaling = supercell_scaling(structure, supercell_min_length)
    n = np.array(scaling, float)
    sc = structure.copy()
    sc.make_supercell(np.diag(scaling))
    start = np.asarray(hop.start_frac) / n
    end = np.asarray(hop.end_frac) / n
    hop_frac = end - start  # supercell fractional hop vector (start -> end)
    props = {**(getattr(structure, "properties", None) or {}), "neb_hop": hop.model_dump(exclude={"members"})}

    if hop.mechanism == "interstitial":
        initial, final = sc.copy(), sc.copy()
        initial.append(hop.species, start)
        final.append(hop.species, start + hop_frac)  # = end, unwrapped along the hop
        k = len(sc)
    else:

        def locate(p: np.ndarray) -> int:
            d = sc.lattice.get_all_distances(p[None, :], sc.frac_coords)[0]
            k = int(np.argmin(d))
            if d[k] > 0.1:
                raise HopError(f"hop site {p.tolist()} is not a site of the structure (nearest {d[k]:.3f} A away)")
            return k

        s_idx, e_idx = locate(start), locate(end)
        if s_idx == e_idx:
            raise HopError(
                f"the hop ({hop.distance_A:.3f} A) joins a site to its own image in the {scaling} supercell; "
                "raise supercell_min_length"
            )
        k = min(s_idx, e_idx)
        moving = sc[s_idx].species
        # Atom at the end site (as stored) in the initial state; for the final state it goes back along
        # the hop to the start site, unwrapped so the displacement is the hop vector itself.
        e_pos = sc.frac_coords[e_idx]
        base = sc.copy()
        base.remove_sites(sorted([s_idx, e_idx], reverse=True))
        initial, final = base.copy(), base.copy()
        initial.insert(k, moving, e_pos)
        final.insert(k, moving, e_pos - hop_frac)
    for st in (initial, final):
        st.properties = {**props, "neb_moving_index": k, "supercell_scaling": list(scaling)}
    return initial, final


def _component_ranks(edges: Sequence[tuple[int, int, tuple[int, int, int]]]) -> int:
    """Largest number of independent lattice translations spanned by one connected component."""
    adj: dict[int, list[tuple[int, np.ndarray]]] = {}
    for a, b, L in edges:
        v = np.asarray(L, int)
        adj.setdefault(a, []).append((b, v))
        adj.setdefault(b, []).append((a, -v))
    offset: dict[int, np.ndarray] = {}
    best = 0
    for root in adj:
        if root in offset:
            continue
        offset[root] = np.zeros(3, int)
        stack, cycles, comp = [root], [], [root]
        while stack:
            a = stack.pop()
            for b, v in adj[a]:
                target = offset[a] + v
                if b not in offset:
                    offset[b] = target
                    stack.append(b)
                    comp.append(b)
                else:
                    c = target - offset[b]
                    if np.any(c):
                        cycles.append(c)
        if cycles:
            best = max(best, int(np.linalg.matrix_rank(np.array(cycles, float))))
        if best == 3:
            break
    return best


def percolation_dimension(hops: Iterable[Hop], max_barrier_eV: float | None = None) -> int:
    """Dimensionality (0-3) of the network of the hops with ``barrier_eV <= max_barrier_eV`` (None: all)."""
    edges = [
        m
        for h in hops
        if max_barrier_eV is None or (h.barrier_eV is not None and h.barrier_eV <= max_barrier_eV)
        for m in h.members
    ]
    return _component_ranks(edges)


def percolation_threshold(
    hops: Sequence[Hop], structure: Structure, dims: Iterable[int] = (1, 2, 3)
) -> dict[int, float | None]:
    """Lowest barrier E (eV) at which hops with ``barrier_eV <= E`` percolate in each of ``dims``.

    Method in the module docstring (quotient graph with lattice translations, rank of the cycle
    translations). Hops without ``barrier_eV`` never open; None: no percolation in that dimension at any
    assigned barrier. ``structure`` is the cell the hops were enumerated on (checked against the indices).
    """
    dims = list(dims)
    if any(d not in (1, 2, 3) for d in dims):
        raise HopError(f"percolation dimensions must be 1, 2 or 3, got {dims}")
    n_sites = len(structure)
    for h in hops:
        if h.mechanism == "vacancy" and any(max(a, b) >= n_sites for a, b, _ in h.members):
            raise HopError(f"hop {h.start_index}->{h.end_index} indexes sites beyond the {n_sites}-site structure")
    result: dict[int, float | None] = {d: None for d in dims}
    for e in sorted({h.barrier_eV for h in hops if h.barrier_eV is not None}):
        rank = percolation_dimension(hops, e)
        for d in dims:
            if result[d] is None and rank >= d:
                result[d] = e
        if all(v is not None for v in result.values()):
            break
    return result


def interface_li_hop_endpoints(
    structure: Structure, species: str = "Li", max_distance_A: float = 4.0
) -> tuple[Structure, Structure, dict]:
    """(initial, final, info) for a Li vacancy hop ACROSS an anode|electrolyte interface.

    ``structure`` is an interface built by ``interchem.structures.interfaces`` (site property
    ``interface_side`` = "anode" / "electrolyte"). The hop joins the closest pair of Li atoms on the two
    sides (minimum image, <= ``max_distance_A``): the electrolyte-side Li is removed (the vacancy) and
    the anode-side Li moves into its site, so the path crosses the interface. Atom order is the same in
    both endpoints; ``info["moving_index"]`` is the moving atom.
    """
    side = structure.site_properties.get("interface_side")
    if side is None:
        raise HopError("structure has no 'interface_side' site property: build it with interchem.structures.interfaces")
    is_li = np.array([species in {el.symbol for el in site.species.elements} for site in structure])
    anode = np.flatnonzero(is_li & (np.array(side) == "anode"))
    elyte = np.flatnonzero(is_li & (np.array(side) == "electrolyte"))
    if not len(anode) or not len(elyte):
        missing = "anode" if not len(anode) else "electrolyte"
        raise NoMobileSpeciesError(f"the {missing} side of this interface", species)
    d = structure.lattice.get_all_distances(structure.frac_coords[anode], structure.frac_coords[elyte])
    a, e = np.unravel_index(np.argmin(d), d.shape)
    if d[a, e] > max_distance_A:
        raise NoHopsError(
            f"closest {species} pair across the interface is {d[a, e]:.2f} A apart (> {max_distance_A} A)"
        )
    i, j = int(anode[a]), int(elyte[e])
    _, image = structure.lattice.get_distance_and_image(structure.frac_coords[i], structure.frac_coords[j])
    target = structure.frac_coords[j] + image  # the electrolyte site, unwrapped next to the anode Li
    initial = structure.copy()
    initial.remove_sites([j])
    k = i if i < j else i - 1
    final = initial.copy()
    final.replace(k, final[k].species, coords=target, properties=final[k].properties)
    info = {
        "moving_index": k,
        "distance_A": float(d[a, e]),
        "anode_li_index": i,
        "electrolyte_li_index": j,
        "start_frac": structure.frac_coords[i].tolist(),
        "end_frac": (target % 1.0).tolist(),
    }
    for st in (initial, final):
        st.properties = {**(structure.properties or {}), "neb_moving_index": k, "interface_hop": info}
    return initial, final, info
