"""FireWorks: an interchem flow converted to a FireWorks workflow, added to a LaunchPad on the MongoDB-
protocol server (mongoeco) and run by ``rlaunch``; results land in the same JobStore as every path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from services import MONGO_PASSWORD
from typer.testing import CliRunner

from interchem.cli import app

pytestmark = pytest.mark.integration


def test_flow_runs_with_rlaunch_against_mongodb(mongo_settings, tiny_mace, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    cfg = tmp_path / "fw"
    r = CliRunner().invoke(
        app,
        [
            "fireworks",
            "interchem.workflows.thermo:RelaxPhaseMaker",
            "-c",
            f"mace:model={tiny_mace}",
            "--maker-arg",
            "steps=3",
            "--make-arg",
            "structure={phase: Li}",
            "--make-arg",
            "phase=Li",
            "--write-config",
            str(cfg),
            "--name",
            "li-relax",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "FireWorks workflow 'li-relax': 1 fireworks, added" in r.output and MONGO_PASSWORD not in r.output
    from fireworks import LaunchPad

    lp = LaunchPad.from_file(str(cfg / "my_launchpad.yaml"))
    added = list(lp.fireworks.find({}, {"fw_id": 1, "name": 1}))
    assert [w["name"] for w in lp.workflows.find({}, {"name": 1})] == ["li-relax"]
    for fw in added:  # each fw id is printed with its name
        assert f"fw {fw['fw_id']}  {fw['name']}" in r.output, r.output
    assert [fw["name"] for fw in added] == ["relax or reuse Li"]
    assert oct((cfg / "my_launchpad.yaml").stat().st_mode & 0o777) == "0o600"
    qadapter = (cfg / "my_qadapter.yaml").read_text()
    assert "_fw_q_type: SLURM" in qadapter and "rlaunch -w" in qadapter
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the tiny MACE is trusted through INTERCHEM_TRUSTED_MODELS
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "rlaunch"),
            "-l",
            str(cfg / "my_launchpad.yaml"),
            "-w",
            str(cfg / "my_fworker.yaml"),
            "rapidfire",
            "--nlaunches",
            "infinite",
            "--sleep",
            "0",
            "--max_loops",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert MONGO_PASSWORD not in run.stdout + run.stderr

    states = {fw["name"]: fw["state"] for fw in lp.fireworks.find({}, {"name": 1, "state": 1})}
    assert states and all(s == "COMPLETED" for s in states.values()), states
    # one firework: relaxed and recorded in one job (no dynamic relax/record/store_inputs fireworks)
    assert list(states) == ["relax or reuse Li"], states

    from interchem.remote.results import query_results

    rows = query_results(mongo_settings, phase="Li", calculator="mace")  # the record, not atomate2's task doc
    assert len(rows) == 1 and rows[0].calculator.startswith("mace:") and rows[0].name == "relax or reuse Li"
    assert "energy_per_atom_eV" in rows[0].properties
