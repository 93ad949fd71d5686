"""The pipelines the commands run, as Makers that run locally, go to jobflow-remote or to FireWorks whole.

* ``InterfacePipelineMaker``: build lattice-matched candidates (or an amorphous|crystal stack) ->
  ``InterfaceMaker`` (gap scan, relax, adhesion, ranking) -> ``InterfaceMDMaker`` on the best ones
  (a dynamic job: which candidate is best is known only after the ranking);
* ``InterfaceHopMaker``: the Li vacancy hop across the best anode|electrolyte interface (NEB);
* ``StandardBarriersMaker``: ``BarrierMaker`` on a set of phases (default: ``STANDARD_BARRIER_PHASES``);
* ``ThermalScreenMaker``: phonons of every phase of a stored screen, F_vib(T) added, windows at T.

The presets of the commands (``QUICK_*``, ``STANDARD_BARRIER_PHASES``) are defined here, once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from jobflow import Flow, Maker, Response, job
from pymatgen.core import Structure

from interchem.calculators import CalculatorSpec, check_calculator
from interchem.errors import InterchemError
from interchem.structures.interfaces import InterfaceCandidate, InterfaceLimits
from interchem.structures.library import QUICK_ANODES as QUICK_ANODES  # re-exported: the presets live there
from interchem.structures.library import QUICK_ELECTROLYTES as QUICK_ELECTROLYTES
from interchem.workflows.interface_md import InterfaceMDMaker
from interchem.workflows.interfaces import InterfaceMaker, InterfaceSummary
from interchem.workflows.neb import BarrierMaker
from interchem.workflows.phonons import PhononsMaker, PhononSummary

# The phases issue 4 names: electrolytes, the Li_xSi series and the interphase products.
STANDARD_BARRIER_PHASES = [
    "Li6PS5Cl",
    "Li7La3Zr2O12",
    "Li2PO2N",
    "Li3PS4",
    "Si",
    "LiSi",
    "Li12Si7",
    "Li13Si4",
    "Li15Si4",
    "Li2S",
    "Li3P",
    "LiCl",
    "Li2O",
    "Li3N",
]

Miller = tuple[int, int, int]
Termination = int | str | None


def miller_index(value: Any) -> Miller:
    """(h, k, l) from a tuple/list, or text: "100", "1,1,1", "1 -1 0", "1-10" or "(111)" (YAML reads 111 as
    a number)."""
    import re

    if isinstance(value, (list, tuple)):
        parts: Any = list(value)
    else:
        t = str(value).replace("(", "").replace(")", "").strip()
        parts = t.replace(",", " ").split() if ("," in t or " " in t) else re.findall(r"-?\d", t)
    try:
        values = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or not any(values):
        raise InterchemError(
            f"Miller index {value!r} must be three integers, not all zero (e.g. 100, 1,1,1 or '1 -1 0')"
        )
    return values  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# Interface pipeline


@job(name="interface md on the best candidates")
def md_on_best(summary: Any, md_maker: InterfaceMDMaker, count: int = 1):
    """Replace itself with interface MD of the ``count`` best-ranked interfaces (none: an empty list)."""
    ranked = InterfaceSummary.model_validate(summary).results[:count]
    if not ranked:
        return []
    flows = [md_maker.make(r.structure, label=r.label) for r in ranked]
    return Response(replace=Flow(flows, output=[f.output for f in flows], name="interface md"))


@dataclass
class InterfacePipelineMaker(Maker):
    """The whole ``interchem interface`` pipeline as one flow.

    ``make(anode, electrolyte, anode_name, electrolyte_name)``: candidates are built at make time
    (pure structure work: the flow carries the chosen ``top`` candidates), then ``interface_maker``
    computes and ranks them and ``md_maker`` (None: no MD) runs on the ``md_top`` best. The output is
    ``{"summary": InterfaceSummary, "md": [InterfaceMDResult, ...]}``.
    """

    name: str = "interface pipeline"
    interface_maker: InterfaceMaker = field(default_factory=InterfaceMaker)
    md_maker: InterfaceMDMaker | None = field(default_factory=InterfaceMDMaker)
    miller_anode: Miller = (1, 0, 0)
    miller_electrolyte: Miller = (1, 0, 0)
    max_area: float = 400.0
    max_strain: float = 0.05
    max_atoms: int = 400
    anode_thickness_A: float = 6.0
    electrolyte_thickness_A: float = 6.0
    model: Literal["vacuum", "periodic"] = "vacuum"
    termination_anode: Termination = None
    termination_electrolyte: Termination = None
    amorphous: Literal["anode", "electrolyte"] | None = None  # that partner is an amorphous block
    top: int = 2
    md_top: int = 1

    @classmethod
    def with_calculator(
        cls,
        calculator: CalculatorSpec | str,
        fmax: float = 0.05,
        steps: int = 600,
        md_temperature_K: float = 600.0,
        md_steps: int = 200,
        include_unconverged: bool = False,
        **fields: Any,
    ) -> InterfacePipelineMaker:
        """The pipeline with one calculator for every step, as the command builds it (``md_steps=0``: no MD;
        unconverged interfaces are ranked, and so get MD, only with ``include_unconverged``)."""
        spec = CalculatorSpec.parse(calculator)
        md = InterfaceMDMaker(calculator=spec, temperature_K=md_temperature_K, steps=md_steps) if md_steps > 0 else None
        interfaces = InterfaceMaker(calculator=spec, fmax=fmax, steps=steps, include_unconverged=include_unconverged)
        return cls(interface_maker=interfaces, md_maker=md, **fields)

    def __post_init__(self) -> None:
        if self.top < 1:
            raise InterchemError(f"top must be >= 1, not {self.top}")
        if self.md_top < 0:
            raise InterchemError(f"md_top must be >= 0, not {self.md_top}")
        if self.amorphous not in (None, "anode", "electrolyte"):
            raise InterchemError(f"amorphous must be 'anode' or 'electrolyte', not {self.amorphous!r}")
        self.miller_anode = miller_index(self.miller_anode)
        self.miller_electrolyte = miller_index(self.miller_electrolyte)

    def candidates(
        self,
        anode: Structure,
        electrolyte: Structure,
        anode_name: str | None = None,
        electrolyte_name: str | None = None,
        anode_millers: list | None = None,
        electrolyte_millers: list | None = None,
    ) -> list[InterfaceCandidate]:
        """Every candidate the settings allow, best first (at least ``top``; the flow takes the first ``top``).
        ``anode_millers``/``electrolyte_millers``: every plane to try on that side instead of the one Miller
        index (the planes of an ordered cell that its disordered parent's symmetry makes one,
        ``structures.disorder.parent_equivalent_millers``); candidates of all pairs are ranked together."""
        from interchem.structures.interfaces import amorphous_interface

        if self.amorphous is None:
            return self._crystalline_candidates(
                anode,
                electrolyte,
                anode_millers or [self.miller_anode],
                electrolyte_millers or [self.miller_electrolyte],
                anode_name,
                electrolyte_name,
            )
        crystal_is_anode = self.amorphous == "electrolyte"
        cand = amorphous_interface(
            anode if crystal_is_anode else electrolyte,
            self.miller_anode if crystal_is_anode else self.miller_electrolyte,
            electrolyte if crystal_is_anode else anode,
            crystal_role="anode" if crystal_is_anode else "electrolyte",
            termination=self.termination_anode if crystal_is_anode else self.termination_electrolyte,
            crystal_thickness_A=self.anode_thickness_A if crystal_is_anode else self.electrolyte_thickness_A,
            amorphous_thickness_A=self.electrolyte_thickness_A if crystal_is_anode else self.anode_thickness_A,
            crystal_name=anode_name if crystal_is_anode else electrolyte_name,
            amorphous_name=electrolyte_name if crystal_is_anode else anode_name,
        )
        cand.rank = 0
        return [cand]

    def _crystalline_candidates(
        self, anode, electrolyte, anode_millers: list, electrolyte_millers: list, anode_name, electrolyte_name
    ) -> list[InterfaceCandidate]:
        from interchem.errors import NoInterfaceMatchError
        from interchem.structures.interfaces import InterfaceBuilder, deduplicate, rank_candidates

        found, refusals = [], []
        for ma, me in itertools.product(anode_millers, electrolyte_millers):
            try:
                found += InterfaceBuilder(
                    anode,
                    electrolyte,
                    ma,
                    me,
                    anode_name=anode_name,
                    electrolyte_name=electrolyte_name,
                    limits=InterfaceLimits(
                        max_area=self.max_area,
                        max_strain=self.max_strain,
                        max_atoms=self.max_atoms,
                        max_candidates=max(self.top, 20),
                    ),
                    anode_thickness_A=self.anode_thickness_A,
                    electrolyte_thickness_A=self.electrolyte_thickness_A,
                    model=self.model,
                    anode_termination=self.termination_anode,
                    electrolyte_termination=self.termination_electrolyte,
                ).build()
            except NoInterfaceMatchError as exc:
                refusals.append(str(exc))
        if not found:
            raise NoInterfaceMatchError("; ".join(refusals))
        if len(anode_millers) * len(electrolyte_millers) == 1:
            return found  # one builder: already de-duplicated and ranked
        return rank_candidates(deduplicate(found))[: max(self.top, 20)]

    def make(
        self,
        anode: Structure,
        electrolyte: Structure,
        anode_name: str | None = None,
        electrolyte_name: str | None = None,
        candidates: list[InterfaceCandidate] | None = None,
    ) -> Flow:
        """``candidates``: the ones to compute, when already built (e.g. shown to the user first)."""
        chosen = (candidates or self.candidates(anode, electrolyte, anode_name, electrolyte_name))[: self.top]
        interfaces = self.interface_maker.make(chosen, anode, electrolyte)
        jobs: list = [interfaces]
        output: dict[str, Any] = {"summary": interfaces.output, "md": []}
        if self.md_maker is not None and self.md_top > 0:
            md = md_on_best(interfaces.output, self.md_maker, self.md_top)
            md.name = f"interface md on the {self.md_top} best"
            jobs.append(md)
            output["md"] = md.output
        label = f"{chosen[0].anode}|{chosen[0].electrolyte}"
        return Flow(jobs, output=output, name=f"{self.name} {label}")


# --------------------------------------------------------------------------------------------------
# Kinetics: the hop across an interface, barriers of a set of phases


@dataclass
class InterfaceHopMaker(Maker):
    """Climbing-image NEB of a Li vacancy hop across the best anode|electrolyte interface
    (``structures.hops.interface_li_hop_endpoints``); the interface is built at make time."""

    name: str = "interface hop"
    calculator: CalculatorSpec | str = "chgnet"
    n_images: int = 5
    fmax: float = 0.05
    max_atoms: int = 400

    def best_interface(
        self,
        anode: Structure,
        electrolyte: Structure,
        anode_name: str | None = None,
        electrolyte_name: str | None = None,
    ) -> InterfaceCandidate:
        from interchem.structures.interfaces import InterfaceBuilder

        return InterfaceBuilder(
            anode,
            electrolyte,
            anode_name=anode_name,
            electrolyte_name=electrolyte_name,
            limits=InterfaceLimits(max_atoms=self.max_atoms),
        ).build()[0]

    def make(
        self,
        anode: Structure,
        electrolyte: Structure,
        anode_name: str | None = None,
        electrolyte_name: str | None = None,
        interface: InterfaceCandidate | None = None,
    ) -> Flow:
        from interchem.workflows.neb import interface_neb_job

        best = interface or self.best_interface(anode, electrolyte, anode_name, electrolyte_name)
        spec = CalculatorSpec.parse(self.calculator)
        check_calculator(spec, {el.symbol for el in best.structure.composition}, context="interface NEB")
        label = f"{best.anode}|{best.electrolyte} interface hop"
        neb = interface_neb_job(best.structure, spec, {"n_images": self.n_images, "fmax": self.fmax}, label)
        return Flow([neb], output=neb.output, name=label)


def barrier_mechanisms(structure: Structure, mechanism: str) -> tuple[str, ...]:
    """The mechanisms a phase gets: ``both`` is vacancy and interstitial; a phase without Li (Si) has
    no Li vacancy, so it is done by the interstitial mechanism whatever ``mechanism`` says."""
    if mechanism not in ("vacancy", "interstitial", "both"):
        raise InterchemError(f"unknown mechanism {mechanism!r}: use vacancy, interstitial or both")
    if "Li" not in {el.symbol for el in structure.composition}:
        return ("interstitial",)
    return ("vacancy", "interstitial") if mechanism == "both" else (mechanism,)


def standard_barrier_structures(
    phases: list[str] | tuple[str, ...] = tuple(STANDARD_BARRIER_PHASES),
) -> dict[str, Structure]:
    """Phase name -> conventional cell (``primitive=False``, as the barrier command resolves them)."""
    from interchem.structures.library import resolve_phase

    return dict(resolve_phase(p, primitive=False) for p in phases)


@dataclass
class StandardBarriersMaker(Maker):
    """Li migration barriers of several phases, one ``BarrierMaker`` each, in one flow; output: the
    list of ``BarrierReport`` in the order of the phases. ``make()`` without structures: the
    ``STANDARD_BARRIER_PHASES`` (electrolytes, the Li_xSi series, interphase products)."""

    name: str = "barriers"
    calculator: CalculatorSpec | str = "chgnet"
    mechanism: Literal["vacancy", "interstitial", "both"] = "vacancy"
    cutoff: float = 4.0
    max_hops: int | None = None
    relax_interstitial_sites: bool = True
    neb_settings: dict[str, Any] = field(default_factory=dict)  # NEBSettings: n_images, fmax, ...

    def make(self, structures: dict[str, Structure] | None = None) -> Flow:
        structures = standard_barrier_structures() if structures is None else structures
        if not structures:
            raise InterchemError("give at least one phase")
        flows = [
            BarrierMaker(
                calculator=self.calculator,
                mechanisms=barrier_mechanisms(structure, self.mechanism),
                cutoff=self.cutoff,
                max_hops=self.max_hops,
                relax_interstitial_sites=self.relax_interstitial_sites,
                neb_settings=dict(self.neb_settings),
            ).make(structure, phase=name)
            for name, structure in structures.items()
        ]
        return Flow(flows, output=[f.output for f in flows], name=f"{self.name} {' '.join(structures)}")


# --------------------------------------------------------------------------------------------------
# Thermal screen


@job(name="screen at temperature")
def thermal_screen_job(
    entries: list,
    anodes: list[str],
    electrolytes: list[str],
    temperature_K: float,
    stored: dict[str, Any],
    computed: dict[str, Any],
) -> dict[str, Any]:
    """F_vib(T) of every phase (stored and newly computed phonons) added to the screen's entries, the
    analysis repeated next to the 0 K one: ``{"thermal": ThermalScreen, "summaries": {phase: PhononSummary}}``."""
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    from interchem.analysis.thermal import screen_at_temperature

    summaries = {phase: PhononSummary.model_validate(s) for phase, s in {**stored, **computed}.items()}
    entries = [ComputedStructureEntry.from_dict(e) if isinstance(e, dict) else e for e in entries]
    fvib = {phase: s.free_energy_at(temperature_K) for phase, s in summaries.items()}
    imaginary = [phase for phase, s in summaries.items() if s.has_imaginary_modes]
    thermal = screen_at_temperature(entries, fvib, temperature_K, anodes, electrolytes, imaginary)
    return {"thermal": thermal, "summaries": summaries}


@dataclass
class ThermalScreenMaker(Maker):
    """A stored screen at ``temperature_K``: harmonic phonons (``phonons_maker``) of every relaxed phase
    not in ``stored``, then F_vib(T) added and windows/reactions recomputed (``thermal_screen_job``).

    ``make(screen, stored, phonon_keys)``: ``screen`` a ``ScreenResult``; ``stored`` phase -> a
    ``PhononSummary`` found in the store; ``phonon_keys`` phase -> the key recorded with new phonons.
    """

    name: str = "thermal screen"
    temperature_K: float = 300.0
    phonons_maker: PhononsMaker = field(default_factory=PhononsMaker)

    def __post_init__(self) -> None:
        if not 0 <= self.temperature_K <= self.phonons_maker.t_max_K:
            raise InterchemError(f"temperature {self.temperature_K} K is outside 0-{self.phonons_maker.t_max_K:.0f} K")

    def make(
        self, screen: Any, stored: dict[str, PhononSummary] | None = None, phonon_keys: dict[str, str] | None = None
    ) -> Flow:
        from pymatgen.entries.computed_entries import ComputedStructureEntry

        stored, phonon_keys = dict(stored or {}), dict(phonon_keys or {})
        entries = [ComputedStructureEntry.from_dict(d) if isinstance(d, dict) else d for d in screen.entries]
        relaxed = {e.data["phase"]: e.structure for e in entries}  # the relaxed structures live in the entries
        todo = [rel["phase"] for rel in screen.relaxations if rel["phase"] not in stored]
        flows = [self.phonons_maker.make(relaxed[p], phase=p, phonon_key=phonon_keys.get(p)) for p in todo]
        final = thermal_screen_job(
            entries,
            list(screen.anodes),
            list(screen.electrolytes),
            self.temperature_K,
            stored,
            {p: f.output for p, f in zip(todo, flows, strict=True)},
        )
        final.name = f"screen at {self.temperature_K:g} K"
        return Flow([*flows, final], output=final.output, name=f"{self.name} {self.temperature_K:g} K")
