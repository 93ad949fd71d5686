"""Interface analysis, pure functions: surface and interface energies, work of adhesion, and the
reactivity of an interface along an MD trajectory (Li profile, bonds per element pair, product-like
environments). No calculators, no I/O: numbers and arrays in, pydantic models out.

Sign conventions (energies in eV, areas in A^2, results in J/m^2):
* surface energy of a stoichiometric slab with two faces: gamma = (E_slab - N e_bulk) / (2 A);
* work of adhesion (separation) W_ad = (E_A + E_B - E_AB) / (n A), n = number of interfaces in the
  cell (1 for a vacuum-terminated model, 2 for a periodic one); W_ad > 0: the partners bind;
* interface energy gamma_AB = gamma_A + gamma_B - W_ad (Dupre), with gamma_A, gamma_B the slabs'
  (face-averaged) surface energies; for a strained film it includes the film's strain energy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

EV_PER_A2_TO_J_PER_M2 = 16.021766208  # 1 eV/A^2 = 16.02 J/m^2


def surface_energy(e_slab: float, n_atoms: int, e_bulk_per_atom: float, area_A2: float, n_surfaces: int = 2) -> float:
    """Surface energy (J/m^2) of a stoichiometric slab; ``n_surfaces`` faces exposed (2 for a slab in vacuum)."""
    _check_area(area_A2)
    return (e_slab - n_atoms * e_bulk_per_atom) / (n_surfaces * area_A2) * EV_PER_A2_TO_J_PER_M2


def work_of_adhesion(e_a: float, e_b: float, e_ab: float, area_A2: float, n_interfaces: int = 1) -> float:
    """W_ad = (E_A + E_B - E_AB) / (n A) in J/m^2 (positive when the two partners bind)."""
    _check_area(area_A2)
    if n_interfaces not in (1, 2):
        raise ValueError(f"n_interfaces must be 1 (vacuum model) or 2 (periodic model), not {n_interfaces}")
    return (e_a + e_b - e_ab) / (n_interfaces * area_A2) * EV_PER_A2_TO_J_PER_M2


def interface_energy(gamma_a: float, gamma_b: float, w_ad: float) -> float:
    """Dupre: gamma_AB = gamma_A + gamma_B - W_ad (all J/m^2)."""
    return gamma_a + gamma_b - w_ad


# A slab cannot be more stable per atom than its own bulk: a surface energy below this (J/m^2; the
# tolerance absorbs force-threshold noise of ~1 meV/atom on a thin slab) is refused, not reported.
NEGATIVE_GAMMA_TOL_J_M2 = 0.02


def negative_surface_energy_message(gamma: float, what: str, reference: str = "") -> str | None:
    """The refusal of a negative surface energy, naming the likely causes (None when gamma is acceptable)."""
    if gamma >= -NEGATIVE_GAMMA_TOL_J_M2:
        return None
    return (
        f"{what}: negative surface energy {gamma:.3f} J/m^2 refused - the slab is lower in energy per atom than "
        f"its bulk reference{f' ({reference})' if reference else ''}. Likely causes: the bulk reference is not "
        "at its minimum (an ordered approximant whose Li arrangement relaxes in the slab, a bulk relaxation "
        "that did not converge, or a single point of an unrelaxed cell); the slab is not stoichiometric (its "
        "surface energy then depends on the Li chemical potential); or the reference is the wrong phase or "
        "strain"
    )


def li_excess(slab_formula: dict[str, float], bulk_formula: dict[str, float]) -> tuple[float, float] | None:
    """(bulk formula units, extra Li atoms) of a slab whose non-Li elements are in the bulk's ratio; None if
    they are not (then no single chemical potential fixes its surface energy). (n, 0) is stoichiometric."""
    hosts = [el for el in bulk_formula if el != "Li"]
    if not hosts or set(slab_formula) - set(bulk_formula):
        return None
    n = slab_formula.get(hosts[0], 0.0) / bulk_formula[hosts[0]]
    if any(abs(slab_formula.get(el, 0.0) - n * bulk_formula[el]) > 1e-6 for el in hosts):
        return None
    return n, slab_formula.get("Li", 0.0) - n * bulk_formula.get("Li", 0.0)


def surface_energy_vs_mu_li(
    e_slab: float,
    slab_formula: dict[str, float],
    e_bulk_per_formula: float,
    bulk_formula: dict[str, float],
    area_A2: float,
    mu_li_eV: list[float] | np.ndarray,
    n_surfaces: int = 2,
) -> list[float]:
    """gamma(mu_Li) = (E_slab - n E_bulk,fu - dN_Li mu_Li) / (n_surfaces A) in J/m^2 of a slab with dN_Li Li
    more (or fewer) than n bulk formula units; mu_Li absolute (eV/Li, e.g. E(Li metal) - e*U for a potential
    U vs Li/Li+). A stoichiometric slab gives the same number at every mu_Li."""
    _check_area(area_A2)
    ex = li_excess(slab_formula, bulk_formula)
    if ex is None:
        raise ValueError(f"slab {slab_formula} is not bulk {bulk_formula} plus or minus Li only")
    n, d_li = ex
    mu = np.asarray(mu_li_eV, float)
    return ((e_slab - n * e_bulk_per_formula - d_li * mu) / (n_surfaces * area_A2) * EV_PER_A2_TO_J_PER_M2).tolist()


def _check_area(area: float) -> None:
    if not area > 0:
        raise ValueError(f"area must be positive, not {area}")


# --------------------------------------------------------------------------------------------------
# Bonds and environments

# Bond cut-offs (A) per element pair: between the bond length and the next shell. Sources are the
# library's reference phases (first-shell distances, measured on the cards): Li-S 2.47 (Li2S), 2.28
# (Li6PS5Cl); Li-P 2.46-2.77 (Li3P); Li-Cl 2.56 (LiCl); Li-O 2.00 (Li2O); P-S 2.02; P-O 1.55; P-N 1.62;
# Si-Si 2.35; Li-Si 2.6-2.9 (LiSi, Li15Si4); Si-S 2.1-2.2, Si-P 2.25, Si-O 1.63 (SiS2, SiP, SiO2);
# Zr-O 2.10, La-O 2.5-2.6 (LLZO). Each is checked against those phases in the tests.
BOND_CUTOFFS_A: dict[frozenset, float] = {
    frozenset(("Li", "S")): 3.0,
    frozenset(("Li", "P")): 3.1,
    frozenset(("Li", "Cl")): 3.0,
    frozenset(("Li", "O")): 2.5,
    frozenset(("Li", "N")): 2.5,
    frozenset(("Li", "Si")): 3.1,
    frozenset(("P", "S")): 2.4,
    frozenset(("P", "O")): 1.9,
    frozenset(("P", "N")): 1.9,
    frozenset(("Si",)): 2.7,  # Si-Si
    frozenset(("Si", "S")): 2.6,
    frozenset(("Si", "P")): 2.6,
    frozenset(("Si", "O")): 2.0,
    frozenset(("Si", "N")): 2.1,
    frozenset(("Si", "Cl")): 2.4,
    frozenset(("Zr", "O")): 2.5,
    frozenset(("La", "O")): 2.9,
}


def bond_cutoff(a: str, b: str, cutoffs: dict[frozenset, float] | None = None) -> float | None:
    return (cutoffs or BOND_CUTOFFS_A).get(frozenset((a, b)))


# Product-like environments: an anion whose neighbours within ``cutoff`` are all Li, at least
# ``min_li`` of them. min_li = ceil(0.75 x the reference coordination within the same cut-off):
# Li2S: S has 8 Li at 2.47 A -> 6; Li3P: P has 11 Li within 2.77 A -> 9; LiCl: Cl has 6 Li -> 5;
# Li2O: O has 8 Li at 2.00 A -> 6. Note the baseline: the argyrodite's free S2- (6 Li at 2.28 A) is
# already Li2S-like by this rule, so reactivity is read from atoms that *become* product-like.
PRODUCT_RULES: dict[str, dict[str, Any]] = {
    "S": {"name": "Li2S-like", "cutoff": 3.0, "reference_cn": 8, "min_li": 6},
    "P": {"name": "Li3P-like", "cutoff": 3.1, "reference_cn": 11, "min_li": 9},
    "Cl": {"name": "LiCl-like", "cutoff": 3.0, "reference_cn": 6, "min_li": 5},
    "O": {"name": "Li2O-like", "cutoff": 2.5, "reference_cn": 8, "min_li": 6},
}


def _neighbour_pairs(cart: np.ndarray, lattice: np.ndarray, rmax: float, pbc=(True, True, True)):
    """(i, j, distance) for all i != j within rmax, periodic images included (pymatgen's C kernel)."""
    from pymatgen.optimization.neighbors import find_points_in_spheres

    ci, pj, _, dist = find_points_in_spheres(
        np.ascontiguousarray(cart, float),
        np.ascontiguousarray(cart, float),
        float(rmax),
        np.array(pbc, dtype=np.int64),
        np.ascontiguousarray(lattice, float),
        1e-8,
    )
    keep = dist > 1e-6
    return ci[keep], pj[keep], dist[keep]


def bonded_pairs(
    species: list[str], cart: np.ndarray, lattice: np.ndarray, cutoffs: dict[frozenset, float] | None = None
):
    """Unique bonded pairs (i < j) of one frame, with each pair's own cut-off."""
    cutoffs = cutoffs or BOND_CUTOFFS_A
    rmax = max(cutoffs.values())
    i, j, d = _neighbour_pairs(cart, lattice, rmax)
    sp = np.asarray(species)
    out = []
    for a, b, dist in zip(i, j, d):
        if a >= b:
            continue
        c = cutoffs.get(frozenset((sp[a], sp[b])))
        if c is not None and dist <= c:
            out.append((int(a), int(b)))
    return out


def classify_environments(
    species: list[str], cart: np.ndarray, lattice: np.ndarray, rules: dict[str, dict[str, Any]] | None = None
) -> dict[int, str]:
    """{atom index: product-like environment name} for anions that satisfy their rule in this frame."""
    rules = rules or PRODUCT_RULES
    rmax = max(r["cutoff"] for r in rules.values())
    i, j, d = _neighbour_pairs(cart, lattice, rmax)
    sp = np.asarray(species)
    out: dict[int, str] = {}
    for idx in np.nonzero(np.isin(sp, list(rules)))[0]:
        rule = rules[sp[idx]]
        mask = (i == idx) & (d <= rule["cutoff"])
        neigh = sp[j[mask]]
        if len(neigh) >= rule["min_li"] and np.all(neigh == "Li"):
            out[int(idx)] = rule["name"]
    return out


# --------------------------------------------------------------------------------------------------
# Reactivity along a trajectory


class ReactivityAnalysis(BaseModel):
    """Time series of an interface MD run (frames as stored in the trajectory)."""

    times_fs: list[float]
    normal_axis_bins_A: list[float] = Field(description="bin centres along the normal (A)")
    li_profile: list[list[float]] = Field(description="Li number density per frame and bin (Li/A^3)")
    li_profile_by_origin: dict[str, list[list[float]]] = Field(default_factory=dict)
    interface_position_A: float
    pair_counts: dict[str, list[int]] = Field(description="bonded pairs per element pair per frame")
    cross_interface_counts: dict[str, list[int]] = Field(
        description="bonded pairs with one atom from each partner (by origin), per element pair and frame"
    )
    product_counts: dict[str, list[int]] = Field(description="atoms in each product-like environment per frame")
    new_product_counts: dict[str, list[int]] = Field(description="product-like atoms that were not at frame 0")
    li_crossed: dict[str, list[int]] = Field(description="Li past the initial interface plane, by origin, per frame")
    product_atoms_final: dict[str, list[int]] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)


