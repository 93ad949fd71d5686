"""Fine-tune a foundation model on the user's own chemistry: sample -> label -> train -> validate, one flow.

* **sample**: configurations of the user's phases: MD snapshots at a few temperatures (the sampling
  calculator's ``md`` maker, any registry calculator), isotropic and random (seeded) strained cells,
  rattled cells, NEB images of given hops and any extra structures; de-duplicated and thinned to the
  requested number by farthest-point sampling on ``analysis.fingerprints`` (per phase, each phase's
  unstrained crystal and the NEB / path images always kept, fixed seed).
* **label**: a single point (energy, forces, stress) of each configuration with the labelling calculator
  (CP2K here), **each its own job**, keyed by ``common.cache_key`` (protocol ``label-1``) and reused from
  the store like every other calculation: a second fine-tune on overlapping configurations recomputes
  nothing it has.
* **train**: CHGNet or SevenNet (``calculators.trainable``), each with the trainer in its own wheel
  (``calculators.chgnet_train``, ``calculators.sevennet_train``): split stratified by phase (every phase
  in the training part), per-element reference energies (CHGNet's AtomRef, SevenNet's species-wise
  shift) refitted to the labels' scale, early stopping on the validation part, fixed seed; the model file
  and its training record go to ``model_dir`` (path and SHA-256 in the stored output). Keyed too
  (``train-1``; the family too for other bases than CHGNet): the same labels and settings reuse the model.
* **validate**: energy / force / stress MAE on the held-out test part for the base model (raw, and with the
  refitted per-element references: the fair "before") and the fine-tuned model.

Everything that can be checked is checked in ``make()``: too few labels for a split, a base model with no
training path, a labelling calculator that cannot treat an element, a base model file that does not load.
The result is a calculator: ``chgnet:model=<model_path>`` (or ``sevennet:model=<model_path>``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from jobflow import JobConfig, job
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pymatgen.core import Lattice, Structure

from interchem.analysis.fingerprints import farthest_point_sampling, fingerprints, unique_indices
from interchem.calculators import CalculatorSpec, evaluate_many, get_backend
from interchem.calculators.chgnet_train import file_sha256, read_record
from interchem.calculators.trainable import trainable_base
from interchem.errors import FineTuneError
from interchem.schemas import MDResult, NEBResult
from interchem.workflows.common import cache_key, canonical, find_stored, store_of_current_job

logger = logging.getLogger(__name__)

LABEL_PROTOCOL = "label-1"
TRAIN_PROTOCOL = "train-1"
ACTIVE_FIELDS = {"active_rounds", "active_k", "force_mae_target_eV_per_A"}  # loop control, not training


class FineTuneSettings(BaseModel):
    """What decides the sampled configurations, the split and the training (all enter the keys)."""

    model_config = ConfigDict(extra="forbid")

    samples: int = Field(default=60, ge=1, description="labelled configurations in all (split among phases)")
    temperatures_K: list[float] = Field(default_factory=lambda: [300.0, 900.0])
    md_steps: int = Field(default=200, ge=1)
    md_sample_interval: int = Field(default=10, ge=1, description="MD steps between candidate snapshots")
    timestep_fs: float = Field(default=2.0, gt=0)
    strains: list[float] = Field(default_factory=lambda: [-0.04, -0.02, 0.02, 0.04])
    n_rattled: int = Field(default=4, ge=0)
    rattle_A: float = Field(default=0.05, ge=0)
    seed: int = 0
    val_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    epochs: int = Field(default=50, ge=1)
    patience: int = Field(default=5, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    batch_size: int = Field(default=4, ge=1)
    freeze_lower: bool = True
    # Active learning (workflows.active_learning): off by default; these three never enter the train key.
    active_rounds: int = Field(default=0, ge=0, description="label-and-retrain rounds after the first training")
    active_k: int = Field(default=4, ge=1, description="configurations labelled per active-learning round")
    force_mae_target_eV_per_A: float | None = Field(default=None, gt=0, description="stop at this test force MAE")

    @model_validator(mode="after")
    def _target_needs_rounds(self) -> FineTuneSettings:
        if self.force_mae_target_eV_per_A is not None and self.active_rounds == 0:
            raise ValueError("force_mae_target_eV_per_A stops active learning: set active_rounds >= 1 with it")
        return self

    def split_sizes(self, n: int) -> tuple[int, int, int]:
        """(train, val, test) sizes for ``n`` labels: at least one in val and test."""
        n_test = max(1, round(self.test_fraction * n))
        n_val = max(1, round(self.val_fraction * n))
        return n - n_val - n_test, n_val, n_test


class Candidate(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    structure: Structure
    phase: str
    origin: str  # "crystal", "strain +2.0% iso", "md 900 K step 40", "neb hop image 3", ...


class Label(BaseModel):
    """One labelled configuration (ASE units: eV, eV/A, Voigt stress eV/A^3 tensile positive)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    phase: str
    origin: str
    structure: Structure
    energy_eV: float
    forces: list[list[float]]
    stress: list[float] | None
    calc_key: str
    calculator: dict[str, Any]
    level_of_theory: str
    energy_convention: str
    wall_time_s: float
    reused: bool = False


