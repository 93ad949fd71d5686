"""Amorphous cells for melt-quench: recipes (a-Si, a-Li_xSi at any x, a-LiPON at any composition),
composition -> integer cell of N atoms with the composition error reported, a sane starting density,
and a seeded random packing.

Everything here is validated before anything is run or written: an impossible composition, a cell too
small for it, or a density far from anything a solid of that composition can have raise
``interchem.errors`` exceptions naming the offending value.

Random packing instead of packmol: pymatgen's packmol interface needs the ``packmol`` binary, which is
not installed (nor installable from PyPI) here, and a melt at a few thousand kelvin erases the initial
arrangement within a picosecond anyway. What the packing must guarantee is only that no two atoms
start so close that the first MD steps explode: random sequential addition with a minimum-distance
rejection does that, reproducibly for a seed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition, Element, Lattice, Structure

from interchem.analysis.structure import density_bounds, elemental_volume_density
from interchem.errors import (
    AmorphousBlockError,
    CompositionError,
    DensityError,
    PackingError,
    TooFewAtomsError,
)
from interchem.structures.cards import MIN_DISTANCE_A, check_structure, phase_label
from interchem.structures.lithiation import crystalline_volume_line

# Bates et al.'s sputtered LiPON film of the first LiPON papers: J. B. Bates, N. J. Dudney, G. R.
# Gruzalski, R. A. Zuhr, A. Choudhury, C. F. Luck, J. D. Robertson, Solid State Ionics 53-56, 647
# (1992); J. Power Sources 43, 103 (1993): Li2.9PO3.3N0.46, 3.3e-6 S/cm at 25 C.
LIPON_COMPOSITION = "Li2.9PO3.3N0.46"


@dataclass(frozen=True)
class AmorphousRecipe:
    """Defaults of one melt-quench target. Densities in g/cm^3, temperatures in K."""

    name: str
    composition: str
    n_atoms: int
    melt_temperature_K: float
    start_density: float  # packing density: from a crystalline relative, never the amorphous target
    start_density_source: str
    reference_density: tuple[float, float] | None = None  # published range for the amorphous phase
    reference_source: str = ""


# Custer, Thompson, Jacobson, Poate, Roorda, Sinke, Spaepen, Appl. Phys. Lett. 64, 437 (1994):
# relaxed ion-implanted a-Si is 1.8 +- 0.1 % less dense than c-Si (2.329 g/cm^3) -> 2.285-2.290.
A_SI_DENSITY = (2.285, 2.290)
A_SI_SOURCE = (
    "J. S. Custer et al., Appl. Phys. Lett. 64, 437 (1994): a-Si 1.8 +- 0.1 % less dense than c-Si (2.329 g/cm3)"
)
# LiPON films: the densities quoted for RF-sputtered LiPON lie between ~2.3 and ~2.5 g/cm^3 (e.g. the
# films of Bates et al. above; the AIMD models of Lacivita, Artrith, Ceder, Chem. Mater. 30, 7077
# (2018) were built in this range). Quoted from memory of these papers: not re-checked offline.
LIPON_DENSITY = (2.3, 2.5)
LIPON_SOURCE = (
    "sputtered LiPON films ~2.3-2.5 g/cm3 (Bates et al. 1992/1993; range used by Lacivita, Artrith & "
    "Ceder, Chem. Mater. 30, 7077 (2018)); recalled, not re-verified offline"
)

PRESETS: dict[str, AmorphousRecipe] = {
    "a-si": AmorphousRecipe(
        name="a-Si",
        composition="Si",
        n_atoms=64,
        melt_temperature_K=3000.0,
        start_density=2.329,
        start_density_source="c-Si (Si card)",
        reference_density=A_SI_DENSITY,
        reference_source=A_SI_SOURCE,
    ),
    "a-lipon": AmorphousRecipe(
        name="a-LiPON",
        composition=LIPON_COMPOSITION,
        n_atoms=100,
        melt_temperature_K=2500.0,
        start_density=2.44,
        start_density_source="gamma-Li3PO4 (Li3PO4-gamma card)",
        reference_density=LIPON_DENSITY,
        reference_source=LIPON_SOURCE,
    ),
}
ANIONS = frozenset({"H", "B", "C", "N", "O", "F", "P", "S", "Cl", "Se", "Br", "I"})
PRESET_ALIASES = {"si": "a-si", "lipon": "a-lipon", "a-li2.9po3.3n0.46": "a-lipon"}


class AmorphousTarget(BaseModel):
    """What to melt-quench: the requested composition, the integer cell, and the starting density."""

    model_config = ConfigDict(frozen=True)

    label: str  # "a-Si", "a-LiPON", "a-Li3.75Si", "a-Li2.9PO3.3N0.46"
    requested_formula: str  # as asked (may be fractional)
    cell_formula: str  # integer cell actually built
    counts: dict[str, int]
    n_atoms: int
    composition_error: float = Field(description="max |atom fraction in cell - requested| over elements")
    composition_error_relative: dict[str, float] = Field(description="per element: cell amount / requested - 1")
    start_density: float
    start_density_source: str
    density_bounds: tuple[float, float]
    melt_temperature_K: float
    reference_density: tuple[float, float] | None = None
    reference_source: str = ""
    x_li_per_si: float | None = None


def parse_composition(text: str) -> Composition:
    """A composition such as ``Li2.9PO3.3N0.46`` or ``Li15Si4``; unknown elements, non-positive
    amounts and empty input raise CompositionError."""
    body = text.strip()
    if body.lower().startswith("a-"):
        body = body[2:]
    if not body:
        raise CompositionError(f"empty composition {text!r}")
    if re.search(r"-\s*\d|[^A-Za-z0-9.()\s]", body):
        raise CompositionError(f"composition {text!r} has a negative amount or an unexpected character")
    try:
        comp = Composition(body)
    except (ValueError, KeyError) as exc:
        raise CompositionError(f"composition {text!r} cannot be parsed: {exc}") from None
    if len(comp) == 0 or comp.num_atoms <= 0:
        raise CompositionError(f"composition {text!r} holds no atoms")
    for el, amount in comp.items():
        if not isinstance(el, Element):
            raise CompositionError(f"composition {text!r}: {getattr(el, 'symbol', el)} is not a chemical element")
        if amount <= 0:
            raise CompositionError(f"composition {text!r}: {el} has a non-positive amount {amount}")
        if el.Z > 94 or el.symbol in ("He", "Ne", "Ar", "Kr", "Xe", "Rn"):
            raise CompositionError(f"composition {text!r}: {el} does not form the solids this is for")
    return comp


def integer_cell(
    composition: Composition, n_atoms: int, max_relative_error: float = 0.1
) -> tuple[dict[str, int], float, dict[str, float]]:
    """Integer atom counts summing to ``n_atoms`` closest to ``composition`` (largest remainder).

    Returns (counts, max atom-fraction error, per-element relative amount error). Raises
    TooFewAtomsError when an element gets no atom or its amount is off by more than
    ``max_relative_error``.
    """
    if n_atoms < len(composition):
        raise TooFewAtomsError(f"{n_atoms} atoms cannot hold the {len(composition)} elements of {composition.formula}")
    fractions = {el.symbol: composition.get_atomic_fraction(el) for el in composition}
    exact = {el: f * n_atoms for el, f in fractions.items()}
    counts = {el: int(np.floor(v)) for el, v in exact.items()}
    remainder = n_atoms - sum(counts.values())
    for el in sorted(exact, key=lambda e: exact[e] - counts[e], reverse=True)[:remainder]:
        counts[el] += 1
    missing = [el for el, c in counts.items() if c == 0]
    if missing:
        need = int(np.ceil(0.5 / min(fractions[el] for el in missing)))
        raise TooFewAtomsError(
            f"{n_atoms} atoms are too few for {composition.formula}: {', '.join(missing)} would get no atom "
            f"(use at least ~{need} atoms)"
        )
    relative = {el: counts[el] / exact[el] - 1.0 for el in counts}
    frac_error = max(abs(counts[el] / n_atoms - fractions[el]) for el in counts)
    worst = max(relative, key=lambda el: abs(relative[el]))
    if abs(relative[worst]) > max_relative_error:
        raise TooFewAtomsError(
            f"{n_atoms} atoms represent {composition.formula} badly: {worst} is off by "
            f"{100 * relative[worst]:+.1f} % (tolerance {100 * max_relative_error:.0f} %); use more atoms"
        )
    return counts, float(frac_error), {el: float(v) for el, v in relative.items()}


def lithium_silicide_start_density(x: float) -> tuple[float, str]:
    """Start density of Li_xSi from the straight line of volume per Si through the crystalline Li_xSi
    cards (experimental structures), so an amorphous cell starts at the crystalline volume."""
    a, b = crystalline_volume_line()
    volume = a + b * x  # A^3 per Si
    mass = Element("Si").atomic_mass + x * Element("Li").atomic_mass
    return float(mass / 6.02214076e23 / (volume * 1e-24)), f"crystalline Li_xSi line V/Si = {a:.2f} + {b:.2f} x A^3"


def _composition_defaults(comp: Composition, label: str) -> tuple[str, float, str, float, tuple | None, str]:
    """(label, start density, its source, melt temperature, reference density, its source) of a composition
    that is no preset: Li_xSi from the crystalline line, LiPON-like from gamma-Li3PO4, else an estimate."""
    elements = {el.symbol for el in comp}
    ref, ref_source = None, ""
    if elements == {"Li", "Si"}:
        x = comp["Li"] / comp["Si"]
        start, start_source = lithium_silicide_start_density(x)
        melt = 2000.0  # Li-Si melts below ~1,000 K (Li-Si phase diagram); 2,000 K mixes fast
        label = f"a-Li{_num(x)}Si"
    elif {"P", "O"} <= elements <= {"Li", "P", "O", "N"}:
        # LiPON family (any Li/P/O/N ratio): start at gamma-Li3PO4's density, compare with LiPON films.
        recipe = PRESETS["a-lipon"]
        start, start_source = recipe.start_density, recipe.start_density_source
        melt = recipe.melt_temperature_K
        ref, ref_source = recipe.reference_density, recipe.reference_source + " (for Li2.9PO3.3N0.46-like films)"
    else:
        rough = elemental_volume_density(comp)
        if elements & ANIONS:
            # Compounds of small anions pack much tighter than their elements: over the card
            # library's oxides, nitrides, sulfides and halides crystal / estimate is 1.3-3.1 (mean ~1.8).
            start, start_source = 1.6 * rough, "1.6 x elemental-volume estimate (compound)"
        else:  # metals, alloys, elements: the estimate itself (alloys of the cards: 1.0-1.3)
            start, start_source = rough, "elemental-volume estimate"
        melt = 2500.0
    return label, start, start_source, melt, ref, ref_source


def amorphous_target(
    name: str,
    n_atoms: int | None = None,
    density: float | None = None,
    melt_temperature_K: float | None = None,
    max_relative_error: float = 0.1,
) -> AmorphousTarget:
    """Resolve a preset (``a-Si``, ``a-LiPON``) or a composition (``Li2.9PO3.3N0.46``, ``a-Li3.75Si``,
    ``Li15Si4``) into a validated target. ``density`` overrides the starting density (g/cm^3)."""
    key = name.strip().lower()
    key = PRESET_ALIASES.get(key, key)
    recipe = PRESETS.get(key)
    if recipe is not None:
        comp = parse_composition(recipe.composition)
        label = recipe.name
        start, start_source = recipe.start_density, recipe.start_density_source
        melt = recipe.melt_temperature_K
        n = n_atoms or recipe.n_atoms
        ref, ref_source = recipe.reference_density, recipe.reference_source
    else:
        comp = parse_composition(name)
        elements = {el.symbol for el in comp}
        label = "a-" + _compact_formula(comp)
        if elements == {"Si"}:
            return amorphous_target("a-Si", n_atoms, density, melt_temperature_K, max_relative_error)
        label, start, start_source, melt, ref, ref_source = _composition_defaults(comp, label)
        n = n_atoms or 64
    if n is None or n < 1:
        raise TooFewAtomsError(f"number of atoms must be positive, not {n}")
    if n > 2000:
        raise TooFewAtomsError(f"{n} atoms is more than a melt-quench with an MLIP here should take (<= 2000)")
    lo, hi = density_bounds(comp)
    if density is not None:
        if not lo <= density <= hi:
            raise DensityError(
                f"density {density} g/cm3 is far from sane for {comp.reduced_formula}: allowed "
                f"{lo:.2f}-{hi:.2f} g/cm3 (0.5-3.5x the elemental-volume estimate {elemental_volume_density(comp):.2f})"
            )
        start, start_source = float(density), "user"
    elif not lo <= start <= hi:  # a recipe default outside the window is a bug in the recipe
        raise DensityError(f"start density {start:.2f} g/cm3 of {label} is outside {lo:.2f}-{hi:.2f}")
    if melt_temperature_K is not None:
        if not 300.0 < melt_temperature_K <= 6000.0:
            raise ValueError(f"melt temperature {melt_temperature_K} K is not between 300 and 6000 K")
        melt = float(melt_temperature_K)
    counts, frac_error, relative = integer_cell(comp, n, max_relative_error)
    cell_comp = Composition(counts)
    x = float(cell_comp["Li"] / cell_comp["Si"]) if {"Li", "Si"} == {el.symbol for el in comp} else None
    return AmorphousTarget(
        label=label,
        requested_formula=comp.formula.replace(" ", ""),
        cell_formula=cell_comp.formula.replace(" ", ""),
        counts=counts,
        n_atoms=n,
        composition_error=frac_error,
        composition_error_relative=relative,
        start_density=float(start),
        start_density_source=start_source,
        density_bounds=(float(lo), float(hi)),
        melt_temperature_K=melt,
        reference_density=ref,
        reference_source=ref_source,
        x_li_per_si=x,
    )


def _num(x: float) -> str:
    return f"{x:.4g}"


def _compact_formula(comp: Composition) -> str:
    return "".join(f"{el.symbol}{'' if amt == 1 else _num(amt)}" for el, amt in comp.items())


def min_distance_for(a: str, b: str) -> float:
    """Rejection distance of the random packing: 0.6 x the sum of atomic radii, at least 1.3 A.
    Random sequential addition jams near a hard-sphere packing fraction of ~0.38, so the distance must
    stay well below the nearest-neighbour distance of the dense solid (0.6 keeps fcc metals at ~0.2);
    it is long enough that the first MD steps (1 fs, Langevin) do not explode."""
    ra = Element(a).atomic_radius or 1.0
    rb = Element(b).atomic_radius or 1.0
    return max(1.3, 0.6 * (float(ra) + float(rb)))


def random_packing(target: AmorphousTarget, seed: int = 0, max_attempts: int = 20000) -> Structure:
    """Random sequential addition of the target's atoms into a cubic cell at its start density.

    Larger atoms are placed first (they are the hardest to fit). Raises PackingError with the atom
    that could not be placed; deterministic for a seed.
    """
    comp = Composition(target.counts)
    volume_A3 = float(comp.weight) / 6.02214076e23 / target.start_density * 1e24
    a = volume_A3 ** (1.0 / 3.0)
    lattice = Lattice.cubic(a)
    rng = np.random.default_rng(seed)
    species = [
        el
        for el, c in sorted(target.counts.items(), key=lambda kv: -(Element(kv[0]).atomic_radius or 1.0))
        for _ in range(c)
    ]
    elements = sorted(target.counts)
    dmin = {(p, q): min_distance_for(p, q) for p in elements for q in elements}
    placed_frac: list[np.ndarray] = []
    placed_species: list[str] = []
    for k, sp in enumerate(species):
        limits = np.array([dmin[(sp, q)] for q in placed_species]) if placed_species else np.array([])
        existing = np.array(placed_frac) if placed_frac else np.zeros((0, 3))
        for _ in range(max_attempts):
            trial = rng.random(3)
            if len(existing):
                diff = existing - trial
                diff -= np.round(diff)
                dist = np.linalg.norm(diff * a, axis=1)  # cubic cell: minimum image is exact for d < a/2
                if np.any(dist < limits):
                    continue
            placed_frac.append(trial)
            placed_species.append(sp)
            break
        else:
            raise PackingError(
                f"could not place atom {k + 1}/{len(species)} ({sp}) of {target.cell_formula} at "
                f"{target.start_density:.2f} g/cm3 after {max_attempts} tries (minimum distances "
                f"{min(dmin.values()):.2f}-{max(dmin.values()):.2f} A); use a lower density"
            )
    if a / 2 < max(dmin.values()):
        raise PackingError(f"cell edge {a:.2f} A is too small for {target.cell_formula}; use more atoms")
    structure = Structure(lattice, placed_species, placed_frac)
    structure.properties = {
        "phase": target.label,
        "provenance": {
            "source": "interchem random packing",
            "seed": seed,
            "start_density_g_cm3": target.start_density,
            "start_density_source": target.start_density_source,
            "requested_formula": target.requested_formula,
        },
    }
    return structure


def amorphous_series_targets(xs: list[float], n_si: int = 16, **kwargs) -> list[AmorphousTarget]:
    """Amorphous Li_xSi targets with ``n_si`` Si atoms each (so every x is an integer cell of
    round(x n_si) Li + n_si Si; the composition error is reported by each target)."""
    targets = []
    for x in xs:
        if x < 0:
            raise TooFewAtomsError(f"x = {x} Li per Si is negative")
        if x == 0:
            targets.append(amorphous_target("a-Si", n_atoms=n_si, **kwargs))
            continue
        n_li = round(x * n_si)
        if n_li == 0:
            raise TooFewAtomsError(f"x = {x} needs more than {n_si} Si atoms (it rounds to no Li)")
        targets.append(amorphous_target(f"Li{x:.6g}Si", n_atoms=n_li + n_si, **kwargs))
    return targets


# --------------------------------------------------------------------------------------------------
# Amorphous blocks cut to a crystalline partner


SANE_VOLUME_PER_ATOM_A3 = (5.0, 45.0)  # LiPON ~9.5, Si 20, Li 21.6 A^3/atom: outside this the block is broken


def _target_prism(block: Structure, ab: np.ndarray, thickness_A: float, replicate: bool, phase: str):
    """The target prism, its corners in the block's fractional coordinates and the block periods it spans;
    AmorphousBlockError for an insane block density, a non-positive thickness or a block too small."""
    vpa = block.volume / len(block)
    lo, hi = SANE_VOLUME_PER_ATOM_A3
    if not lo <= vpa <= hi:
        raise AmorphousBlockError(
            f"amorphous block {phase}: {vpa:.1f} A^3 per atom is not a sane solid density (expected {lo}-{hi} A^3/atom)"
        )
    if thickness_A <= 0:
        raise AmorphousBlockError(f"thickness_A must be positive, not {thickness_A}")
    n = np.cross(ab[0], ab[1])
    n = n / np.linalg.norm(n)
    prism = Lattice([ab[0], ab[1], thickness_A * n])
    # extent needed: the prism corners in the block's fractional coordinates
    corners = np.array(list(itertools.product([0, 1], repeat=3)), float) @ prism.matrix
    fc = block.lattice.get_fractional_coords(corners)
    need = fc.max(axis=0) - fc.min(axis=0)
    # the block's widths perpendicular to its faces vs the prism's extent: smaller -> replicas needed
    if not replicate and np.any(need > 1.0 + 1e-6):
        widths = block.volume / np.array(
            [
                np.linalg.norm(np.cross(*block.lattice.matrix[[1, 2]])),
                np.linalg.norm(np.cross(*block.lattice.matrix[[2, 0]])),
                np.linalg.norm(np.cross(*block.lattice.matrix[[0, 1]])),
            ]
        )
        raise AmorphousBlockError(
            f"amorphous block {phase} ({', '.join(f'{w:.1f}' for w in widths)} A between faces) is too small for the "
            f"{np.linalg.norm(ab[0]):.1f} x {np.linalg.norm(ab[1]):.1f} A cell x {thickness_A:.1f} A (needs "
            f"{', '.join(f'{x:.2f}' for x in need)} block periods); "
            "replicate it first (replicate=True or make_supercell)"
        )
    return prism, fc, need


def _remove_seam_overlaps(
    out: Structure, ab: np.ndarray, n: np.ndarray, thickness_A: float, cart: np.ndarray, min_distance_A: float
) -> int:
    """Remove (in place) one atom of each pair closer than ``min_distance_A``; returns how many went.
    Seam overlaps exist only across the in-plane boundaries: look for them in a cell with room along the
    normal (the slab's top and bottom are free surfaces, not a periodic seam), greedily removing the atom
    with most close contacts first."""
    probe = Structure(
        Lattice([ab[0], ab[1], (thickness_A + 10.0) * n]),
        out.species,
        cart + 5.0 * n,
        coords_are_cartesian=True,
        to_unit_cell=True,
    )
    removed_idx: list[int] = []
    dm = probe.distance_matrix
    np.fill_diagonal(dm, np.inf)
    close = dm < min_distance_A
    while close.any():
        k = int(np.argmax(close.sum(axis=1)))
        close[k, :] = False
        close[:, k] = False
        removed_idx.append(k)
    if removed_idx:
        out.remove_sites(removed_idx)
    return len(removed_idx)


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
    phase = phase or phase_label(block)
    ab = np.asarray(in_plane_vectors, float)[:2]
    prism, fc, need = _target_prism(block, ab, thickness_A, replicate, phase)
    n = np.cross(ab[0], ab[1])
    n = n / np.linalg.norm(n)
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
    removed = _remove_seam_overlaps(out, ab, n, thickness_A, cart, min_distance_A)
    out.properties = {
        "phase": phase,
        "kind": "amorphous slab",
        "seam_removed": removed,
        "block_formula": block.composition.reduced_formula,
        "replicas": [int(x) for x in np.ceil(need)],
        "provenance": (block.properties or {}).get("provenance", {}),
    }
    check_structure(out, label=f"{phase} amorphous slab", min_distance=min(MIN_DISTANCE_A, min_distance_A))
    return out
