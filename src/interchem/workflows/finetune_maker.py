"""``FineTuneMaker``: the fine-tune flow (``workflows.finetune``: sample -> label -> train -> validate) and,
when ``FineTuneSettings.active_rounds`` asks for it, the active-learning rounds after it
(``workflows.active_learning``). A module of its own because it assembles both: the rounds make the same
label / train / validate jobs, so ``active_learning`` imports ``finetune`` and this imports both."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobflow import Flow, Maker
from pymatgen.core import Structure

from interchem.calculators import CalculatorSpec, calculator_makers, check_calculator, get_backend
from interchem.calculators.trainable import trainable_base
from interchem.errors import FineTuneError
from interchem.schemas import MDSettings, NEBSettings
from interchem.workflows.active_learning import active_learning_jobs
from interchem.workflows.common import resolve_calculator
from interchem.workflows.finetune import (
    FineTuneSettings,
    label_or_reuse,
    n_md_frames,
    per_phase_counts,
    sample_configurations,
    train_or_reuse,
    validate_model,
)


@dataclass
class FineTuneMaker(Maker):
    """sample -> label (one job each) -> train -> validate (module docstring)."""

    name: str = "fine-tune"
    label_calculator: CalculatorSpec = field(default_factory=lambda: CalculatorSpec(name="cp2k"))
    sample_calculator: CalculatorSpec = field(default_factory=CalculatorSpec)  # MD (and NEB) for sampling
    base: str = "chgnet"  # the model family to fine-tune: chgnet or sevennet (calculators.trainable)
    # weights shipped in the family's wheel (CHGNet 0.3.0, SevenNet 7net-0: the default when None) or a model
    # file of that family (fine-tune a fine-tuned model)
    base_model: str | None = None
    settings: FineTuneSettings = field(default_factory=FineTuneSettings)
    model_dir: str = "interchem-models"
    neb_settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        trainable = trainable_base(self.base)  # first: "mace cannot be fine-tuned" beats a settings error
        self.base = trainable.name
        self.base_model = str(self.base_model or trainable.default_model)
        self.label_calculator = resolve_calculator(self.label_calculator)
        self.sample_calculator = resolve_calculator(self.sample_calculator)
        self.settings = FineTuneSettings.model_validate(self.settings)
        check_calculator(self.base_spec())  # loads a file: one that is not a model of the family fails here

    def base_spec(self) -> CalculatorSpec:
        """The base model as a calculator (its element check, and the file check of a model file)."""
        return CalculatorSpec(name=self.base, settings={"model": self.base_model})

    def check(self, phases: dict[str, Structure], hops: dict[str, list[dict]]) -> None:
        """Every input check (module docstring), before any job exists."""
        s = self.settings
        if not phases:
            raise FineTuneError("no phases to sample: name at least one phase or structure file")
        n_train, n_val, n_test = s.split_sizes(s.samples)
        if n_train < len(phases) or n_train < 2:
            raise FineTuneError(
                f"{s.samples} labels are too few for a train/validation/test split of {len(phases)} phase(s) "
                f"({n_train} train, {n_val} val, {n_test} test): ask for at least "
                f"{max(2, len(phases)) + n_val + n_test} samples"
            )
        elements = {el.symbol for st in phases.values() for el in st.composition.elements}
        elements |= {str(h.get("species", "Li")) for hs in hops.values() for h in hs}  # an interstitial's element
        if get_backend(self.label_calculator).make_ase_calculator is None:
            raise FineTuneError(
                f"labelling with {self.label_calculator.name!r} is not wired yet: labels need forces and "
                "stresses through an ASE calculator (cp2k, or any MLIP for distillation)"
            )
        check_calculator(self.label_calculator, elements, context="the fine-tuning labels")
        check_calculator(self.sample_calculator, elements, context="the fine-tuning samples (MD)")
        check_calculator(self.base_spec(), elements, "base model")
        unknown = set(hops) - set(phases)
        if unknown:
            raise FineTuneError(f"hops given for phase(s) {', '.join(sorted(unknown))} that are not being sampled")
        pool = 1 + 2 * len(s.strains) + s.n_rattled + len(s.temperatures_K) * n_md_frames(s)
        per_path = NEBSettings.model_validate(self.neb_settings).n_images + 2
        for phase, count in per_phase_counts(list(phases), s.samples).items():
            if count > pool + per_path * len(hops.get(phase, [])):
                raise FineTuneError(
                    f"{phase}: {count} labels asked but at most {pool} candidate configurations are sampled; "
                    "add temperatures, MD steps, strains or rattled cells, or ask for fewer samples"
                )

    def make(
        self,
        phases: dict[str, Structure],
        hops: dict[str, list[dict]] | None = None,
        paths: dict[str, list] | None = None,
    ) -> Flow:
        """``phases``: {name: structure}; ``hops``: {phase: [hop dicts]} run as NEB with the sampling
        calculator (images become candidates); ``paths``: {phase: [NEBResult or list of structures]}."""
        hops, paths = dict(hops or {}), {k: list(v) for k, v in (paths or {}).items()}
        self.check(phases, hops)
        s = self.settings
        md_settings = {"steps": s.md_steps, "timestep_fs": s.timestep_fs, "sample_interval": s.md_sample_interval}
        makers = calculator_makers(self.sample_calculator, "md")
        jobs, md_outputs = [], {}
        for phase, structure in phases.items():
            md_outputs[phase] = []
            for k, t in enumerate(s.temperatures_K):
                settings = MDSettings.model_validate({**md_settings, "temperature_K": t, "seed": s.seed + k})
                j = makers.md(structure, settings, label=phase, name=f"sample md {phase} {t:.0f} K")
                jobs.append(j)
                md_outputs[phase].append(j.output)
            for i, hop in enumerate(hops.get(phase, [])):
                neb = calculator_makers(self.sample_calculator, "neb").neb(
                    structure, hop, NEBSettings.model_validate(self.neb_settings), f"{phase} hop {i}"
                )
                jobs.append(neb)
                paths.setdefault(phase, []).append(neb.output)
        sample = sample_configurations(phases, md_outputs, paths, s)
        labels = []
        for i in range(s.samples):
            j = label_or_reuse(sample.output[i], self.label_calculator, i)
            j.name = f"label {i:04d}"
            labels.append(j)
        model_dir = str(Path(self.model_dir).expanduser().resolve())
        train = train_or_reuse([j.output for j in labels], s, self.base_model, model_dir, base=self.base)
        validate = validate_model([j.output for j in labels], train.output, self.base_model, self.base)
        done = [*jobs, sample, *labels, train, validate]
        if not s.active_rounds:
            return Flow(done, output=validate.output, name=self.name)
        outputs = [j.output for j in labels]
        more = active_learning_jobs(self, phases, md_outputs, paths, outputs, train, validate, model_dir)
        return Flow([*done, *more], output=more[-1].output, name=self.name)
