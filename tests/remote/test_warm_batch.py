"""Batch allocations whose jobs run in forks of one warm process (``interchem.remote.warm_exec``), end to
end against the real services (mongoeco, single-node Slurm, jobflow-remote's runner): a screen submitted
to a ``--batch 2`` project completes with the local run's summary, every job ran in a fork of a server
that imported the heavy modules once per batch worker, and the server is gone once the batch process is.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from paths import TESTS
from typer.testing import CliRunner

from interchem.cli import app

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
PROJECT = "icwarm"


@pytest.fixture(scope="module")
def warm_remote(mongo_server, slurm_cluster, tmp_path_factory):
    from _pytest.monkeypatch import MonkeyPatch
    from test_remote_slurm import JF

    mp = MonkeyPatch()
    base = tmp_path_factory.mktemp("jfwarm")
    env_updates = {
        "INTERCHEM_CONFIG": str(base / "no-config.yaml"),
        "INTERCHEM_STORE_URI": mongo_server.uri(f"warm{os.getpid()}"),  # its own results: nothing reused
        "INTERCHEM_REMOTE_PROJECTS_FOLDER": str(base / "projects"),
        "INTERCHEM_REMOTE_PROJECT": PROJECT,
        "JFREMOTE_PROJECTS_FOLDER": str(base / "projects"),
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "OMP_NUM_THREADS": "1",
        "JF_BASE": str(base),
        "COLUMNS": "250",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    for k, v in env_updates.items():
        mp.setenv(k, v)
    runner = CliRunner()
    args = ["remote-project", "--name", PROJECT, "--runner-delay", "1", "--walltime", "00:10:00"]
    r = runner.invoke(app, [*args, "--partition", slurm_cluster.partition, "--batch", "2"])
    assert r.exit_code == 0, r.output
    from interchem.remote.project import use_projects_folder

    use_projects_folder()
    jf = JF({**os.environ}, PROJECT)
    jf.cli("admin", "reset", "-y")
    jf.cli("runner", "start", "--single")
    yield jf, runner, base
    jf.shutdown(base / "projects" / PROJECT / "daemon" / "supervisord.pid")
    servers_stopped(base)  # the last batch process idles 30 s before it stops, and its servers with it
    mp.undo()


def server_logs(base: Path) -> str:
    return "\n".join(p.read_text() for p in (base / "projects" / PROJECT).rglob("interchem_warm_exec.log"))


def servers_stopped(base: Path, timeout: float = 120) -> str:
    """Wait until every warm server that started has logged its stop; the logs."""
    end = time.monotonic() + timeout
    text = server_logs(base)
    while time.monotonic() < end and text.count("stopped (batch process") < text.count("listening at"):
        time.sleep(2)
        text = server_logs(base)
    return text


def test_batch_jobs_run_in_forks_of_a_warm_process(warm_remote, tiny_mace, tmp_path):
    import yaml

    from interchem.reports.screen import write_report
    from interchem.runner import plan_screen, run_screen
    from interchem.settings import get_settings

    jf, runner, base = warm_remote
    project = yaml.safe_load((base / "projects" / f"{PROJECT}.yaml").read_text())
    assert project["workers"]["slurm"]["execution_cmd"] == "python -m interchem.remote.warm_exec {}"
    args = ["screen", "-e", "Li2S", "-a", "none", "-c", f"mace:model={tiny_mace}", "--relax-steps", "8"]
    r = runner.invoke(app, ["submit", *args, "--name", "warm-screen"])
    assert r.exit_code == 0, r.output
    flow_uuid = re.search(r"submitted flow '[^']*' \(([0-9a-f-]{36})\)", r.output).group(1)
    infos = jf.wait(flow_uuid, lambda i: all(x.state.value == "COMPLETED" for x in i), timeout=400)
    assert len(infos) == 4  # Li, S, Li2S relaxations + the analysis

    # each job ran in a fork of a warm server (one per batch worker process), none in a fresh Python
    text = server_logs(base)
    assert len(re.findall(r"^job fork \d+$", text, re.M)) == len(infos), text
    assert 1 <= len(re.findall(r"listening at", text)) <= 2, text  # --batch 2: at most two batch workers

    # the same numbers as a local run
    r = runner.invoke(app, ["results", "--flow", "warm-screen", "--report", str(tmp_path / "remote")])
    assert r.exit_code == 0, r.output
    local = get_settings(store_uri="", store_path=tmp_path / "local-store", output_dir=tmp_path / "l", relax_steps=8)
    write_report(
        run_screen(plan_screen(["Li2S"], [], f"mace:model={tiny_mace}", settings=local), settings=local), tmp_path / "l"
    )

    def summary(path: Path) -> dict:
        data = json.loads((path / "summary.json").read_text())
        return {k: v for k, v in data.items() if k not in ("wall_time_s", "run")}

    assert summary(tmp_path / "remote") == summary(tmp_path / "l")

    # the batch process stops after 30 s without jobs; its warm servers follow it, leaving no socket
    text = servers_stopped(base)
    assert text.count("stopped (batch process") == text.count("listening at"), text
    sockets = re.findall(r"listening at (\S+)", text)
    assert sockets and not any(Path(p).exists() for p in sockets), sockets


def test_finetune_flow_submitted_from_a_spec_file(warm_remote, tiny_mace, tmp_path):
    """Issue 13, "runs here and on a cluster": the fine-tuning flow goes through `interchem submit` (a spec
    file naming FineTuneMaker) to Slurm, each label its own job, and the model it trains loads as a calculator.
    Labels come from the tiny MACE (distillation) so that the plumbing, not CP2K, sets the test's time; the
    CP2K-labelled miniature runs locally in tests/workflows/test_finetune.py."""
    import yaml

    from interchem.calculators import CalculatorSpec, check_calculator, evaluate_many
    from interchem.structures.library import resolve_phase

    jf, runner, base = warm_remote
    models = tmp_path / "models"
    spec = {
        "flow": "interchem.workflows.finetune_maker:FineTuneMaker",
        "name": "warm-finetune",
        "maker": {
            "label_calculator": f"mace:model={tiny_mace}",
            "sample_calculator": "chgnet",
            "model_dir": str(models),
            "settings": {
                "samples": 8,
                "temperatures_K": [300.0],
                "md_steps": 10,
                "md_sample_interval": 5,
                "strains": [-0.03, 0.03],
                "n_rattled": 2,
                "val_fraction": 0.25,
                "test_fraction": 0.25,
                "epochs": 1,
                "batch_size": 2,
            },
        },
        "make": {"phases": {"Si": {"phase": "Si"}, "Li": {"phase": "Li"}}},
    }
    path = tmp_path / "finetune.yaml"
    path.write_text(yaml.safe_dump(spec))
    r = runner.invoke(app, ["submit", str(path)])
    assert r.exit_code == 0, r.output
    flow_uuid = re.search(r"submitted flow '[^']*' \(([0-9a-f-]{36})\)", r.output).group(1)
    infos = jf.wait(flow_uuid, lambda i: all(x.state.value == "COMPLETED" for x in i), timeout=400)
    names = [i.name for i in infos]
    assert sum(n.startswith("label ") for n in names) == 8, names  # independent jobs: a cluster runs them side by side

    (model,) = models.glob("chgnet-finetuned-*.pth.tar")
    calc = CalculatorSpec(name="chgnet", settings={"model": str(model)})
    backend = check_calculator(calc, {"Si", "Li"})
    assert "fine-tuned on" in backend.level_of_theory(calc) and "MACE" in backend.level_of_theory(calc)
    (result,) = evaluate_many([resolve_phase("Si")[1]], calc)
    assert np.isfinite(result["energy"])
