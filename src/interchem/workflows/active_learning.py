"""Active learning after a fine-tune: label where the models disagree most, retrain, stop on a force target.

``FineTuneSettings(active_rounds=N, active_k=k, force_mae_target_eV_per_A=x)`` adds to the fine-tune flow:

* **pool** (``candidate pool``): the sampler's distinct candidates that were *not* selected for labelling
  (the same pool and farthest-point selection as ``sample configurations``, recomputed: deterministic).
* **round r** (``active learning round r``, a job that replaces itself): records the last training's
  held-out errors; stops if the test force MAE is at or below the target, if ``active_rounds`` rounds were
  done, or if the pool is empty. Otherwise it ranks the pool by the disagreement of the **base and the
  fine-tuned model** (the largest per-atom force difference in each configuration), labels the top ``k``
  (the same keyed ``label`` jobs: reused from the store when known), retrains from the base model on the
  enlarged set (the new labels join the training part; the validation and test parts stay as they were,
  so the test errors of all rounds are on the same configurations; the split enters the train key) and
  validates, then hands on to round r + 1.

Why base vs fine-tuned and not a committee of fine-tuned models with different seeds: a committee costs
one training per member per round, and with the lower layers frozen (the default) the members share most
weights, so on tens of labels they disagree little anywhere. The base-vs-fine-tuned difference is free
(both models exist) and is largest where the labels taught the model most, i.e. the chemistry the base
model gets wrong, where more labels help most. It is not an uncertainty estimate of the fine-tuned model
itself: a configuration both models get wrong the same way is not found (stated in docs/finetune.md).
Forces do not depend on the per-element references (composition only), so the raw base model is used.

The result is the last round's ``FineTuneResult`` with ``rounds`` (one ``ActiveRound`` per training) and
``stop_reason``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jobflow import Job, job
from pydantic import BaseModel, ConfigDict
from pymatgen.core import Structure

from interchem.analysis.fingerprints import fingerprints, unique_indices
from interchem.calculators import CalculatorSpec
from interchem.calculators.trainable import trainable_base
from interchem.errors import FineTuneError
from interchem.workflows.common import replace_with
from interchem.workflows.finetune import (
    Candidate,
    FineTuneResult,
    FineTuneSettings,
    Label,
    TrainingResult,
    label_id,
    label_or_reuse,
    per_phase_counts,
    phase_pools,
    select_indices,
    train_or_reuse,
    validate_model,
)

ZERO_FORCE_eV_per_A = 1e-3  # below this every force component of a label counts as zero (SCF noise)


class ActiveRound(BaseModel):
    """One training of an active-learning run (round 0: the first fine-tune, nothing added)."""

    model_config = ConfigDict(extra="forbid")

    round: int
    n_labels: int
    # {"id", "phase", "origin", "disagreement_eV_per_A"} of the configurations labelled for this round
    added: list[dict[str, Any]]
    pool_left: int  # unlabelled candidates after this round's choice
    test_force_mae_eV_per_A: float
    test_energy_mae_eV_per_atom: float
    model_path: str


# ---------------------------------------------------------------------------------------------------
# pool and ranking


@job(name="candidate pool")
def candidate_pool(
    phases: dict[str, Structure], md_results: dict[str, list], paths: dict[str, list], settings: FineTuneSettings
) -> list[Candidate]:
    """The distinct candidates of every phase that ``sample configurations`` did not select."""
    settings = FineTuneSettings.model_validate(settings)
    out: list[Candidate] = []
    for _, pool, always, count in phase_pools(phases, md_results, paths, settings):
        chosen = set(select_indices(pool, count, settings.seed, always=always))
        out += [pool[i] for i in unique_indices(fingerprints([c.structure for c in pool])) if i not in chosen]
    return out


def force_disagreement(model_a: str, model_b: str, structures: list[Structure], base: str = "chgnet") -> np.ndarray:
    """Per structure, the largest per-atom force difference (eV/A, vector norm) of two models of ``base``."""
    if not structures:
        return np.zeros(0)
    trainable = trainable_base(base)
    fa = trainable.predict(trainable.load(model_a), structures)
    fb = trainable.predict(trainable.load(model_b), structures)
    return np.array([np.linalg.norm(a["f"] - b["f"], axis=1).max() for a, b in zip(fa, fb)])


def most_disagreeing(disagreement: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest values, largest first (ties: the earlier candidate)."""
    return [int(i) for i in np.argsort(-np.asarray(disagreement), kind="stable")[:k]]


