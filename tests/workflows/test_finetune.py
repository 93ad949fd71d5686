"""Fine-tuning end to end in miniature: CHGNet MD samples of Si8 and Li2, real CP2K labels (SZV, 200 Ry,
2x2x2 k-points: the fast settings of tests/calculators/test_cp2k.py), two epochs of chgnet's real trainer,
then the fine-tuned file as a registry calculator; then SevenNet-0 fine-tuned on the same (stored, reused)
labels with two epochs of sevenn's real trainer. Plus the errors raised before any job.

The flow test needs ``cp2k_shell`` (skips without it unless ``INTERCHEM_REQUIRE_CP2K=1``); ~1.5 min on 2 cores.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np
import pytest

from interchem.calculators import CalculatorSpec, check_calculator, evaluate_many, get_backend
from interchem.errors import CalculatorSettingsError, FineTuneError, UnsupportedElementsError

CP2K = "cp2k:basis=SZV-MOLOPT-SR-GTH,cutoff=200,rel_cutoff=40,kpoints=2x2x2,omp_threads=1"
TINY = {
    "samples": 8,
    "temperatures_K": [300.0, 1200.0],
    "md_steps": 20,
    "md_sample_interval": 5,
    "strains": [-0.03, 0.03],
    "n_rattled": 2,
    "val_fraction": 0.25,
    "test_fraction": 0.25,
    "epochs": 2,
    "batch_size": 2,
}

needs_cp2k = pytest.mark.skipif(
    shutil.which("cp2k_shell") is None and os.environ.get("INTERCHEM_REQUIRE_CP2K") != "1",
    reason="cp2k_shell not on PATH (Debian/Ubuntu: apt-get install cp2k cp2k-data)",
)


def _phases():
    from interchem.structures.library import resolve_phase

    return dict(resolve_phase(p, primitive=p == "Si") for p in ("Si", "Li"))  # Si2 and Li2 (BCC cell)


def _maker(tmp_path, base="chgnet", **settings):
    from interchem.workflows.finetune import FineTuneSettings
    from interchem.workflows.finetune_maker import FineTuneMaker

    return FineTuneMaker(
        label_calculator=CP2K,
        base=base,
        settings=FineTuneSettings(**{**TINY, **settings}),
        model_dir=str(tmp_path / "models"),
    )


@pytest.mark.integration
@needs_cp2k
def test_finetune_flow_in_miniature(tmp_path, isolated_settings):
    from interchem.runner import run_flow
    from interchem.workflows.finetune import FineTuneResult
    from interchem.workflows.thermo import RelaxedPhase, RelaxPhaseMaker

    phases = _phases()
    flow = _maker(tmp_path).make(phases)
    assert sum(j.name.startswith("label ") for j in flow.jobs) == 8  # one job per label
    result = FineTuneResult.model_validate(run_flow(flow, isolated_settings))

    assert result.n_labels == 8 and result.split_sizes == {"train": 4, "val": 2, "test": 2}
    assert result.epochs_run == 2 and len(result.val_loss_per_epoch) == 2
    # The real trainer learned something: the validation loss (energy + force + 0.1 stress MAE) fell.
    assert min(result.val_loss_per_epoch) < result.val_loss_before
    m = result.test_metrics
    # The raw base model sits ~100 eV/atom off CP2K's absolute scale; refitted references remove that.
    assert m["base"]["energy_mae_eV_per_atom"] > 10 and m["base_refit"]["energy_mae_eV_per_atom"] < 1
    assert m["finetuned"]["energy_mae_eV_per_atom"] < 1 and m["finetuned"]["force_mae_eV_per_A"] < 2

    # The result is a calculator: it says what it was trained on and is on the labels' energy scale.
    spec = CalculatorSpec.parse(result.calculator)
    backend = check_calculator(spec, {"Si", "Li"})
    assert "fine-tuned on CP2K PBE" in backend.level_of_theory(spec) and "6 structures" in backend.level_of_theory(spec)
    assert backend.energy_convention(spec) == "none"
    with pytest.raises(UnsupportedElementsError):  # references were refitted for Li and Si only
        check_calculator(spec, {"O"})
    si = phases["Si"]
    e_ft = evaluate_many([si], spec)[0]["energy_per_atom"]
    e_base = evaluate_many([si], "chgnet")[0]["energy_per_atom"]
    e_cp2k = evaluate_many([si], CP2K)[0]["energy_per_atom"]
    assert abs(e_ft - e_base) > 10 and abs(e_ft - e_cp2k) < 0.5
    relaxed = RelaxedPhase.model_validate(
        run_flow(RelaxPhaseMaker(calculator=spec, steps=20).make(si, "Si"), isolated_settings)
    )
    assert relaxed.level_of_theory == backend.level_of_theory(spec) and relaxed.energy_per_atom_eV < -100

    # A second run reuses every label and the trained model (same keys: the active-learning settings do not
    # enter them), then one active-learning round labels the 2 pool configurations where base and fine-tuned
    # forces differ most and retrains, and stops at "max rounds". The force target is not judged: the 2 test
    # labels of this split (bcc Li2, an isotropic strain of it) have zero forces, which every model meets.
    active = {"active_rounds": 1, "active_k": 2, "force_mae_target_eV_per_A": 0.01}
    again = FineTuneResult.model_validate(run_flow(_maker(tmp_path, **active).make(phases), isolated_settings))
    assert again.labels_reused == 8 and again.rounds[0]["model_path"] == result.model_path
    check_active_round(result, again, isolated_settings)

    if importlib.util.find_spec("sevenn") is None:
        pytest.skip("CHGNet part passed; the SevenNet part needs the optional extra interchem[sevennet]")
    check_sevennet_on_the_same_labels(tmp_path, phases, result, isolated_settings)


def check_sevennet_on_the_same_labels(tmp_path, phases, chgnet_result, settings):
    """``base="sevennet"``: the same 8 CP2K labels come from the store, sevenn's trainer runs 2 epochs and the
    checkpoint is a calculator on CP2K's scale, loaded with torch's safe weights-only loading."""
    import torch

    from interchem.runner import run_flow
    from interchem.workflows.finetune import FineTuneResult

    result = FineTuneResult.model_validate(run_flow(_maker(tmp_path, base="sevennet").make(phases), settings))
    assert result.labels_reused == 8 and result.split_sizes == chgnet_result.split_sizes
    assert result.epochs_run == 2 and len(result.val_loss_per_epoch) == 2
    assert min(result.val_loss_per_epoch) < result.val_loss_before  # sevenn's trainer learned something
    m = result.test_metrics
    assert m["base"]["energy_mae_eV_per_atom"] > 10 and m["base_refit"]["energy_mae_eV_per_atom"] < 1  # shifts
    assert m["finetuned"]["energy_mae_eV_per_atom"] < 1 and m["finetuned"]["force_mae_eV_per_A"] < 2
    assert result.calculator.startswith("sevennet:model=") and result.model_path.endswith(".pth")
    assert result.model_path != chgnet_result.model_path
    checkpoint = torch.load(result.model_path, map_location="cpu", weights_only=True)  # no pickled objects
    assert {"model_state_dict", "config"} <= set(checkpoint)

    spec = CalculatorSpec.parse(result.calculator)
    backend = check_calculator(spec, {"Si", "Li"})
    level = backend.level_of_theory(spec)
    assert level.startswith("SevenNet 7net-0 fine-tuned on CP2K PBE") and "6 structures" in level
    assert backend.energy_convention(spec) == "none"  # never mixed with MP2020 entries
    assert spec.key() != CalculatorSpec.parse("sevennet").key()
    with pytest.raises(UnsupportedElementsError):  # shifts were refitted for Li and Si only
        check_calculator(spec, {"O"})
    si = phases["Si"]
    e_ft = evaluate_many([si], spec)[0]["energy_per_atom"]
    e_base = evaluate_many([si], "sevennet")[0]["energy_per_atom"]
    e_cp2k = evaluate_many([si], CP2K)[0]["energy_per_atom"]
    assert abs(e_ft - e_base) > 10 and abs(e_ft - e_cp2k) < 0.5


def check_active_round(first, again, settings):
    """The round's additions are the top-2 of the pool by max per-atom |F_fine-tuned - F_base|, recomputed
    here with chgnet directly; the label count grew by 2; the test part (and so the base errors) stayed."""
    from chgnet.model import CHGNet

    from interchem.store import make_job_store
    from interchem.workflows.finetune import Candidate

    assert [r["n_labels"] for r in again.rounds] == [8, 10] and again.n_labels == 10
    assert again.stop_reason.startswith("max rounds: 1 active round(s) done (force target not judged")
    assert again.split_sizes == {"train": 6, "val": 2, "test": 2}
    assert again.test_metrics["base"] == first.test_metrics["base"]  # same held-out labels
    assert again.model_path != first.model_path
    assert again.rounds[1]["test_force_mae_eV_per_A"] == again.test_metrics["finetuned"]["force_mae_eV_per_A"]
    store = make_job_store(settings)
    store.connect()
    doc = store.query_one({"name": "candidate pool"}, load=True)
    pool = [Candidate.model_validate(c) for c in doc["output"]]
    structures = [c.structure for c in pool]
    base, tuned = CHGNet.load(verbose=False, use_device="cpu"), CHGNet.from_file(first.model_path, verbose=False)
    fb = base.predict_structure(structures, task="ef")
    ft = tuned.predict_structure(structures, task="ef")
    d = [float(np.linalg.norm(a["f"] - b["f"], axis=1).max()) for a, b in zip(fb, ft)]
    order = sorted(range(len(pool)), key=lambda i: -d[i])
    added = again.rounds[1]["added"]
    assert len(pool) > 2 and again.rounds[1]["pool_left"] == len(pool) - 2
    assert [(a["phase"], a["origin"]) for a in added] == [(pool[i].phase, pool[i].origin) for i in order[:2]]
    assert [a["disagreement_eV_per_A"] for a in added] == pytest.approx([d[i] for i in order[:2]], rel=1e-4)
    assert d[order[1]] > d[order[2]]  # the choice was not a tie


def test_model_file_key_follows_the_file(tmp_path):
    """A different model file at the same path is a different calculator (its hash enters the key)."""
    import torch
    from chgnet.model import CHGNet

    path = tmp_path / "m.pth.tar"
    model = CHGNet.load(verbose=False, use_device="cpu")
    torch.save({"model": model.as_dict()}, path)
    spec = CalculatorSpec.parse(f"chgnet:model={path}")
    check_calculator(spec)
    key1 = spec.key()
    assert key1 != CalculatorSpec.parse("chgnet").key()
    assert get_backend(spec).energy_convention(spec) == "none"  # no record: unknown scale, never MP2020
    assert "no training record" in get_backend(spec).level_of_theory(spec)
    with torch.no_grad():
        model.composition_model.fc.weight += 1.0
    torch.save({"model": model.as_dict()}, path)
    assert spec.key() != key1
    e = evaluate_many([_phases()["Si"]], spec)[0]["energy_per_atom"]
    assert np.isfinite(e)


def test_errors_before_any_job(tmp_path):
    from pymatgen.core import Lattice, Structure

    from interchem.workflows.finetune_maker import FineTuneMaker

    phases = _phases()
    with pytest.raises(FineTuneError, match="too few"):
        _maker(tmp_path, samples=3).make(phases)
    with pytest.raises(FineTuneError, match="mace.*not wired"):
        FineTuneMaker(label_calculator=CP2K, base="mace")
    with pytest.raises(FineTuneError, match="emt"):
        FineTuneMaker(label_calculator=CP2K, base="emt")
    garbage = tmp_path / "broken.pth.tar"
    garbage.write_bytes(b"not a model")
    with pytest.raises(CalculatorSettingsError, match="could not be loaded"):
        FineTuneMaker(label_calculator=CP2K, base_model=str(garbage))
    with pytest.raises(CalculatorSettingsError, match="could not be loaded"):
        check_calculator(CalculatorSpec.parse(f"chgnet:model={garbage}"))
    with pytest.raises(CalculatorSettingsError, match="neither"):
        check_calculator(CalculatorSpec.parse(f"chgnet:model={tmp_path / 'missing.pth.tar'}"))
    if shutil.which("cp2k_shell"):
        usi = Structure(Lattice.cubic(3.5), ["U", "Si"], [[0, 0, 0], [0.5, 0.5, 0.5]])
        with pytest.raises(UnsupportedElementsError, match="cp2k.*U"):
            _maker(tmp_path).make({"USi": usi})
    with pytest.raises(FineTuneError, match="at most"):
        _maker(tmp_path, samples=60).make(phases)


def test_sevennet_errors_before_any_job(tmp_path):
    """SevenNet base: too few labels, a file that is not a checkpoint, a checkpoint of the wrong family."""
    pytest.importorskip("sevenn", reason="SevenNet is the optional extra interchem[sevennet]")
    from interchem.workflows.finetune_maker import FineTuneMaker

    maker = _maker(tmp_path, base="sevennet", samples=3)
    assert maker.base_model == "7net-0"  # the family's default weights
    with pytest.raises(FineTuneError, match="too few"):
        maker.make(_phases())
    garbage = tmp_path / "broken.pth"
    garbage.write_bytes(b"not a model")
    with pytest.raises(CalculatorSettingsError, match="could not be loaded"):
        FineTuneMaker(label_calculator=CP2K, base="sevennet", base_model=str(garbage))
    with pytest.raises(CalculatorSettingsError, match="neither"):
        check_calculator(CalculatorSpec.parse(f"sevennet:model={tmp_path / 'missing.pth'}"))


def test_sevennet_checkpoint_file_is_loaded_safely_and_keyed(tmp_path):
    """``sevennet:model=PATH``: a checkpoint written by interchem loads weights-only, its hash is in the key;
    one from sevenn's own CLI (numpy arrays in its config) is refused unless marked trusted."""
    pytest.importorskip("sevenn", reason="SevenNet is the optional extra interchem[sevennet]")
    import copy

    import torch

    from interchem.calculators.sevennet_train import load_sevennet, save_model, wheel_checkpoint

    path = tmp_path / "m.pth"
    model = copy.deepcopy(load_sevennet("7net-0"))
    save_model(model, path, {"note": "no level of theory"})
    path.with_name("m.pth.json").unlink()  # a file without a training record: unknown scale
    spec = CalculatorSpec.parse(f"sevennet:model={path}")
    check_calculator(spec, {"Si", "Li"})
    key1 = spec.key()
    assert key1 != CalculatorSpec.parse("sevennet").key()
    assert get_backend(spec).energy_convention(spec) == "none"  # never MP2020
    assert "no training record" in get_backend(spec).level_of_theory(spec)
    si = _phases()["Si"]
    e_file = evaluate_many([si], spec)[0]["energy_per_atom"]
    assert e_file == pytest.approx(evaluate_many([si], "sevennet")[0]["energy_per_atom"], abs=1e-5)
    with torch.no_grad():
        model.module.rescale_atomic_energy.shift += 1.0
    save_model(model, path, {})
    assert spec.key() != key1

    cli = tmp_path / "sevenn_cli.pth"
    shutil.copy(wheel_checkpoint("7net-0"), cli)  # what sevenn's CLI writes: numpy arrays in the config
    with pytest.raises(CalculatorSettingsError, match="trusted=true"):
        check_calculator(CalculatorSpec.parse(f"sevennet:model={cli}"))
    check_calculator(CalculatorSpec.parse(f"sevennet:model={cli},trusted=true"), {"Si"})


