"""The model families ``interchem finetune`` can train (``--base``), each through the trainer in its own
wheel: CHGNet (``chgnet_train``) and SevenNet (``sevennet_train``). The fine-tune jobs ask this table for
the family's loader, reference refit, predictions, trainer and file writer, so they never name a family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from interchem.calculators import chgnet_train, sevennet_train
from interchem.errors import FineTuneError


@dataclass(frozen=True)
class TrainableBase:
    name: str  # the calculator name (and ``--base``): the result is ``<name>:model=PATH``
    family: str  # in the level of theory: "<family> <base model> fine-tuned on <labels>"
    default_model: str  # base weights when none are given
    file_suffix: str
    load: Callable[[str], Any]
    refit_reference: Callable[[Any, list[dict]], dict[str, float]]  # per-element offsets, in place
    predict: Callable[[Any, list], list[dict]]  # {"e" eV/atom, "f" eV/A, "s" 3x3 GPa} per structure
    error_metrics: Callable[[Any, list[dict]], dict]
    train: Callable[..., tuple[Any, dict]]  # (base_model, train, val, epochs, patience, lr, batch, seed, freeze)
    save_model: Callable[[Any, Any, dict], dict]


def _load_sevennet(model: str):
    return sevennet_train.load_sevennet(model, trusted=sevennet_train.listed_trusted(model))


def _train_sevennet(base_model: str, *args, **kwargs):
    return sevennet_train.train_sevennet(base_model, *args, trusted=sevennet_train.listed_trusted(base_model), **kwargs)


BASES = {
    "chgnet": TrainableBase(
        name="chgnet",
        family="CHGNet",
        default_model="0.3.0",
        file_suffix=".pth.tar",
        load=chgnet_train.load_chgnet,
        refit_reference=chgnet_train.refit_atom_reference,
        predict=chgnet_train.predict,
        error_metrics=chgnet_train.error_metrics,
        train=chgnet_train.train_chgnet,
        save_model=chgnet_train.save_model,
    ),
    "sevennet": TrainableBase(
        name="sevennet",
        family="SevenNet",
        default_model=sevennet_train.DEFAULT_SEVENNET,
        file_suffix=".pth",
        load=_load_sevennet,
        refit_reference=sevennet_train.refit_shift,
        predict=sevennet_train.predict,
        error_metrics=sevennet_train.error_metrics,
        train=_train_sevennet,
        save_model=sevennet_train.save_model,
    ),
}
NOT_TRAINABLE = {
    "mace": "MACE fine-tuning (mace-torch's run_train from a model file) is not wired yet",
    "emt": "EMT is a fixed analytic potential, not a trainable model",
}


def trainable_base(base: str) -> TrainableBase:
    """The family ``base`` names; anything else is refused (before any job) with the reason."""
    name = str(base).partition(":")[0].lower()
    if name in BASES:
        return BASES[name]
    raise FineTuneError(
        f"base model {base!r} cannot be fine-tuned: {NOT_TRAINABLE.get(name, 'no training path for it')}; "
        "supported: chgnet (chgnet.trainer.Trainer), sevennet (sevenn.train.trainer.Trainer)"
    )


def check_base(base: str) -> None:
    trainable_base(base)