class TrainingResult(BaseModel):
    train_key: str
    model_path: str
    model_sha256: str
    calculator: str  # the spec string of the fine-tuned model: chgnet:model=PATH
    level_of_theory: str
    split: dict[str, list[str]]
    record: dict[str, Any]
    reused: bool = False


class FineTuneResult(BaseModel):
    model_path: str
    calculator: str
    level_of_theory: str
    n_labels: int
    split_sizes: dict[str, int]
    # "base" (raw), "base_refit" (base with per-element references fitted to the labels), "finetuned"
    test_metrics: dict[str, dict[str, float | None]]
    val_loss_before: float
    val_loss_per_epoch: list[float]
    epochs_run: int
    seconds_per_epoch: float
    label_level_of_theory: str
    labels_reused: int
    # Active learning only: one ``active_learning.ActiveRound`` dict per training (round 0 the first one).
    rounds: list[dict[str, Any]] = Field(default_factory=list)
    stop_reason: str = ""


# ---------------------------------------------------------------------------------------------------
# sample


def strained_and_rattled(structure: Structure, phase: str, settings: FineTuneSettings) -> list[Candidate]:
    """The crystal, each strain isotropic and as a random symmetric strain of the same size (seeded), and
    rattled copies (Gaussian displacements, ``rattle_A`` standard deviation)."""
    rng = np.random.default_rng(settings.seed)
    out = [Candidate(structure=structure, phase=phase, origin="crystal")]
    for eps in settings.strains:
        iso = structure.copy()
        iso.apply_strain(eps)
        out.append(Candidate(structure=iso, phase=phase, origin=f"strain {100 * eps:+.1f}% iso"))
        a = rng.normal(size=(3, 3))
        a = (a + a.T) / 2
        a *= abs(eps) / np.abs(a).max()
        sheared = structure.copy()
        sheared.lattice = Lattice(sheared.lattice.matrix @ (np.eye(3) + a))
        out.append(Candidate(structure=sheared, phase=phase, origin=f"strain {100 * abs(eps):.1f}% random"))
    for k in range(settings.n_rattled):
        rattled = structure.copy()
        disp = rng.normal(scale=settings.rattle_A, size=(len(rattled), 3))
        for i, d in enumerate(disp):
            rattled.translate_sites([i], d, frac_coords=False, to_unit_cell=True)
        out.append(Candidate(structure=rattled, phase=phase, origin=f"rattle {settings.rattle_A} A #{k}"))
    return out


def n_md_frames(settings: FineTuneSettings) -> int:
    return settings.md_steps // settings.md_sample_interval


