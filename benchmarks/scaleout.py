"""Scale-out costs: scheduling overhead per job through jobflow-remote + Slurm, and store throughput.

Starts its own services exactly as the integration tests do (tests/services.py): a MongoDB-protocol
server (mongoeco, SQLite engine, SCRAM auth) and a single-node Slurm (munged, slurmctld, slurmd).

* scheduling: a no-op jobflow job (``tests/remote_jobs.py:noop``, imports only jobflow) submitted with
  ``interchem.remote.submit.submit`` (preflight included, timed separately) to a jobflow-remote project
  whose runner (``jf runner start --single``) polls every ``--delay`` seconds; timed from the return of
  ``submit`` to the job's COMPLETED state in the queue database (polled every 0.2 s). ``--repeat`` single
  jobs one after another (median), then ``--batch`` independent no-op jobs submitted together
  (wall time / jobs: the per-job cost when jobs overlap).
* store throughput: ``--docs`` job-like documents (~1 KB output each) written one by one through the
  JobStore's ``docs_store.update`` (as jobs write them), then read back one by one (``query_one`` by
  uuid) and all at once (``query``), on (a) MongoDB through the mongoeco server and (b) the embedded
  store (MontyStore on SQLite). Rates in documents per second. mongoeco slows down with collection
  size (see ../shared/notes/environment.md beside the repository), so keep ``--docs`` a few hundred.

* screen (``--screen``): one screen (``--electrolyte``/``--anode``, default calculator CHGNet), measured in
  one run: (1) ``interchem screen`` locally on a fresh embedded store (a new process, as a user runs it);
  (2) ``interchem submit screen`` through jobflow-remote + Slurm on a fresh MongoDB database, from the
  command's start to the analysis COMPLETED, with the worker in batch mode (``--parallel`` jobs at a time
  in one allocation); (3) the identical resubmission (every relaxation resolved at submission: nothing
  is queued, the analysis runs in the submitting command), from the command's start to its end. Ratios:
  cluster / local (goal <= 1.5 on one node) and resubmission / first submission (goal <= 0.05); the
  three summaries are checked equal. Job counts per path are recorded.

    .venv/bin/python benchmarks/scaleout.py [--repeat 3] [--batch 4] [--delay 1] [--docs 300]
    .venv/bin/python benchmarks/scaleout.py --screen [--quick | --electrolyte Li2S --anode Si] [--parallel 2]

Writes benchmarks/results/scaleout.json (``--screen``: scaleout_screen.json). Timings on a shared 2-core
machine vary by +-30 %; compare numbers within one file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _record import write_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # services.py and remote_jobs.py (no package: never `tests.x`)


def store_throughput(n_docs: int, settings) -> dict:
    from interchem.store import make_job_store

    store = make_job_store(settings)
    store.connect()
    docs = [
        {
            "uuid": f"bench-{i}",
            "index": 1,
            "name": f"job {i}",
            "output": {"energy": float(i), "forces": [[0.1 * i] * 3] * 20, "note": "x" * 200},
            "metadata": {},
            "hosts": ["bench"],
        }
        for i in range(n_docs)
    ]
    t = time.perf_counter()
    for d in docs:
        store.docs_store.update(d, key=["uuid", "index"])
    write = time.perf_counter() - t
    t = time.perf_counter()
    for d in docs:
        assert store.docs_store.query_one({"uuid": d["uuid"]}) is not None
    read_one = time.perf_counter() - t
    t = time.perf_counter()
    n = len(list(store.docs_store.query({"hosts": "bench"})))
    read_all = time.perf_counter() - t
    store.close()
    assert n == n_docs
    return {
        "docs": n_docs,
        "write_docs_per_s": round(n_docs / write, 1),
        "read_one_by_one_docs_per_s": round(n_docs / read_one, 1),
        "read_bulk_docs_per_s": round(n_docs / read_all, 1),
    }


def _cli(env: dict, *args: str, cwd: Path) -> tuple[float, str]:
    """Run ``interchem ARGS`` as a user would (new process); (wall seconds, output)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "interchem.cli", *args], env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"interchem {' '.join(args)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0, r.stdout + r.stderr


def _until_completed(jc, flow_uuid: str, timeout: float = 7200) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        states = [d["state"] for d in jc.jobs.find({"job.hosts": flow_uuid}, {"state": 1})]
        if states and all(s == "COMPLETED" for s in states):
            return len(states)
        if any(s in ("FAILED", "REMOTE_ERROR") for s in states):
            raise RuntimeError(f"a job of {flow_uuid} failed: {states}")
        time.sleep(0.5)
    raise RuntimeError(f"{flow_uuid} not COMPLETED within {timeout} s")