def stop_reason(
    result: FineTuneResult, settings: FineTuneSettings, round_no: int, pool_size: int, test_has_forces: bool = True
) -> str:
    """Why the loop stops after training ``round_no`` ("" to go on). A test part whose labels all have zero
    forces (symmetric cells) meets any force target with any model: the target is then not judged."""
    force = result.test_metrics["finetuned"]["force_mae_eV_per_A"]
    target = settings.force_mae_target_eV_per_A
    if target is None:
        note = ""
    elif not test_has_forces:
        note = " (force target not judged: every test label has zero forces, e.g. symmetric cells)"
    elif force <= target:
        return f"target reached: test force MAE {force:.4f} <= {target:g} eV/A"
    else:
        note = f" (test force MAE {force:.4f} > target {target:g} eV/A)"
    if round_no >= settings.active_rounds:
        return f"max rounds: {settings.active_rounds} active round(s) done{note}"
    if pool_size == 0:
        return f"pool exhausted: no unlabelled candidates left{note}"
    return ""


# ---------------------------------------------------------------------------------------------------
# the loop


@job(name="active learning round")
def active_round(  # long: record, stop test, ranking and the next round's jobs, in the order they happen
    result: FineTuneResult,
    labels: list,
    training: TrainingResult,
    pool: list,
    history: list[dict],
    added: list[dict],
    round_no: int,
    settings: FineTuneSettings,
    label_calculator: CalculatorSpec,
    base_model: str,
    model_dir: str,
    base: str = "chgnet",
):
    """Record the last training, stop (module docstring) or label the top-k and run the next round."""
    result = FineTuneResult.model_validate(result)
    training = training if isinstance(training, TrainingResult) else TrainingResult.model_validate(training)
    pool = [c if isinstance(c, Candidate) else Candidate.model_validate(c) for c in pool]
    settings = FineTuneSettings.model_validate(settings)
    ft = result.test_metrics["finetuned"]
    record = ActiveRound(
        round=round_no,
        n_labels=result.n_labels,
        added=added,
        pool_left=len(pool),
        test_force_mae_eV_per_A=ft["force_mae_eV_per_A"],
        test_energy_mae_eV_per_atom=ft["energy_mae_eV_per_atom"],
        model_path=result.model_path,
    )
    rounds = [*history, record.model_dump()]
    by_id = {lab["id"] if isinstance(lab, dict) else lab.id: lab for lab in labels}
    test_forces = [np.abs(Label.model_validate(by_id[i]).forces).max() for i in training.split["test"]]
    reason = stop_reason(result, settings, round_no, len(pool), max(test_forces) > ZERO_FORCE_eV_per_A)
    if reason:
        return result.model_copy(update={"rounds": rounds, "stop_reason": reason})

    d = force_disagreement(base_model, training.model_path, [c.structure for c in pool], base)
    top = most_disagreeing(d, settings.active_k)
    start = len(labels)  # label indices go on after the ones already made
    jobs, new = [], []
    for n, i in enumerate(top):
        j = label_or_reuse(pool[i], label_calculator, start + n)
        j.name = f"label {start + n:04d}"
        jobs.append(j)
        new.append({"id": label_id(start + n, pool[i]), "phase": pool[i].phase, "origin": pool[i].origin})
        new[-1]["disagreement_eV_per_A"] = float(d[i])
    all_labels = [*labels, *(j.output for j in jobs)]
    split = {**training.split, "train": [*training.split["train"], *(a["id"] for a in new)]}
    train = train_or_reuse(all_labels, settings, base_model, model_dir, split, base)
    train.name = f"train (active round {round_no + 1})"
    validate = validate_model(all_labels, train.output, base_model, base)
    rest = [c for i, c in enumerate(pool) if i not in top]
    nxt = active_round(
        validate.output, all_labels, train.output, rest, rounds, new, round_no + 1, settings, label_calculator,
        base_model, model_dir, base,
    )  # fmt: skip
    nxt.name = f"active learning round {round_no + 1}"
    return replace_with([*jobs, train, validate, nxt], nxt.output, name=f"active learning round {round_no + 1}")


def active_learning_jobs(
    maker: Any,
    phases: dict[str, Structure],
    md_outputs: dict,
    paths: dict,
    labels: list,
    train: Job,
    validate: Job,
    model_dir: str,
) -> list[Job]:
    """The pool job and round 0 for ``FineTuneMaker.make`` (its sampling outputs and first training)."""
    s = maker.settings
    pool_bound = 1 + 2 * len(s.strains) + s.n_rattled + len(s.temperatures_K) * (s.md_steps // s.md_sample_interval)
    n_paths = sum(len(v) for v in paths.values())
    if n_paths == 0 and all(n >= pool_bound for n in per_phase_counts(list(phases), s.samples).values()):
        raise FineTuneError(
            f"active learning needs unlabelled candidates, but all {pool_bound} per phase are labelled already: "
            "add temperatures, MD steps, strains or rattled cells, or ask for fewer samples"
        )
    pool = candidate_pool(phases, md_outputs, paths, s)
    first = active_round(
        validate.output, labels, train.output, pool.output, [], [], 0, s, maker.label_calculator,
        maker.base_model, model_dir, maker.base,
    )  # fmt: skip
    first.name = "active learning round 0"
    return [pool, first]
