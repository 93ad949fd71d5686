"""Li migration barriers: climbing-image NEB, hop enumeration at run time, barrier reports.

ASE's ``NEB`` (improved tangent, climbing image) with IDPP interpolation and FIRE, driven here
rather than through atomate2's NEB makers because (a) atomate2 0.1.5's from-endpoints maker is broken,
(b) its from-images maker evaluates images one by one with deep copies of the calculator, while a
batching calculator (CHGNet) can evaluate all images in one model call (``batched=True``), and (c) we
need endpoint relaxation at fixed cell and a convergence flag on the barrier. The loop is ASE's; what
is ours is wiring and bookkeeping. VASP has no ASE calculator: ``BarrierMaker`` sends its hops through
atomate2's ``NebFromImagesMaker`` instead (``interchem.calculators.vasp.neb``), into the same ``NEBResult``.

Vacancy hops use a neutral vacancy (the Li atom is removed with its electron), as is usual with MLIPs
whose charge is implicit; with DFT this is the neutral-vacancy barrier, which for ionic conductors is
close to the charged one but not identical.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Flow, Maker, job
from pydantic import BaseModel
from pymatgen.core import Structure

from interchem.calculators import (
    CalculatorSpec,
    ase_calculator,
    calculator_makers,
    check_calculator,
    evaluate_many,
    get_backend,
)
from interchem.errors import HopError
from interchem.progress import tracking
from interchem.schemas import NEBResult, NEBSettings, band_energetics
from interchem.structures.hops import (
    Hop,
    build_neb_endpoints,
    enumerate_li_hops,
    percolation_threshold,
)
from interchem.workflows.common import resolve_calculator

logger = logging.getLogger(__name__)


MAX_BATCH_ATOMS = 240
SMALL_IMAGE_ATOMS = 24


class _ImageBatch:
    """Evaluates every moving NEB image in one batched call when the first one is asked for.

    ASE's NEB sets all image positions, then asks each image for energy and forces in turn; the first
    request evaluates them all (``calculators.evaluate_many``) and the others read the cache.
    """

    def __init__(self, images, spec: CalculatorSpec):
        self.images = images
        self.spec = spec
        self._key: bytes | None = None
        self._results: list[dict[str, Any]] = []
        self.n_batches = 0
        # CHGNet's batched graphs peak at ~1 GB per 100 atoms (5.4 GB measured for 5 x 96 atoms), so a
        # batch holds at most ~MAX_BATCH_ATOMS atoms; small cells still go in one call.
        self.batch_size = max(1, min(len(images), MAX_BATCH_ATOMS // max(len(images[0]), 1)))

    def results_for(self, index: int) -> dict[str, Any]:
        key = b"".join(img.positions.tobytes() for img in self.images)
        if key != self._key:
            self._results = evaluate_many(self.images, self.spec, batch_size=self.batch_size)
            self._key = key
            self.n_batches += 1
        return self._results[index]


def _batched_calculator(batch: _ImageBatch, index: int):
    from ase.calculators.calculator import Calculator, all_changes

    class BatchedImageCalculator(Calculator):
        implemented_properties = ["energy", "forces"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            res = batch.results_for(index)
            self.results = {"energy": float(res["energy"]), "forces": np.asarray(res["forces"], float)}

    return BatchedImageCalculator()


def _image_calculator(calc):
    """A per-image view of one shared calculator with its own result cache: ASE NEB asks each image
    for energy and forces several times per step (and once more at the end), and a shared calculator
    only remembers the last structure it saw, so without this every question is a new evaluation."""
    from ase.calculators.calculator import Calculator, all_changes

    class ImageCalculator(Calculator):
        implemented_properties = ["energy", "forces"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            work = self.atoms.copy()
            work.calc = calc
            self.results = {"energy": float(work.get_potential_energy()), "forces": np.array(work.get_forces())}

    return ImageCalculator()


def _relax_fixed_cell(atoms, fmax: float, steps: int) -> tuple[bool, int]:
    from ase.optimize import BFGS

    opt = BFGS(atoms, logfile=None)
    with tracking(opt, "relax", steps):
        converged = bool(opt.run(fmax=fmax, steps=steps))
    return converged, opt.nsteps


def run_neb(
    initial: Structure,
    final: Structure,
    calculator: CalculatorSpec | str | dict | None,
    settings: NEBSettings | dict | None = None,
    label: str = "",
    hop: Hop | None = None,
) -> NEBResult:
    """Climbing-image NEB between two endpoints with the same atoms in the same order.

    Never returns a silent number: if the endpoints or the band do not converge, the result says so
    (``flagged`` with the reason), and the barrier is still reported for inspection.
    """
    # Long by intent (~95 lines): endpoints, band and flags share the ASE images in memory (batched
    # evaluation needs them in one process); split, each step would pass the images through the store.
    from ase.mep import NEB
    from ase.optimize import FIRE
    from pymatgen.io.ase import AseAtomsAdaptor

    spec = CalculatorSpec.parse(calculator)
    settings = NEBSettings.model_validate(settings or {})
    backend = check_calculator(spec, {el.symbol for el in initial.composition}, context="NEB")
    if backend.make_ase_calculator is None:
        raise HopError(f"calculator {spec.name!r} has no ASE calculator for NEB; use its own NEB maker")
    if len(initial) != len(final) or [s.species_string for s in initial] != [s.species_string for s in final]:
        raise HopError("NEB endpoints must hold the same atoms in the same order")

    t0 = time.perf_counter()
    calc = ase_calculator(spec)
    ends = [AseAtomsAdaptor.get_atoms(s) for s in (initial, final)]
    if settings.endpoint_rattle_A > 0:  # same displacements in both: they stay images of each other
        shift = np.random.default_rng(0).normal(size=(len(initial), 3)) * settings.endpoint_rattle_A / np.sqrt(3)
        for atoms in ends:
            atoms.positions += shift
    flags: list[str] = []
    for name, atoms in zip(("initial", "final"), ends):
        atoms.calc = calc
        if settings.relax_endpoints:
            ok, n = _relax_fixed_cell(atoms, settings.endpoint_fmax, settings.endpoint_steps)
            if not ok:
                flags.append(f"{name} endpoint not relaxed to {settings.endpoint_fmax} eV/A in {n} steps")
    end_energies = [float(a.get_potential_energy()) for a in ends]
    from ase.calculators.singlepoint import SinglePointCalculator

    for atoms, energy in zip(ends, end_energies):  # endpoints are fixed: freeze their results
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=atoms.get_forces())
    moved = np.linalg.norm(ends[1].positions - ends[0].positions, axis=1).max()
    if moved < 0.3:
        flags.append(f"the endpoints relaxed into the same minimum (largest displacement {moved:.2f} A)")
    elif hop is not None:
        # The relaxed endpoints are closer in configuration space than half the hop: the moving atom
        # relaxed towards the other site in both (a split vacancy, or a shared minimum), so the band
        # does not describe the hop (seen in Li12Si7 and Li13Si4 with CHGNet: ~0.7 A apart for 2.4-2.6 A hops).
        apart = float(np.linalg.norm(ends[1].positions - ends[0].positions))
        if apart < 0.5 * hop.distance_A:
            flags.append(
                f"the relaxed endpoints are only {apart:.2f} A apart for a {hop.distance_A:.2f} A hop "
                "(the atom relaxed towards the other site in both: split vacancy or shared minimum)"
            )

    images = [ends[0]] + [ends[0].copy() for _ in range(settings.n_images)] + [ends[1]]
    batched = (
        settings.batched
        if settings.batched is not None
        else (backend.evaluate_batch is not None and len(initial) <= SMALL_IMAGE_ATOMS)
    )
    movable = images[1:-1]
    if batched:
        batch = _ImageBatch(movable, spec)
        for i, img in enumerate(movable):
            img.calc = _batched_calculator(batch, i)
    else:
        for img in movable:
            img.calc = _image_calculator(calc)  # one model, a result cache per image
    neb = NEB(images, k=settings.spring_constant, climb=settings.climb, method="improvedtangent")
    neb.interpolate(method="idpp", mic=False)
    opt = FIRE(neb, logfile=None)
    with tracking(opt, "neb", settings.steps):  # live progress: the runner's bar and the job's log
        converged = bool(opt.run(fmax=settings.fmax, steps=settings.steps))
    max_force = float(np.sqrt((neb.get_forces() ** 2).sum(axis=1).max()))
    if not converged:
        flags.append(f"NEB not converged in {settings.steps} steps (max force {max_force:.3f} eV/A > {settings.fmax})")

    energetics, path_flags = band_energetics(images)
    flags += path_flags
    path = [0.0]
    for a, b in zip(images[:-1], images[1:]):
        path.append(path[-1] + float(np.linalg.norm(b.positions - a.positions)))

    return NEBResult(
        label=label or initial.composition.reduced_formula,
        hop=hop.model_dump(exclude={"members"}) if hop is not None else None,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        settings=settings.model_dump(mode="json"),
        n_atoms=len(initial),
        **energetics,
        reaction_coordinate_A=path,
        converged=converged,
        max_force_eV_per_A=max_force,
        n_steps=int(opt.nsteps),
        endpoint_energies_eV=end_energies,
        wall_time_s=time.perf_counter() - t0,
        image_evaluation="batched" if batched else "one-by-one",
        flagged=bool(flags),
        flag_reason="; ".join(flags) or None,
        images=[AseAtomsAdaptor.get_structure(img) for img in images],
    )


@job(name="neb", data=["images"])
def neb_job(
    structure: Structure, hop: dict, calculator: CalculatorSpec, settings: NEBSettings, label: str
) -> NEBResult:
    hop_obj = Hop.model_validate(hop)
    neb = NEBSettings.model_validate(settings)
    initial, final = build_neb_endpoints(structure, hop_obj, supercell_min_length=neb.supercell_min_length)
    return run_neb(initial, final, calculator, neb, label=label, hop=hop_obj)


@job(name="interface neb", data=["images"])
def interface_neb_job(
    interface: Structure, calculator: CalculatorSpec, settings: NEBSettings | dict, label: str = "interface hop"
) -> NEBResult:
    """A Li vacancy hop across an anode|electrolyte interface (see ``hops.interface_li_hop_endpoints``)."""
    from interchem.structures.hops import interface_li_hop_endpoints

    initial, final, info = interface_li_hop_endpoints(interface)
    result = run_neb(initial, final, calculator, settings, label=label)
    result.hop = {"mechanism": "vacancy across the interface", **info}
    return result


class BarrierReport(BaseModel):
    """Barriers of every symmetry-distinct hop of one phase plus percolation thresholds."""

    phase: str
    formula: str
    calculator: dict[str, Any]
    level_of_theory: str
    mechanisms: list[str]
    hops: list[dict[str, Any]]  # hop geometry + barrier + flags, shortest first per mechanism
    percolation_eV: dict[str, dict[str, float | None]]  # mechanism -> {"1": E, "2": E, "3": E}
    flagged_hops: int
    neb_paths: list[dict[str, Any]]  # label, reaction coordinate, energies (for plots)
    # Interstitial mechanism: candidates, where each relaxed to, and the distinct minima (InterstitialSites).
    interstitial_sites: dict[str, Any] | None = None


@job(name="barrier report")
def barrier_report(
    phase: str,
    structure: Structure,
    hops_by_mechanism: dict[str, list[dict]],
    results: list[dict | NEBResult | list],
    calculator: dict,
    interstitial_sites: Any = None,
) -> BarrierReport:
    spec = CalculatorSpec.model_validate(calculator)
    backend = get_backend(spec)
    flat = [x for r in results for x in (r if isinstance(r, list) else [r])]  # run-time interstitial hops: a list
    results = [r if isinstance(r, NEBResult) else NEBResult.model_validate(r) for r in flat]
    by_label = {r.label: r for r in results}
    rows, perc = [], {}
    for mech, hop_dicts in hops_by_mechanism.items():
        hops = []
        for i, h in enumerate(hop_dicts):
            res = by_label[f"{phase} {mech} hop {i}"]
            hop = Hop.model_validate(h)
            # A flagged barrier does not open a path in the percolation analysis: unknown is not low.
            hop = hop.model_copy(update={"barrier_eV": None if res.flagged else res.barrier_eV})
            hops.append(hop)
            rows.append(
                {
                    "mechanism": mech,
                    "hop": i,
                    "distance_A": hop.distance_A,
                    "start_wyckoff": hop.start_wyckoff,
                    "end_wyckoff": hop.end_wyckoff,
                    "multiplicity": hop.multiplicity,
                    "barrier_eV": res.barrier_eV,
                    "forward_barrier_eV": res.forward_barrier_eV,
                    "converged": res.converged,
                    "flagged": res.flagged,
                    "flag_reason": res.flag_reason,
                }
            )
        cell = structure if mech == "vacancy" else structure  # interstitial indices refer to the site list
        thresholds = percolation_threshold(hops, cell) if mech == "vacancy" else _interstitial_percolation(hops)
        perc[mech] = {str(k): v for k, v in thresholds.items()}
    return BarrierReport(
        phase=phase,
        formula=structure.composition.reduced_formula,
        calculator=calculator,
        level_of_theory=backend.level_of_theory(spec),
        mechanisms=list(hops_by_mechanism),
        hops=rows,
        percolation_eV=perc,
        flagged_hops=sum(r["flagged"] for r in rows),
        neb_paths=[
            {
                "label": r.label,
                "reaction_coordinate_A": r.reaction_coordinate_A,
                "energies_eV": r.energies_eV,
                "flagged": r.flagged,
            }
            for r in results
        ],
        interstitial_sites=None
        if interstitial_sites is None
        else (
            interstitial_sites if isinstance(interstitial_sites, dict) else interstitial_sites.model_dump(mode="json")
        ),
    )


def _interstitial_percolation(hops: list[Hop]) -> dict[int, float | None]:
    from interchem.structures.hops import percolation_dimension

    result: dict[int, float | None] = {1: None, 2: None, 3: None}
    for e in sorted({h.barrier_eV for h in hops if h.barrier_eV is not None}):
        rank = percolation_dimension(hops, e)
        for d in (1, 2, 3):
            if result[d] is None and rank >= d:
                result[d] = e
    return result


@dataclass
class BarrierMaker(Maker):
    """NEB barrier of every symmetry-distinct Li hop of a phase (vacancy and/or interstitial) within
    ``cutoff``, one NEB job per hop, then a report with the percolation thresholds in 1, 2 and 3 D."""

    name: str = "li barriers"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, in __post_init__
    mechanisms: tuple[str, ...] = ("vacancy",)
    cutoff: float = 4.0
    max_hops: int | None = None
    neb_settings: dict[str, Any] = field(default_factory=dict)
    species: str = "Li"
    # Interstitial candidates closer than this are two corners of one void (or a minimum and the saddle
    # next to it), not two sites: such "hops" are dropped.
    min_hop_A: float = 1.5
    # Interstitial mechanism: relax the geometric candidate sites with the calculator first and hop only
    # between the distinct minima (workflows/interstitials.py); needs an ASE calculator, else the geometric
    # candidates are used as they are.
    relax_interstitial_sites: bool = True

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def make(self, structure: Structure, phase: str | None = None) -> Flow:
        spec = self.calculator
        check_calculator(spec, {el.symbol for el in structure.composition}, context="NEB barriers")
        makers = calculator_makers(spec, "neb")
        settings = NEBSettings.model_validate(self.neb_settings)
        phase = phase or structure.composition.reduced_formula
        jobs, results, hops_by_mech, sites_out = [], [], {}, None
        for mech in self.mechanisms:
            if (
                mech == "interstitial"
                and self.relax_interstitial_sites
                and "interstitial_sites" in get_backend(spec).can()
            ):
                # The hops depend on where the candidates relax to: enumerated at run time (a dynamic job).
                from interchem.workflows.interstitials import interstitial_sites_job

                sites = interstitial_sites_job(
                    structure,
                    spec.model_dump(mode="json"),
                    {"supercell_min_length": settings.supercell_min_length},
                    self.species,
                )
                sites.name = f"interstitial sites {phase}"
                hop_nebs = interstitial_barriers_job(
                    structure,
                    sites.output,
                    phase,
                    self.species,
                    self.cutoff,
                    self.min_hop_A,
                    self.max_hops,
                    spec.model_dump(mode="json"),
                    settings.model_dump(mode="json"),
                )
                hop_nebs.name = f"interstitial hops {phase}"
                jobs += [sites, hop_nebs]
                hops_by_mech[mech] = hop_nebs.output["hops"]
                results.append(hop_nebs.output["results"])
                sites_out = sites.output
                continue
            hops = _select_hops(
                enumerate_li_hops(structure, species=self.species, cutoff=self.cutoff, mechanism=mech),
                mech,
                phase,
                self.species,
                self.cutoff,
                self.min_hop_A,
                self.max_hops,
            )
            hops_by_mech[mech] = [h.model_dump() for h in hops]
            for i, hop in enumerate(hops):
                label = f"{phase} {mech} hop {i}"
                j = makers.neb(structure, hop.model_dump(), settings, label)
                jobs.append(j)
                results.append(j.output)
        report = barrier_report(
            phase, structure, hops_by_mech, results, spec.model_dump(mode="json"), interstitial_sites=sites_out
        )
        report.name = f"barrier report {phase}"
        return Flow([*jobs, report], output=report.output, name=f"{self.name} {phase}")


def _select_hops(
    hops: list[Hop], mech: str, phase: str, species: str, cutoff: float, min_hop_A: float, max_hops: int | None
) -> list[Hop]:
    hops = [h for h in hops if h.distance_A >= min_hop_A]
    if not hops:
        raise HopError(f"no {mech} hops of {species} between {min_hop_A} and {cutoff} A in {phase}")
    return hops if max_hops is None else hops[:max_hops]


@job(name="interstitial hops")
def interstitial_barriers_job(
    structure: Structure,
    sites: Any,
    phase: str,
    species: str,
    cutoff: float,
    min_hop_A: float,
    max_hops: int | None,
    calculator: dict,
    settings: dict,
):
    """Hops between the relaxed interstitial minima, one NEB job each (added to the running flow)."""
    from jobflow import Response

    from interchem.workflows.interstitials import InterstitialSites

    sites = sites if isinstance(sites, InterstitialSites) else InterstitialSites.model_validate(sites)
    hops = enumerate_li_hops(
        structure, species=species, cutoff=cutoff, mechanism="interstitial", interstitial_sites=sites.sites
    )
    hops = _select_hops(hops, "interstitial", phase, species, cutoff, min_hop_A, max_hops)
    nebs = []
    for i, hop in enumerate(hops):
        j = neb_job(structure, hop.model_dump(), calculator, settings, f"{phase} interstitial hop {i}")
        j.name = f"neb {phase} interstitial hop {i}"
        nebs.append(j)
    return Response(
        replace=Flow(nebs, output={"hops": [h.model_dump() for h in hops], "results": [j.output for j in nebs]})
    )