def _pair_key(a: str, b: str) -> str:
    return "-".join(sorted((a, b)))


def _bond_counts(bonds, sp: np.ndarray, anode: np.ndarray) -> tuple[dict[str, int], dict[str, int]]:
    """Bonds per element pair, and across the interface per (anode element, electrolyte element)."""
    counts: dict[str, int] = {}
    cross: dict[str, int] = {}
    for a, b in bonds:
        key = _pair_key(sp[a], sp[b])
        counts[key] = counts.get(key, 0) + 1
        if anode[a] != anode[b]:
            # ordered by origin: "Li(anode)-S(electrolyte)" tells Li transfer from Si-side contacts
            an, el = (a, b) if anode[a] else (b, a)
            ckey = f"{sp[an]}(anode)-{sp[el]}(electrolyte)"
            cross[ckey] = cross.get(ckey, 0) + 1
    return counts, cross


def _product_series(env_frames: list[dict], rules: dict[str, dict[str, Any]] | None):
    """Per product: atoms in its environment per frame, those new since frame 0, and the new ones at the end."""
    names = sorted({r["name"] for r in (rules or PRODUCT_RULES).values()})
    initial = env_frames[0]
    product_counts = {n: [sum(1 for v in e.values() if v == n) for e in env_frames] for n in names}
    new_counts = {
        n: [sum(1 for i, v in e.items() if v == n and initial.get(i) != n) for e in env_frames] for n in names
    }
    final_atoms = {n: sorted(i for i, v in env_frames[-1].items() if v == n and initial.get(i) != n) for n in names}
    return product_counts, new_counts, final_atoms