def md_candidates(result: Any, phase: str) -> list[Candidate]:
    result = result if isinstance(result, MDResult) else MDResult.model_validate(result)
    traj = result.trajectory
    t = result.settings.get("temperature_K")
    every = result.settings.get("sample_interval", 1)
    # Frame 0 is the starting crystal (already a candidate).
    return [
        Candidate(structure=traj.get_structure(i), phase=phase, origin=f"md {t:.0f} K step {i * every}")
        for i in range(1, len(traj))
    ]


def select_indices(candidates: list[Candidate], n: int, seed: int, always: list[int] | None = None) -> list[int]:
    """De-duplicate, then farthest-point sample ``n``, starting from ``always`` (default: the crystal, listed
    first). Returns indices into ``candidates``; the distinct ones are ``unique_indices(fingerprints(...))``."""
    x = fingerprints([c.structure for c in candidates])
    keep = unique_indices(x)
    position = {i: k for k, i in enumerate(keep)}
    start = [position[i] for i in (always if always is not None else [0]) if i in position]
    return [keep[i] for i in farthest_point_sampling(x[keep], n, seed=seed, always=start)]


def select(candidates: list[Candidate], n: int, seed: int, always: list[int] | None = None) -> list[Candidate]:
    return [candidates[i] for i in select_indices(candidates, n, seed, always)]


