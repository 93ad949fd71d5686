"""Mechanics of lithiation as a jobflow Flow: volume per Si against x (crystalline and amorphous
Li_xSi), the volume expansion relative to Si, and elastic moduli through atomate2's elastic flow.

    crystalline Li_xSi cards -> RelaxPhaseMaker (cell + positions; reuses the screen's stored relaxations)
    amorphous x values       -> MeltQuenchMaker (melt, NPT quench, anneal, cell relaxation)
    selected phases          -> atomate2 ElasticMaker (forcefields) with our registry as the calculator:
                                tight bulk relaxation, +-0.5/1 % normal and shear deformations with
                                fixed cell and relaxed ions, stress-strain fit of the 6x6 tensor
    analyse                  -> volumes per Si, expansion vs the calculator's c-Si, line fits,
                                Voigt-Reuss-Hill B, G, E, nu (interchem.analysis.structure)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Maker, job
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from interchem.analysis.structure import (
    ElasticModuli,
    VolumePoint,
    density_g_cm3,
    li_per_host,
    linear_fit,
    volume_expansion,
    volume_per_host,
    vrh_moduli,
)
from interchem.calculators import (
    CalculatorSpec,
    TrackedBFGS,
    calculator_makers,
    check_calculator,
    get_backend,
)
from interchem.errors import ElasticError, InterchemError
from interchem.schemas import task_field
from interchem.structures.amorphous import AmorphousTarget, amorphous_series_targets
from interchem.structures.lithiation import crystalline_series
from interchem.workflows.amorphous import MeltQuenchMaker
from interchem.workflows.common import resolve_calculator
from interchem.workflows.thermo import RelaxPhaseMaker

FF = {"@module": "interchem.calculators", "@callable": "ase_calculator"}


def elastic_maker(
    spec: CalculatorSpec, fmax: float = 0.005, steps: int = 500, fix_symmetry: bool = True, sym_reduce: bool = True
):
    """atomate2's force-field ElasticMaker driving our calculator registry.

    The relax makers are atomate2 ``ForceFieldRelaxMaker`` with ``force_field_name`` pointing at
    ``interchem.calculators.ase_calculator`` (the same seam as ``relax_maker``); fix_symmetry keeps
    crystals on their symmetry during the tight bulk relaxation (atomate2's default for elastic).
    Unstable tensors are allowed through atomate2 and judged by ``vrh_moduli`` instead, so one
    phase with a negative eigenvalue is reported, not fatal to the whole flow.

    ``sym_reduce``: compute only symmetry-distinct deformations and expand the rest by symmetry
    (atomate2's default). CHGNet's LiSi (I4_1/a, made at high pressure, metastable at ambient) gives
    the same non-positive-definite tensor (C44 = -10 GPa) with all 24 deformations as with the reduced
    set, so the instability is the model's, not the symmetry expansion's.
    """
    from atomate2.forcefields.flows.elastic import ElasticMaker
    from atomate2.forcefields.jobs import ForceFieldRelaxMaker

    common = {
        "force_field_name": FF,
        "calculator_kwargs": {"spec": spec.model_dump(mode="json")},
        "relax_kwargs": {"fmax": fmax},
        "steps": steps,
        "optimizer_kwargs": {"optimizer": TrackedBFGS},
        "store_trajectory": "no",
        "ionic_step_data": ("energy",),
    }
    return ElasticMaker(
        name=f"elastic {spec.label()}",
        sym_reduce=sym_reduce,
        bulk_relax_maker=ForceFieldRelaxMaker(relax_cell=True, fix_symmetry=fix_symmetry, **common),
        elastic_relax_maker=ForceFieldRelaxMaker(relax_cell=False, **common),
        max_failed_deformations=0,
        # Least squares over all strain-stress pairs. atomate2's default finite-difference fit gave
        # C11 = -1.6e8 GPa for CHGNet c-Si (its +-0.5/1 % stresses are slightly non-linear), while the
        # pseudoinverse of the same 24 pairs gives C11 120, C12 47, C44 44 GPa.
        fit_elastic_tensor_kwargs={"fitting_method": "pseudoinverse"},
        task_document_kwargs={"allow_elastically_unstable_structs": True},
    )


class PhaseMechanics(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    phase: str
    x: float
    amorphous: bool
    n_atoms: int
    volume_per_si_A3: float
    expansion_percent: float
    density: float
    experimental_volume_per_si_A3: float | None = None  # crystalline: the card's published structure
    stiffness_GPa: list[list[float]] | None = None
    moduli: ElasticModuli | None = None
    elastic_note: str = ""
    structure: Structure | None = None


class LithiationResult(BaseModel):
    calculator: dict[str, Any]
    level_of_theory: str
    phases: list[PhaseMechanics]
    reference_volume_per_si_A3: float = Field(description="the calculator's relaxed c-Si")
    crystalline_line: tuple[float, float] | None = Field(default=None, description="(a, b) of V/Si = a + b x")
    amorphous_line: tuple[float, float] | None = None
    experimental_line: tuple[float, float] | None = None
    versions: dict[str, str] = Field(default_factory=dict)


@dataclass
class LithiationMaker(Maker):
    """Volume and elastic moduli of the Li_xSi series with one calculator.

    ``crystalline``: card names (default: every Li_xSi card, Si first); ``amorphous_x``: x values of
    amorphous cells (``n_si`` Si atoms each; x = 0 is a-Si); ``elastic``: phases whose elastic tensor
    is computed (card names, or ``a-x`` labels such as ``"a-Li3.75Si"``); default: all crystalline.
    """

    name: str = "lithiation mechanics"
    calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # a string is parsed once, in __post_init__
    crystalline: list[str] | None = None
    amorphous_x: list[float] = field(default_factory=list)
    n_si: int = 16
    elastic: list[str] | None = None
    relax_fmax: float = 0.05
    relax_steps: int = 300
    elastic_fmax: float = 0.005
    melt_quench: MeltQuenchMaker | None = None
    seed: int = 0

    def __post_init__(self):
        self.calculator = resolve_calculator(self.calculator)

    def make(self) -> Flow:
        spec = self.calculator
        series = crystalline_series()
        by_name = {name: (x, s) for name, x, s in series}
        names = list(self.crystalline) if self.crystalline is not None else [n for n, _, _ in series]
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise InterchemError(f"not Li_xSi cards: {', '.join(unknown)}; known: {', '.join(by_name)}")
        if "Si" not in names:
            names = ["Si", *names]  # the expansion reference is always the calculator's own c-Si
        check_calculator(spec, {"Li", "Si"}, context="lithiation mechanics")
        if self.elastic is None or self.elastic:
            calculator_makers(spec, "elastic")  # atomate2's force-field elastic flow on the ASE calculator
        targets: list[AmorphousTarget] = amorphous_series_targets(list(self.amorphous_x), n_si=self.n_si)
        elastic = list(self.elastic) if self.elastic is not None else list(names)
        known_labels = set(names) | {t.label for t in targets}
        missing = [e for e in elastic if e not in known_labels]
        if missing:
            raise InterchemError(
                f"elastic phase(s) {', '.join(missing)} are not in this series ({', '.join(sorted(known_labels))})"
            )
        jobs: list = []
        records: list = []
        relaxer = RelaxPhaseMaker(calculator=spec, fmax=self.relax_fmax, steps=self.relax_steps)
        structures: dict[str, Any] = {}
        for name in names:
            j = relaxer.make(by_name[name][1], phase=name)
            jobs.append(j)
            structures[name] = j.output.structure
            records.append(
                {
                    "phase": name,
                    "amorphous": False,
                    "structure": j.output.structure,
                    "experimental_volume_per_si_A3": volume_per_host(by_name[name][1]),
                }
            )
        mq = self.melt_quench or MeltQuenchMaker(calculator=spec)
        mq.calculator = spec
        for target in targets:
            flow = mq.make(target, seed=self.seed)
            jobs.append(flow)
            structures[target.label] = flow.output.structure
            records.append({"phase": target.label, "amorphous": True, "structure": flow.output.structure})
        elastic_out = {}
        for label in elastic:
            amorphous = label.startswith("a-")
            ef = elastic_maker(spec, fmax=self.elastic_fmax, fix_symmetry=not amorphous).make(structures[label])
            ef.name = f"elastic {label}"
            jobs.append(ef)
            elastic_out[label] = ef.output
        analyse = analyse_lithiation(records, elastic_out, spec)
        analyse.name = "analyse lithiation"
        jobs.append(analyse)
        return Flow(jobs, output=analyse.output, name=self.name)


@job(name="analyse lithiation", data=Structure)
def analyse_lithiation(records: list[dict], elastic: dict[str, Any], calculator: CalculatorSpec) -> LithiationResult:
    return lithiation_result(records, elastic, calculator)


def lithiation_result(
    records: list[dict], elastic: dict[str, Any], calculator: CalculatorSpec | dict
) -> LithiationResult:
    """Volumes, expansion and moduli from relaxed structures and atomate2 elastic documents."""
    spec = calculator if isinstance(calculator, CalculatorSpec) else CalculatorSpec.model_validate(calculator)
    backend = get_backend(spec)
    points, extra = [], []
    for r in records:
        s = r["structure"]
        s = Structure.from_dict(s) if isinstance(s, dict) else s
        points.append(
            VolumePoint(
                phase=r["phase"], x=li_per_host(s), volume_per_si_A3=volume_per_host(s), amorphous=r["amorphous"]
            )
        )
        extra.append((s, r.get("experimental_volume_per_si_A3")))
    si = [p for p in points if p.phase == "Si" and not p.amorphous]
    if not si:
        raise InterchemError("the series has no crystalline Si: no reference for the volume expansion")
    points = volume_expansion(points, si[0].volume_per_si_A3)
    phases = []
    for p, (s, v_exp) in zip(points, extra):
        pm = PhaseMechanics(
            phase=p.phase,
            x=p.x,
            amorphous=p.amorphous,
            n_atoms=len(s),
            volume_per_si_A3=p.volume_per_si_A3,
            expansion_percent=p.expansion_percent,
            density=density_g_cm3(s),
            experimental_volume_per_si_A3=v_exp,
            structure=s,
        )
        doc = elastic.get(p.phase)
        if doc is not None:
            c = task_field(doc, "elastic_tensor", "ieee_format")
            if c is None:
                pm.elastic_note = "elastic flow returned no tensor"
            else:
                pm.stiffness_GPa = [[float(v) for v in row] for row in c]
                try:
                    pm.moduli = vrh_moduli(c)
                except ElasticError as exc:
                    pm.elastic_note = str(exc)
        phases.append(pm)

    def line(selected):
        xs = [p.x for p in selected]
        return linear_fit(xs, [p.volume_per_si_A3 for p in selected]) if len(set(xs)) >= 2 else None

    crystalline = [p for p in phases if not p.amorphous]
    exp_pts = [(p.x, p.experimental_volume_per_si_A3) for p in crystalline if p.experimental_volume_per_si_A3]
    return LithiationResult(
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        phases=sorted(phases, key=lambda p: (p.amorphous, p.x)),
        reference_volume_per_si_A3=si[0].volume_per_si_A3,
        crystalline_line=line(crystalline),
        amorphous_line=line([p for p in phases if p.amorphous]),
        experimental_line=linear_fit(*zip(*exp_pts)) if len({x for x, _ in exp_pts}) >= 2 else None,
        versions=backend.versions(),
    )