def _li_profiles(
    frames_cart: np.ndarray,
    li: np.ndarray,
    anode: np.ndarray,
    nrm: np.ndarray,
    c_len: float,
    area: float,
    edges: np.ndarray,
    plane: float,
):
    """Li number density along the normal per frame (all, and by side of origin) and the Li that crossed."""
    profile, profile_origin = [], {"anode": [], "electrolyte": []}
    crossed = {"anode": [], "electrolyte": []}
    vol = area * (edges[1] - edges[0])
    for cart in frames_cart:
        z = np.mod(cart @ nrm, c_len)
        profile.append((np.histogram(z[li], bins=edges)[0] / vol).tolist())
        for origin, mask in (("anode", li & anode), ("electrolyte", li & ~anode)):
            profile_origin[origin].append((np.histogram(z[mask], bins=edges)[0] / vol).tolist())
        # unwrapped heights decide crossing (a Li that left through the vacuum boundary is not counted)
        zu = cart @ nrm
        crossed["anode"].append(int(np.sum(li & anode & (zu > plane))))
        crossed["electrolyte"].append(int(np.sum(li & ~anode & (zu < plane))))
    return profile, profile_origin, crossed


def analyse_reactivity(
    species: list[str],
    frames_cart: np.ndarray,
    lattices: np.ndarray,
    sides: list[str],
    times_fs: list[float] | np.ndarray,
    bin_width_A: float = 0.5,
    cutoffs: dict[frozenset, float] | None = None,
    rules: dict[str, dict[str, Any]] | None = None,
) -> ReactivityAnalysis:
    """Reactivity of an anode|electrolyte interface along MD frames.

    ``frames_cart``: (frames, atoms, 3) Cartesian positions (unwrapped is fine); ``lattices``: (frames,
    3, 3) with c along the interface normal (as built by ``interchem.structures.interfaces``);
    ``sides``: "anode"/"electrolyte" per atom (origin at the start of the run).
    """
    # long: one pass over the MD frames accumulates every per-frame quantity (profiles, bonds, environments)
    frames_cart = np.asarray(frames_cart, float)
    lattices = np.asarray(lattices, float)
    n_frames, n_atoms, _ = frames_cart.shape
    if lattices.shape == (3, 3):
        lattices = np.repeat(lattices[None], n_frames, axis=0)
    if len(species) != n_atoms or len(sides) != n_atoms:
        raise ValueError(
            f"species ({len(species)}) and sides ({len(sides)}) must match the {n_atoms} atoms of the frames"
        )
    if len(times_fs) != n_frames:
        raise ValueError(f"{len(times_fs)} times for {n_frames} frames")
    sp = np.asarray(species)
    side = np.asarray(sides)
    anode = side == "anode"
    lat0 = lattices[0]
    nrm = np.cross(lat0[0], lat0[1])
    area = float(np.linalg.norm(nrm))
    nrm = nrm / area
    c_len = float(lat0[2] @ nrm)
    edges = np.arange(0.0, c_len + bin_width_A, bin_width_A)
    centres = 0.5 * (edges[:-1] + edges[1:])
    z0 = np.mod(frames_cart[0] @ nrm, c_len)
    # the interface plane: midway between the anode's top and the electrolyte's bottom at frame 0
    plane = 0.5 * (z0[anode].max() + z0[~anode].min()) if anode.any() and (~anode).any() else c_len / 2
    li = sp == "Li"
    per_frame_pairs = []
    per_frame_cross = []
    env_frames = []
    profile, profile_origin, crossed = _li_profiles(frames_cart, li, anode, nrm, c_len, area, edges, plane)
    for f in range(n_frames):
        cart, lat = frames_cart[f], lattices[f]
        counts, cross = _bond_counts(bonded_pairs(species, cart, lat, cutoffs), sp, anode)
        per_frame_pairs.append(counts)
        per_frame_cross.append(cross)
        env_frames.append(classify_environments(species, cart, lat, rules))
    pair_keys = sorted({k for c in per_frame_pairs for k in c})
    cross_keys = sorted({k for c in per_frame_cross for k in c})
    product_counts, new_counts, final_atoms = _product_series(env_frames, rules)
    pair_counts = {k: [c.get(k, 0) for c in per_frame_pairs] for k in pair_keys}
    cross_counts = {k: [c.get(k, 0) for c in per_frame_cross] for k in cross_keys}
    summary = {
        "frames": n_frames,
        "duration_fs": float(times_fs[-1] - times_fs[0]) if n_frames else 0.0,
        "cross_interface_bonds_start": int(sum(v[0] for v in cross_counts.values())) if cross_counts else 0,
        "cross_interface_bonds_end": int(sum(v[-1] for v in cross_counts.values())) if cross_counts else 0,
        "new_product_like_end": {n: v[-1] for n, v in new_counts.items()},
        "pair_count_change": {k: v[-1] - v[0] for k, v in pair_counts.items()},
        "li_crossed_end": {k: v[-1] for k, v in crossed.items()},
    }
    return ReactivityAnalysis(
        times_fs=[float(t) for t in times_fs],
        normal_axis_bins_A=centres.tolist(),
        li_profile=profile,
        li_profile_by_origin=profile_origin,
        interface_position_A=float(plane),
        pair_counts=pair_counts,
        cross_interface_counts=cross_counts,
        product_counts=product_counts,
        new_product_counts=new_counts,
        li_crossed=crossed,
        product_atoms_final=final_atoms,
        summary=summary,
    )