def screen_scaleout(args, tmp: Path, env: dict, slurm) -> dict:  # long: three timed paths in sequence
    import json
    import re

    from jobflow_remote.config.manager import ConfigManager

    from interchem.remote.project import render_project, write_project
    from interchem.remote.resources import Resources
    from interchem.settings import get_settings

    if args.quick:  # the measure: the --quick screen (Li6PS5Cl against Si, LiSi, Li15Si4: 23 phases)
        screen = ["screen", "--quick"]
    else:
        screen = ["screen", *sum((["-e", e] for e in args.electrolyte), []), *sum((["-a", a] for a in args.anode), [])]
    screen += ["-c", args.calculator] + (["--relax-steps", str(args.steps)] if args.steps else [])
    run_env = {**os.environ, **env, "OMP_NUM_THREADS": "1"}
    local_env = {k: v for k, v in run_env.items() if k != "INTERCHEM_STORE_URI"}
    local_s, local_out = _cli(
        local_env, *screen, "-s", str(tmp / "local-store"), "--create", "-o", str(tmp / "local"), cwd=tmp
    )
    n_phases = int(re.search(r"(\d+) phases", local_out).group(1))

    settings = get_settings()
    data = render_project(
        settings, runner_delay=args.delay, resources=Resources(partition=slurm.partition), batch=args.parallel,
        warm=not args.cold,
    )
    write_project(data, settings)
    jf = [str(Path(sys.executable).parent / "jf"), "-p", "bench"]
    subprocess.run(
        [*jf, "admin", "reset", "-y"], check=True, capture_output=True, env=run_env, stdin=subprocess.DEVNULL
    )
    subprocess.run([*jf, "runner", "start", "--single"], check=True, capture_output=True, env=run_env)
    jc = ConfigManager().get_project("bench").get_job_controller()
    timings = {}
    try:
        for label in ("first", "again"):
            t0 = time.perf_counter()
            _, out = _cli(run_env, "submit", *screen, "--name", f"bench-{label}", cwd=tmp)
            submitted = re.search(r"submitted flow '[^']*' \(([0-9a-f-]{36})\)", out)
            if submitted:
                n_jobs = _until_completed(jc, submitted.group(1))
            else:  # everything was stored: the analysis ran in the submitting command, nothing was queued
                assert "nothing to submit" in out, out
                n_jobs = 0
            timings[label] = {"wall_s": round(time.perf_counter() - t0, 1), "jobs": n_jobs}
        _cli(run_env, "results", "--flow", "bench-first", "--report", str(tmp / "remote"), cwd=tmp)
        _cli(run_env, "results", "--flow", "bench-again", "--report", str(tmp / "remote-again"), cwd=tmp)
    finally:
        jc.close()
        subprocess.run([*jf, "runner", "shutdown"], capture_output=True, timeout=120, env=run_env)

    def summary(d: Path) -> dict:
        data = json.loads((d / "summary.json").read_text())
        data.pop("wall_time_s", None)
        data.pop("run", None)  # wall time and what the run took from the store
        return data

    return {
        "screen": " ".join(screen),
        "phases": n_phases,
        "parallel_jobs_per_allocation": args.parallel,
        "job_processes": "new Python per job" if args.cold else "forks of one warm process per batch worker",
        "local_s": round(local_s, 1),
        "cluster_first_s": timings["first"]["wall_s"],
        "cluster_first_jobs": timings["first"]["jobs"],
        "cluster_resubmission_s": timings["again"]["wall_s"],
        "cluster_resubmission_jobs": timings["again"]["jobs"],
        "summaries_equal": summary(tmp / "remote") == summary(tmp / "local") == summary(tmp / "remote-again"),
        "ratios": {
            "cluster_over_local": round(timings["first"]["wall_s"] / local_s, 2),
            "resubmission_over_first": round(timings["again"]["wall_s"] / timings["first"]["wall_s"], 3),
        },
        "goals": {"cluster_over_local": 1.5, "resubmission_over_first": 0.05},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--delay", type=float, default=1.0, help="runner delays (s)")
    p.add_argument("--docs", type=int, default=300)
    p.add_argument("--screen", action="store_true", help="time a screen: local vs cluster path vs resubmission")
    p.add_argument("--electrolyte", "-e", action="append", default=None)
    p.add_argument("--anode", "-a", action="append", default=None)
    p.add_argument("--quick", action="store_true", help="--screen: the --quick screen instead of -e/-a")
    p.add_argument("--calculator", "-c", default="chgnet")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--parallel", type=int, default=2, help="jobs at a time in one Slurm allocation (batch mode)")
    p.add_argument("--cold", action="store_true", help="batch jobs each start a new Python (no remote.warm_exec)")
    args = p.parse_args()
    args.electrolyte, args.anode = args.electrolyte or ["Li2S"], args.anode or ["Si"]

    from services import start_mongo, start_slurm

    tmp = Path(tempfile.mkdtemp(prefix="interchem-bench-"))
    mongo = start_mongo(tmp / "mongo")
    slurm = start_slurm(tmp / "slurm")
    env = {
        "INTERCHEM_CONFIG": str(tmp / "none.yaml"),
        "INTERCHEM_STORE_URI": mongo.uri("bench"),
        "INTERCHEM_REMOTE_PROJECTS_FOLDER": str(tmp / "projects"),
        "INTERCHEM_REMOTE_PROJECT": "bench",
        "INTERCHEM_STORE_PATH": str(tmp / "embedded"),
        "JFREMOTE_PROJECTS_FOLDER": str(tmp / "projects"),
        "SLURM_CONF": str(slurm.conf),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        # this checkout's interchem in the runner and the Slurm jobs too (not another installed copy)
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")]),
    }
    os.environ.update(env)
    jf = [str(Path(sys.executable).parent / "jf"), "-p", "bench"]
    record: dict = {"runner_delay_s": args.delay}
    if args.screen:
        try:
            record["screen_path"] = screen_scaleout(args, tmp, env, slurm)
        finally:
            slurm.stop()
            mongo.stop()
        import json

        print(json.dumps(record, indent=2))
        print(f"written {write_result('scaleout_screen', record)}")
        return
    try:
        from remote_jobs import noop

        from interchem.remote.project import render_project, write_project
        from interchem.remote.resources import Resources
        from interchem.remote.submit import submit
        from interchem.settings import get_settings

        settings = get_settings()
        write_project(
            render_project(settings, runner_delay=args.delay, resources=Resources(partition=slurm.partition)), settings
        )
        subprocess.run([*jf, "admin", "reset", "-y"], check=True, capture_output=True)
        subprocess.run([*jf, "runner", "start", "--single"], check=True, capture_output=True)
        from jobflow import Flow
        from jobflow_remote.config.manager import ConfigManager

        jc = ConfigManager().get_project("bench").get_job_controller()

        def run(n: int) -> tuple[float, float]:
            flow = Flow([noop(i) for i in range(n)])
            t0 = time.perf_counter()
            sub = submit(flow, "noop", settings=settings, reuse=False)
            t1 = time.perf_counter()
            while True:
                states = [d["state"] for d in jc.jobs.find({"job.hosts": sub.flow_uuid}, {"state": 1})]
                if states and all(s == "COMPLETED" for s in states):
                    return t1 - t0, time.perf_counter() - t1
                if any(s in ("FAILED", "REMOTE_ERROR") for s in states):
                    raise RuntimeError(f"no-op job failed: {states}")
                time.sleep(0.2)

        singles = [run(1) for _ in range(args.repeat)]
        batch_submit, batch_wall = run(args.batch)
        record["scheduling"] = {
            "submit_call_s_median": round(statistics.median(s for s, _ in singles), 2),
            "submit_to_completed_s": [round(w, 2) for _, w in singles],
            "submit_to_completed_s_median": round(statistics.median(w for _, w in singles), 2),
            "batch_jobs": args.batch,
            "batch_wall_s": round(batch_wall, 2),
            "batch_s_per_job": round(batch_wall / args.batch, 2),
        }
        jc.close()
        subprocess.run([*jf, "runner", "shutdown"], capture_output=True, timeout=60)
        record["store_throughput"] = {
            "mongodb_via_mongoeco": store_throughput(args.docs, get_settings(store_uri=mongo.uri("throughput"))),
            "embedded_montystore": store_throughput(
                args.docs, get_settings(store_uri=None, store_path=tmp / "embedded")
            ),
        }
    finally:
        slurm.stop()
        mongo.stop()
    m, e = record["store_throughput"]["mongodb_via_mongoeco"], record["store_throughput"]["embedded_montystore"]
    record["ratios"] = {
        "embedded_over_mongoeco_write": round(e["write_docs_per_s"] / m["write_docs_per_s"], 2),
        "embedded_over_mongoeco_read_one": round(e["read_one_by_one_docs_per_s"] / m["read_one_by_one_docs_per_s"], 2),
    }
    path = write_result("scaleout", record)
    import json

    print(json.dumps(record, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
