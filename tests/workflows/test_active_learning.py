"""Active learning after a fine-tune: the parts that need no DFT (settings, keys, ranking, stop rule, errors,
CLI). The loop itself runs with real CP2K labels and real training in ``test_finetune_flow_in_miniature``."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from interchem.errors import FineTuneError


def _result(force: float, **extra):
    from interchem.workflows.finetune import FineTuneResult

    metric = {"energy_mae_eV_per_atom": 0.05, "force_mae_eV_per_A": force, "stress_mae_GPa": None, "n": 2}
    return FineTuneResult(
        model_path="/m2.pth.tar",
        calculator="chgnet:model=/m2.pth.tar",
        level_of_theory="CHGNet 0.3.0 fine-tuned on CP2K PBE, 8 structures",
        n_labels=10,
        split_sizes={"train": 6, "val": 2, "test": 2},
        test_metrics={"base": metric, "base_refit": metric, "finetuned": metric},
        val_loss_before=0.67,
        val_loss_per_epoch=[0.61, 0.57],
        epochs_run=2,
        seconds_per_epoch=1.0,
        label_level_of_theory="CP2K PBE",
        labels_reused=8,
        **extra,
    )


def test_settings_and_keys():
    from interchem.workflows.finetune import FineTuneSettings, train_key

    with pytest.raises(ValidationError, match="set active_rounds >= 1"):
        FineTuneSettings(force_mae_target_eV_per_A=0.1)
    with pytest.raises(ValidationError):
        FineTuneSettings(active_rounds=1, active_k=0)
    off, on = FineTuneSettings(), FineTuneSettings(active_rounds=3, active_k=2, force_mae_target_eV_per_A=0.05)
    # Loop control never enters the train key: a fine-tune stored before active learning is reused by it.
    assert train_key([], off, "0.3.0") == train_key([], on, "0.3.0")
    assert train_key([], off, "0.3.0") != train_key([], FineTuneSettings(epochs=3), "0.3.0")
    split = {"train": ["a", "b"], "val": ["c"], "test": ["d"]}
    assert train_key([], on, "0.3.0", split) != train_key([], on, "0.3.0")  # a round's own split is its key
    assert train_key([], on, "0.3.0", split) == train_key([], on, "0.3.0", {**split, "train": ["b", "a"]})


def test_ranking_and_stop_rule():
    from interchem.workflows.active_learning import force_disagreement, most_disagreeing, stop_reason
    from interchem.workflows.finetune import FineTuneSettings

    assert most_disagreeing(np.array([0.1, 0.5, 0.5, 0.2]), 2) == [1, 2]  # a tie: the earlier first
    assert most_disagreeing(np.array([0.3, 0.1]), 5) == [0, 1]
    s = FineTuneSettings(active_rounds=2, force_mae_target_eV_per_A=0.1)
    assert stop_reason(_result(0.08), s, 0, 10).startswith("target reached: test force MAE 0.0800 <= 0.1")
    assert stop_reason(_result(0.2), s, 1, 10) == ""
    assert (
        stop_reason(_result(0.2), s, 2, 10)
        == "max rounds: 2 active round(s) done (test force MAE 0.2000 > target 0.1 eV/A)"
    )
    assert stop_reason(_result(0.2), s, 1, 0).startswith("pool exhausted")
    assert stop_reason(_result(0.2), FineTuneSettings(active_rounds=1), 1, 3) == "max rounds: 1 active round(s) done"
    unjudged = stop_reason(_result(0.0), s, 2, 10, test_has_forces=False)  # zero test forces meet any target
    assert unjudged.startswith("max rounds") and "force target not judged" in unjudged
    assert stop_reason(_result(0.0), s, 1, 10, test_has_forces=False) == ""

    from interchem.structures.library import resolve_phase

    si = resolve_phase("Si", primitive=True)[1]
    rattled = si.copy()
    rattled.translate_sites([0], [0.1, 0.0, 0.05], frac_coords=False)
    assert np.allclose(force_disagreement("0.3.0", "0.3.0", [si, rattled]), 0.0)
    d = force_disagreement("0.3.0", "0.2.0", [rattled])  # two different models do differ
    assert d.shape == (1,) and d[0] > 1e-3


def test_errors_before_any_job(tmp_path):
    from interchem.structures.library import resolve_phase
    from interchem.workflows.finetune import FineTuneSettings
    from interchem.workflows.finetune_maker import FineTuneMaker

    si = dict([resolve_phase("Si", primitive=True)])
    tight = {"samples": 5, "strains": [], "n_rattled": 0, "temperatures_K": [300.0], "md_steps": 20}
    tight["md_sample_interval"] = 5  # 1 crystal + 4 MD frames: all 5 labelled, nothing left to rank
    maker = FineTuneMaker(label_calculator="chgnet", settings=FineTuneSettings(**tight), model_dir=str(tmp_path))
    assert maker.make(si).name == "fine-tune"  # fine without active learning
    maker.settings = FineTuneSettings(**tight, active_rounds=1)
    with pytest.raises(FineTuneError, match="active learning needs unlabelled candidates"):
        maker.make(si)


def test_cli_rounds_table_and_one_line_error(tmp_path, capsys, isolated_settings):
    from typer.testing import CliRunner

    from interchem.cli import app
    from interchem.cli.finetune import print_table

    rounds = [
        {"round": 0, "n_labels": 8, "added": [], "pool_left": 22, "test_force_mae_eV_per_A": 0.31,
         "test_energy_mae_eV_per_atom": 0.06, "model_path": "/m1.pth.tar"},
        {"round": 1, "n_labels": 10, "pool_left": 20, "test_force_mae_eV_per_A": 0.2,
         "test_energy_mae_eV_per_atom": 0.05, "model_path": "/m2.pth.tar",
         "added": [{"id": "0008 Si md 1200 K step 15", "phase": "Si", "origin": "md 1200 K step 15",
                    "disagreement_eV_per_A": 0.734}]},
    ]  # fmt: skip
    print_table(_result(0.2, rounds=rounds, stop_reason="max rounds: 1 active round(s) done"))
    text = capsys.readouterr().out
    assert "+ 0008 Si md 1200 K step 15 (max |dF| 0.734 eV/A)" in text and "stopped: max rounds" in text
    assert "0.3100" in text and "0.2000" in text

    res = CliRunner().invoke(
        app, ["finetune", "Si", "-c", "emt", "-s", str(tmp_path / "s"), "--create", "--force-target", "0.1"]
    )
    assert res.exit_code == 3 and "give --active-rounds" in res.stderr and "Traceback" not in res.output