def cross_contacts(analysis: ReactivityAnalysis, anode_element: str, electrolyte_element: str) -> list[int]:
    """Per-frame count of bonds between ``anode_element`` atoms from the anode and
    ``electrolyte_element`` atoms from the electrolyte (0 where the pair never formed)."""
    key = f"{anode_element}(anode)-{electrolyte_element}(electrolyte)"
    return analysis.cross_interface_counts.get(key, [0] * len(analysis.times_fs))


def time_average(values: list[float] | np.ndarray, last_fraction: float = 0.5) -> float:
    v = np.asarray(values, float)
    if not len(v):
        return math.nan
    k = max(1, int(round(len(v) * last_fraction)))
    return float(v[-k:].mean())


K_B_EV_PER_K = 8.617333262e-5


def hop_time_fs(barrier_eV: float, temperature_K: float, attempt_hz: float = 1e13) -> float:
    """Mean residence time of a thermally activated hop, 1 / (nu exp(-Ea / kT)), in fs."""
    return 1e15 / (attempt_hz * math.exp(-barrier_eV / (K_B_EV_PER_K * temperature_K)))


def md_length_verdict(duration_fs: float, temperature_K: float, barrier_eV: float, new_products: int) -> dict:
    """Is the run long enough to see a hop-limited reaction? Rate of new product-like atoms per ps, the
    hop time at this barrier and temperature, and a sentence saying whether 'nothing formed' can be read."""
    tau = hop_time_fs(barrier_eV, temperature_K)
    hops = duration_fs / tau
    rate = new_products / (duration_fs / 1000.0) if duration_fs > 0 else 0.0
    if hops < 1:
        text = (
            f"too short to see a hop-limited reaction: {duration_fs / 1000:.2f} ps against a Li hop time of "
            f"{tau / 1000:.2g} ps (Ea = {barrier_eV:g} eV, nu = 1e13 Hz, {temperature_K:.0f} K); no product "
            "forming is not evidence of kinetic stability"
        )
    else:
        text = (
            f"{hops:.0f} hop times long (tau = {tau / 1000:.2g} ps at Ea = {barrier_eV:g} eV): long enough to see hops"
        )
    return {
        "duration_ps": duration_fs / 1000.0,
        "hop_time_ps": tau / 1000.0,
        "hops_per_li": hops,
        "new_product_like_per_ps": rate,
        "barrier_eV": barrier_eV,
        "verdict": text,
    }
