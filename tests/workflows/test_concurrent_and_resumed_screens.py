"""Reliability of the screen on one store (issue 14): two runs at once compute each phase once and write
no duplicate record; a run killed with SIGKILL and run again, and two fresh runs, give the same summary.

The smallest real screen: LiCl against Li (phases Cl2, Li, LiCl; 7 atoms in all), CHGNet, real
processes for what needs one (two commands at once, a SIGKILL), the rest in this process.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from paths import ROOT

from interchem.store import embedded_store

pytestmark = pytest.mark.integration

SCREEN = ["screen", "-e", "LiCl", "-a", "Li"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "INTERCHEM_CONFIG": str(tmp_path / "no-config.yaml"),
        "OMP_NUM_THREADS": "1",
        "INTERCHEM_MP_API_KEY": "",
        "MP_API_KEY": "",
    }


def _start(tmp_path: Path, store: Path, out: Path, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "interchem.cli", *SCREEN, "-s", str(store), "--create", "-o", str(out)]
    return subprocess.Popen(cmd, env=_env(tmp_path), stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=tmp_path)


def _records(store_path: Path) -> list[dict]:
    """Relaxation records actually computed (not reused) in the store."""
    store = embedded_store(store_path)
    store.connect()
    try:
        return list(
            store.docs_store.query(
                {"output.calc_key": {"$exists": True}, "output.reused": {"$ne": True}},
                properties=["name", "output.calc_key"],
            )
        )
    finally:
        store.close()


def _results(summary: dict) -> dict:
    """The summary without its "run" section (wall time, what this run took from the store)."""
    return {k: v for k, v in summary.items() if k != "run"}


def test_two_screens_at_once_relax_each_phase_once(tmp_path):
    store, out = tmp_path / "store", tmp_path / "out"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_start(tmp_path, store, out, log) for log in logs]
    try:
        codes = [p.wait(timeout=900) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    texts = [" ".join(log.read_text().split()) for log in logs]
    assert codes == [0, 0], texts
    keys = [r["output"]["calc_key"] for r in _records(store)]
    assert len(keys) == 3 and len(set(keys)) == 3, keys  # one record per cache key, no duplicate
    # each phase computed by one run and reused by the other (or by the later one, if they did not overlap)
    reused = [int(re.search(r"3 phases \((\d+) reused from the store\)", t).group(1)) for t in texts]
    assert sum(reused) == 3, texts
    summary = json.loads((out / "summary.json").read_text())  # written whole by one of them, not a mix
    assert {r["phase"] for r in summary["relaxations"]} == {"Cl2", "Li", "LiCl"}
    assert not list(out.glob(".*tmp*")), "temporary files of the atomic writes left behind"


def test_killed_and_rerun_screen_gives_the_summary_of_an_uninterrupted_one(tmp_path, monkeypatch):
    from interchem.reports.screen import write_report
    from interchem.runner import plan_screen, run_screen
    from interchem.settings import get_settings
    from interchem.workflows.claims import claim_offset
    from interchem.workflows.thermo import relax_key

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.delenv("INTERCHEM_MP_API_KEY", raising=False)

    # A screen in its own process, killed with SIGKILL midway: after two of its three phases are stored. To
    # kill it at that point and no later, this test holds the claim of the third phase (Cl2), as a second run
    # computing it would: the screen stores LiCl and Li, then waits for Cl2; then it is killed.
    killed_store, killed_out = tmp_path / "killed-store", tmp_path / "killed-out"
    settings = get_settings(store_path=killed_store, output_dir=killed_out)
    plan = plan_screen(["LiCl"], ["Li"], "chgnet", settings=settings)
    key = relax_key(plan.phases["Cl2"], plan.calculator, settings.relax_fmax, settings.relax_steps)
    killed_store.mkdir()
    fd = os.open(killed_store / "claims.lock", os.O_RDWR | os.O_CREAT)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, claim_offset(key), os.SEEK_SET)
    proc = _start(tmp_path, killed_store, killed_out, tmp_path / "killed.log")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if (killed_store / "interchem" / "jobs.collection").exists() and len(_records(killed_store)) == 2:
                break
            time.sleep(1.0)
        assert proc.poll() is None, (tmp_path / "killed.log").read_text()
        proc.kill()  # SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(fd)  # the claim of Cl2 given up, as by a run that ended
    assert sorted(r["name"] for r in _records(killed_store)) == ["relax or reuse Li", "relax or reuse LiCl"]

    def screen(store: Path, out: Path) -> dict:
        settings = get_settings(store_path=store, output_dir=out)
        plan = plan_screen(["LiCl"], ["Li"], "chgnet", settings=settings)
        write_report(run_screen(plan, settings=settings), out, wall_time_s=1.0)
        return json.loads((out / "summary.json").read_text())

    resumed = screen(killed_store, killed_out)  # the same command again, on the store the killed run left
    fresh = [screen(tmp_path / f"fresh{i}-store", tmp_path / f"fresh{i}-out") for i in (1, 2)]
    assert _results(fresh[0]) == _results(fresh[1])  # two fresh runs: identical
    assert _results(resumed) == _results(fresh[0])  # killed + rerun: identical to an uninterrupted run
    assert sorted(resumed["run"]["reused_from_store"]) == ["Li", "LiCl"] and not fresh[0]["run"]["reused_from_store"]
    assert len(_records(killed_store)) == 3  # the rerun computed only what the killed run had not stored