def per_phase_counts(phases: list[str], n: int) -> dict[str, int]:
    return {p: n // len(phases) + (1 if i < n % len(phases) else 0) for i, p in enumerate(phases)}


def phase_pools(
    phases: dict[str, Structure], md_results: dict[str, list], paths: dict[str, list], settings: FineTuneSettings
) -> Iterator[tuple[str, list[Candidate], list[int], int]]:
    """Per phase: its name, every candidate, the indices always kept and how many to select (the same
    for the sampler and the active-learning pool, which takes what the sampler left)."""
    counts = per_phase_counts(list(phases), settings.samples)
    for phase, structure in phases.items():
        pool, always = phase_pool(phase, structure, md_results, paths, settings)
        yield phase, pool, always, counts[phase]


def phase_pool(
    phase: str, structure: Structure, md_results: dict[str, list], paths: dict[str, list], settings: FineTuneSettings
) -> tuple[list[Candidate], list[int]]:
    """Every candidate of one phase, and the indices always kept (the crystal and every path image)."""
    pool = strained_and_rattled(structure, phase, settings)
    for result in md_results.get(phase, []):
        pool += md_candidates(result, phase)
    for k, path in enumerate(paths.get(phase, [])):
        images = path.images if isinstance(path, NEBResult) else path
        images = images.get("images", []) if isinstance(images, dict) else images
        images = [Structure.from_dict(im) if isinstance(im, dict) else im for im in images]
        pool += [Candidate(structure=s, phase=phase, origin=f"path {k} image {i}") for i, s in enumerate(images)]
    # The crystal and every path image are kept first: the images are the configurations the property
    # (a barrier) depends on, and a lone Li among 8 Si moves the per-atom fingerprint less than a 2 %
    # strain does, so farthest-point sampling alone would pass them over (seen in the Li-in-Si recipe).
    return pool, [0, *(i for i, c in enumerate(pool) if c.origin.startswith("path "))]


@job(name="sample configurations")
def sample_configurations(
    phases: dict[str, Structure],
    md_results: dict[str, list],
    paths: dict[str, list],
    settings: FineTuneSettings,
) -> list[Candidate]:
    """Candidates of every phase, de-duplicated and thinned by farthest-point sampling (module docstring)."""
    settings = FineTuneSettings.model_validate(settings)
    out: list[Candidate] = []
    for phase, pool, always, count in phase_pools(phases, md_results, paths, settings):
        chosen = select(pool, count, settings.seed, always=always)
        if len(chosen) < count:
            raise FineTuneError(
                f"{phase}: only {len(chosen)} distinct configurations for {count} labels; "
                "add temperatures, MD steps, strains or rattled cells, or ask for fewer samples"
            )
        out += chosen
    return out


# ---------------------------------------------------------------------------------------------------
# label


def label_key(spec: CalculatorSpec, structure: Structure) -> str:
    return cache_key(spec, structure, {"properties": "energy forces stress"}, LABEL_PROTOCOL)


def label_id(index: int, candidate: Candidate) -> str:
    return f"{index:04d} {candidate.phase} {candidate.origin}"


@job(name="label", config=JobConfig(expose_store=True))
def label_or_reuse(candidate: Candidate, calculator: CalculatorSpec, index: int) -> Label:
    """Energy, forces and stress of one configuration with the labelling calculator, or the stored label."""
    candidate = candidate if isinstance(candidate, Candidate) else Candidate.model_validate(candidate)
    spec = calculator
    ident = {"id": label_id(index, candidate), "phase": candidate.phase}
    key = label_key(spec, candidate.structure)
    stored = find_stored(store_of_current_job(), key)
    if stored is not None:
        logger.info("Reused stored label - %s (%s)", ident["id"], key[:12])
        return Label.model_validate({**stored, **ident, "origin": candidate.origin, "reused": True})
    backend = get_backend(spec)
    t0 = time.perf_counter()
    result = evaluate_many([candidate.structure], spec)[0]
    stress = result["stress"]
    return Label(
        **ident,
        origin=candidate.origin,
        structure=candidate.structure,
        energy_eV=float(result["energy"]),
        forces=np.asarray(result["forces"], dtype=float).tolist(),
        stress=None if stress is None else np.asarray(stress, dtype=float).tolist(),
        calc_key=key,
        calculator=spec.model_dump(mode="json"),
        level_of_theory=backend.level_of_theory(spec),
        energy_convention=backend.energy_convention(spec),
        wall_time_s=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------------------------------
# train


def split_labels(labels: list[Label], settings: FineTuneSettings) -> dict[str, list[str]]:
    """Train / val / test ids: one label of every phase reserved for training, the rest shuffled (seed)."""
    rng = np.random.default_rng(settings.seed)
    _, n_val, n_test = settings.split_sizes(len(labels))
    reserved, rest = [], []
    for phase in dict.fromkeys(lab.phase for lab in labels):
        ids = [lab.id for lab in labels if lab.phase == phase]
        order = rng.permutation(len(ids))
        reserved.append(ids[order[0]])
        rest += [ids[i] for i in order[1:]]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    return {"test": rest[:n_test], "val": rest[n_test : n_test + n_val], "train": reserved + rest[n_test + n_val :]}


def train_key(
    labels: list[Label], settings: FineTuneSettings, base_model: str, split: dict | None = None, base: str = "chgnet"
) -> str:
    payload = {
        "labels": sorted(lab.calc_key for lab in labels),
        "settings": canonical(settings.model_dump(mode="json", exclude=ACTIVE_FIELDS)),
        "base": str(base_model),
        "protocol": TRAIN_PROTOCOL,
    }
    if base != "chgnet":  # CHGNet keys stay what they were before other families (stored models reuse)
        payload["family"] = base
    if split is not None:  # an active-learning round's own split (its test part fixed across rounds)
        payload["split"] = {k: sorted(v) for k, v in split.items()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _as_labels(labels: list) -> list[Label]:
    return [lab if isinstance(lab, Label) else Label.model_validate(lab) for lab in labels]


def _label_dicts(labels: list[Label]) -> list[dict[str, Any]]:
    return [lab.model_dump() for lab in labels]


@job(name="train", config=JobConfig(expose_store=True))
def train_or_reuse(
    labels: list,
    settings: FineTuneSettings,
    base_model: str,
    model_dir: str,
    split: dict | None = None,
    base: str = "chgnet",
) -> TrainingResult:
    """Fine-tune the ``base`` family (``calculators.trainable``) on the labels (or reuse the stored model of
    the same labels and settings); ``split`` (ids) instead of ``split_labels``' for active-learning rounds."""
    labels, settings = _as_labels(labels), FineTuneSettings.model_validate(settings)
    trainable = trainable_base(base)
    key = train_key(labels, settings, base_model, split, trainable.name)
    stored = find_stored(store_of_current_job(), key, field="train_key")
    if stored is not None and Path(stored["model_path"]).is_file():
        if file_sha256(stored["model_path"]) == stored["model_sha256"]:
            logger.info("Reused stored fine-tuned model - %s", stored["model_path"])
            return TrainingResult.model_validate({**stored, "reused": True})
    split = split or split_labels(labels, settings)
    by_id = {lab.id: lab for lab in labels}
    model, record = trainable.train(
        base_model,
        _label_dicts([by_id[i] for i in split["train"]]),
        _label_dicts([by_id[i] for i in split["val"]]),
        epochs=settings.epochs,
        patience=settings.patience,
        learning_rate=settings.learning_rate,
        batch_size=settings.batch_size,
        seed=settings.seed,
        freeze_lower=settings.freeze_lower,
    )
    first = labels[0]
    n_fit = len(split["train"]) + len(split["val"])
    level = f"{trainable.family} {Path(str(base_model)).name} fine-tuned on {first.level_of_theory}, {n_fit} structures"
    record.update(
        level_of_theory=level,
        label_level_of_theory=first.level_of_theory,
        label_calculator=first.calculator,
        energy_convention=first.energy_convention,
        elements=sorted({el.symbol for lab in labels for el in lab.structure.composition.elements}),
        n_labels=len(labels),
        split=split,
        train_key=key,
    )
    path = Path(model_dir) / f"{trainable.name}-finetuned-{key[:12]}{trainable.file_suffix}"
    record = trainable.save_model(model, path, record)
    return TrainingResult(
        train_key=key,
        model_path=record["model_path"],
        model_sha256=record["model_sha256"],
        calculator=f"{trainable.name}:model={record['model_path']}",
        level_of_theory=level,
        split=split,
        record=record,
    )


# ---------------------------------------------------------------------------------------------------
# validate


@job(name="validate fine-tuned model")
def validate_model(labels: list, training: TrainingResult, base_model: str, base: str = "chgnet") -> FineTuneResult:
    """Held-out (test) errors of the base model, raw and with references refitted, and of the fine-tuned one."""
    import copy

    labels = _as_labels(labels)
    training = training if isinstance(training, TrainingResult) else TrainingResult.model_validate(training)
    by_id = {lab.id: lab for lab in labels}
    test = _label_dicts([by_id[i] for i in training.split["test"]])
    train = _label_dicts([by_id[i] for i in training.split["train"]])
    trainable = trainable_base(base)
    base_net = trainable.load(base_model)
    refit = copy.deepcopy(base_net)
    trainable.refit_reference(refit, train)  # the same references the training started from
    record = read_record(training.model_path) or training.record
    metrics = {
        "base": trainable.error_metrics(base_net, test),
        "base_refit": trainable.error_metrics(refit, test),
        "finetuned": trainable.error_metrics(trainable.load(training.model_path), test),
    }
    return FineTuneResult(
        model_path=training.model_path,
        calculator=training.calculator,
        level_of_theory=training.level_of_theory,
        n_labels=len(labels),
        split_sizes={k: len(v) for k, v in training.split.items()},
        test_metrics=metrics,
        val_loss_before=record["val_loss_before"],
        val_loss_per_epoch=record["val_loss_per_epoch"],
        epochs_run=record["epochs_run"],
        seconds_per_epoch=float(np.mean(record["seconds_per_epoch"])) if record["seconds_per_epoch"] else 0.0,
        label_level_of_theory=record["label_level_of_theory"],
        labels_reused=sum(lab.reused for lab in labels),
    )