def test_cli_errors_are_one_line(tmp_path, isolated_settings):
    from typer.testing import CliRunner

    from interchem.cli import app

    runner = CliRunner()
    common = ["-c", "emt", "-s", str(tmp_path / "store"), "--create", "-o", str(tmp_path / "out")]
    res = runner.invoke(app, ["finetune", "Si", *common, "--base", "mace"])
    assert res.exit_code == 3 and "cannot be fine-tuned" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["finetune", "Si", *common, "--samples", "2"])
    assert res.exit_code == 3 and "too few" in res.stderr
    res = runner.invoke(app, ["finetune", "Si", *common, "--base", "chgnet", "--base-model", "7net-0"])
    assert res.exit_code == 3 and "7net-0" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["finetune", "Si", *common])  # EMT cannot label Si: before any job
    assert res.exit_code == 3 and "cannot treat element(s) Si" in res.stderr
    assert not (tmp_path / "store").exists()


def test_validation_recipe_barrier_arithmetic():
    import importlib.util

    from paths import VALIDATION

    spec = importlib.util.spec_from_file_location("finetune_li_si", VALIDATION / "finetune_li_si.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    assert recipe.barrier([0.0, 0.3, 0.5, 0.2, 0.1]) == pytest.approx(0.5)  # from the lower endpoint
    assert recipe.barrier([0.2, 0.5, 0.0]) == pytest.approx(0.5)
    assert "cutoff=400" in recipe.cp2k_spec(recipe.MODES["full"], "2x2x2")


def test_cli_table_shows_before_and_after(capsys):
    from interchem.cli.finetune import print_table
    from interchem.workflows.finetune import FineTuneResult

    metric = {"energy_mae_eV_per_atom": 0.05, "force_mae_eV_per_A": 0.2, "stress_mae_GPa": None, "n": 2}
    result = FineTuneResult(
        model_path="/m.pth.tar",
        calculator="chgnet:model=/m.pth.tar",
        level_of_theory="CHGNet 0.3.0 fine-tuned on CP2K PBE, 6 structures",
        n_labels=8,
        split_sizes={"train": 4, "val": 2, "test": 2},
        test_metrics={"base": {**metric, "energy_mae_eV_per_atom": 201.0}, "base_refit": metric, "finetuned": metric},
        val_loss_before=0.67,
        val_loss_per_epoch=[0.61, 0.57],
        epochs_run=2,
        seconds_per_epoch=1.0,
        label_level_of_theory="CP2K PBE",
        labels_reused=0,
    )
    print_table(result)
    text = capsys.readouterr().out
    assert "201000.0" in text and "references refitted" in text and "fine-tuned" in text
    assert "0.6700 -> 0.5700" in text and "-c chgnet:model=/m.pth.tar" in text


def test_sampling_is_diverse_deterministic_and_keeps_paths():
    from interchem.analysis.fingerprints import farthest_point_sampling, fingerprints, unique_indices
    from interchem.workflows.finetune import FineTuneSettings, sample_configurations

    si = _phases()["Si"]
    # The descriptor: a supercell of one crystal is the same point; 2 % strain moves it.
    strained = si.copy()
    strained.apply_strain(0.02)
    x = fingerprints([si, si * (2, 1, 1), strained])
    assert np.allclose(x[0], x[1]) and np.linalg.norm(x[2] - x[0]) > 0.01 * np.linalg.norm(x[0])
    assert unique_indices(x) == [0, 2]
    assert farthest_point_sampling(np.array([[0.0], [0.1], [1.0], [0.5]]), 2, always=[0]) == [0, 2]

    path = []
    for t in np.linspace(0, 1, 5):  # a Li atom moving through the cell: its own chemistry in the pool
        s = si.copy()
        s.append("Li", [0.25 + 0.25 * t, 0.25, 0.25])
        path.append(s)
    settings = FineTuneSettings(samples=8, strains=[0.03], n_rattled=2, temperatures_K=[300.0])
    run = sample_configurations.original  # the job's function, no MD results needed here
    picked = run({"Si": si}, {}, {"Si": [path]}, settings)
    assert len(picked) == 8 and picked[0].origin == "crystal"
    assert sum(c.origin.startswith("path 0") for c in picked) == 5  # path images are always kept
    assert [c.origin for c in run({"Si": si}, {}, {"Si": [path]}, settings)] == [c.origin for c in picked]
    with pytest.raises(FineTuneError, match="distinct configurations"):
        run({"Si": si}, {}, {}, FineTuneSettings(samples=8, strains=[], n_rattled=0, temperatures_K=[300.0]))
