"""Scale-out end to end against real components started here: a MongoDB-protocol server (mongoeco),
a single-node Slurm (slurmctld + slurmd + munged) and jobflow-remote's runner started as users start
it (``jf runner start``, supervisord from the venv on PATH, 1 s delays).

A small screen (tiny random MACE) is submitted with ``interchem submit``, its jobs pass through sbatch
and complete, and ``interchem results`` reads them back from MongoDB. Recovery: a failing job, a job
killed with scancel, a killed runner, reuse across flows; bad input is refused before submission.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from paths import TESTS
from services import MONGO_PASSWORD, guard
from typer.testing import CliRunner

from interchem.cli import app

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
PROJECT = "ictest"


class JF:
    """The jobflow-remote project of this module: ``jf`` CLI calls with the test environment."""

    def __init__(self, env: dict[str, str], project: str):
        self.env, self.project = env, project

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        r = subprocess.run(
            [str(VENV_BIN / "jf"), "-p", self.project, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,  # as in a script or batch job: a command that prompts fails
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"jf {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def shutdown(self, pid_file: Path, timeout: float = 90) -> None:
        """``jf runner shutdown``, then wait until its supervisord has exited: the command returns while
        supervisord still stops its processes, which takes longer on a loaded machine."""
        pid = int(pid_file.read_text().strip()) if pid_file.exists() else None
        self.cli("runner", "shutdown", check=False, timeout=timeout)
        end = time.monotonic() + timeout
        while pid and time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)

    def controller(self):
        from jobflow_remote.config.manager import ConfigManager

        return ConfigManager().get_project(self.project).get_job_controller()

    def jobs(self, flow_uuid: str | None = None) -> list:
        jc = self.controller()
        try:
            return jc.get_jobs_info(flow_ids=[flow_uuid] if flow_uuid else None)
        finally:
            jc.close()

    def wait(self, flow_uuid: str, done, timeout: float = 240, what: str = "jobs") -> list:
        end = time.monotonic() + timeout
        infos = []
        while time.monotonic() < end:
            infos = self.jobs(flow_uuid)
            if infos and done(infos):
                return infos
            bad = [i for i in infos if i.state.value in ("FAILED", "REMOTE_ERROR")]
            if bad and not done(bad):  # a failure nobody waits for: stop now, with its message
                raise AssertionError(f"{what}: {bad[0].name} is {bad[0].state.value}: {getattr(bad[0], 'error', '')}")
            time.sleep(1)
        states = {i.name: i.state.value for i in infos}
        log = "\n".join(p.read_text()[-3000:] for p in Path(self.env["JF_BASE"]).rglob("runner*.log"))
        raise AssertionError(f"{what} not reached within {timeout} s: {states}\n{log}")

    def runner_pids(self) -> list[int]:
        from jobflow_remote.config.manager import ConfigManager
        from jobflow_remote.jobs.daemon import DaemonManager

        dm = DaemonManager.from_project(ConfigManager().get_project(self.project))
        info = dm.get_processes_info() or {}
        return [p["pid"] for p in info.values() if p.get("pid") and p.get("statename") == "RUNNING"]


def _all(state: str):
    return lambda infos: all(i.state.value == state for i in infos)


@pytest.fixture(scope="module")
def remote(mongo_server, slurm_cluster, tmp_path_factory, tiny_mace):
    """Project + env (URI in the environment only) + the runner daemon, for this module."""
    from _pytest.monkeypatch import MonkeyPatch

    mp = MonkeyPatch()
    base = tmp_path_factory.mktemp("jfremote")
    database = f"remote{os.getpid()}"
    env_updates = {
        "INTERCHEM_CONFIG": str(base / "no-config.yaml"),
        "INTERCHEM_STORE_URI": mongo_server.uri(database),
        "INTERCHEM_REMOTE_PROJECTS_FOLDER": str(base / "projects"),
        "INTERCHEM_REMOTE_PROJECT": PROJECT,
        "JFREMOTE_PROJECTS_FOLDER": str(base / "projects"),
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",  # supervisord and jf from the venv, as after `source activate`
        "OMP_NUM_THREADS": "1",
        "JF_BASE": str(base),
        "COLUMNS": "250",
        "INTERCHEM_CHECKPOINT_DIR": str(
            base / "checkpoints"
        ),  # MD checkpoints (runner env -> Slurm jobs)  # rich: no line wrapping in CLI output the tests read
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    for k, v in env_updates.items():
        mp.setenv(k, v)
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "remote-project",
            "--name",
            PROJECT,
            "--runner-delay",
            "1",
            "--walltime",
            "00:10:00",
            "--partition",
            slurm_cluster.partition,
        ],
    )
    assert r.exit_code == 0, r.output
    project_text = (base / "projects" / f"{PROJECT}.yaml").read_text()
    assert MONGO_PASSWORD not in project_text  # the project file holds no credentials
    from interchem.remote.project import use_projects_folder

    use_projects_folder()  # this process's jobflow-remote settings too (JF.controller)
    jf = JF({**os.environ}, PROJECT)
    # the set-up command remote-project prints works non-interactively (a bare `jf admin reset` prompts)
    reset = re.search(r"next: jf -p \S+ (admin reset[^(]*?)\s+\(once\)", r.output)
    assert reset, r.output
    jf.cli(*reset.group(1).split())
    jf.cli("runner", "start", "--single")
    pid_file = base / "projects" / PROJECT / "daemon" / "supervisord.pid"
    if pid_file.exists():  # the runner's supervisord dies with a killed pytest too
        guard(int(pid_file.read_text().strip()))
    yield jf, runner, tiny_mace, slurm_cluster
    jf.shutdown(pid_file)
    mp.undo()


def _submit(runner, *args: str):
    r = runner.invoke(app, ["submit", *args])
    assert r.exit_code == 0, r.output
    m = re.search(r"submitted flow '[^']*' \(([0-9a-f-]{36})\)", r.output)
    assert m, r.output
    return r, m.group(1)


def _job_docs(flow_uuid: str) -> list[dict]:
    """jobflow-remote's queue documents of a flow (state, Slurm id, error)."""
    from jobflow_remote.config.manager import ConfigManager

    jc = ConfigManager().get_project(PROJECT).get_job_controller()
    try:
        return list(
            jc.jobs.find(
                {"job.hosts": flow_uuid}, {"db_id": 1, "uuid": 1, "state": 1, "remote": 1, "error": 1, "job.name": 1}
            )
        )
    finally:
        jc.close()


def _results_db(mongo_server):
    from interchem.settings import get_settings
    from interchem.store import database_from_uri

    db = database_from_uri(get_settings().store_uri.get_secret_value())
    return mongo_server.client()[db]


def test_screen_through_slurm_and_results_from_mongodb(remote, tmp_path, mongo_server):
    jf, runner, tiny_mace, slurm = remote
    t0 = time.monotonic()
    r, flow_uuid = _submit(
        runner,
        "screen",
        "-e",
        "Li2S",
        "-a",
        "none",
        "-c",
        f"mace:model={tiny_mace}",
        "--relax-steps",
        "8",
        "--name",
        "plumbing-screen",
    )
    assert "checks passed" in r.output and "partition debug" in r.output and MONGO_PASSWORD not in r.output
    infos = jf.wait(flow_uuid, _all("COMPLETED"), what="screen COMPLETED", timeout=400)
    print(f"screen of {len(infos)} jobs through Slurm: {time.monotonic() - t0:.0f} s")
    # every job went through sbatch: jobflow-remote recorded a Slurm job id for each
    docs = _job_docs(flow_uuid)
    assert docs and all(d["remote"].get("process_id") for d in docs), docs

    # results read back through the MongoDB-protocol server
    r = runner.invoke(app, ["results", "--flow", "plumbing-screen", "--json", str(tmp_path / "rows.json")])
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "rows.json").read_text())
    phases = {row["phase"] for row in rows if row["name"].startswith("relax or reuse")}
    assert phases == {"Li", "S", "Li2S"}
    assert all(row["calculator"].startswith("mace:") for row in rows if row["phase"])
    r = runner.invoke(app, ["results", "--chemsys", "Li", "--property", "energy_per_atom_eV", "--csv", "-"])
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert lines[0].endswith("energy_per_atom_eV") and len(lines) == 2 and ",Li,Li," in lines[1]  # only Li metal
    r = runner.invoke(app, ["results", "--phase", "Li2S", "--calculator", "mace"])
    assert r.exit_code == 0 and "Li2S" in r.output and "1 stored results" in r.output
    # re-draw the report from stored results
    r = runner.invoke(app, ["results", "--flow", "plumbing-screen", "--report", str(tmp_path / "report")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert set(summary["e_above_hull"]) == {"Li", "S", "Li2S"} and MONGO_PASSWORD not in r.output
    # nothing in the results database holds the password
    db = _results_db(mongo_server)
    for name in db.list_collection_names():
        for doc in db[name].find({}, projection={"data": 0}).limit(200):
            assert MONGO_PASSWORD not in str(doc)


def test_identical_calculation_reused_across_flows(remote):
    """A different flow (the generic Maker path) that needs Li2S with the same calculator and settings
    gets the stored relaxation: no relaxation job is run again, and nothing is queued (its one light job
    that hands the stored record on runs in the submitting process, tagged like a submitted flow)."""
    jf, runner, tiny_mace, slurm = remote
    r = runner.invoke(
        app,
        [
            "submit",
            "interchem.workflows.thermo:RelaxPhaseMaker",
            "-c",
            f"mace:model={tiny_mace}",
            "--maker-arg",
            "steps=8",
            "--make-arg",
            "structure={phase: Li2S}",
            "--make-arg",
            "phase=Li2S",
            "--name",
            "single-relax",
        ],
    )
    assert r.exit_code == 0 and "reused from the store (1): Li2S" in r.output, r.output
    m = re.search(r"nothing to submit: .* \(([0-9a-f-]{36})\) was stored; its 1 job", r.output)
    assert m and jf.jobs(m.group(1)) == [], r.output  # nothing in jobflow-remote's queue
    r = runner.invoke(app, ["results", "--phase", "Li2S", "--calculator", "mace", "--include-reused", "--json", "-"])
    rows = json.loads(r.output)
    by_flow = {row["flow"]: row for row in rows}
    assert set(by_flow) == {"plumbing-screen", "single-relax"} and len(rows) == 2, rows
    assert by_flow["single-relax"]["reused"] is True
    assert (
        by_flow["single-relax"]["properties"]["energy_per_atom_eV"]
        == by_flow["plumbing-screen"]["properties"]["energy_per_atom_eV"]
    )


def test_failed_job_has_its_message_and_reruns_after_fix(remote, tmp_path):
    jf, runner, *_ = remote
    flag = tmp_path / "fixed.flag"
    r, flow_uuid = _submit(runner, "remote_jobs:fail_unless", "--make-arg", f"flag={flag}", "--name", "fails")
    jf.wait(flow_uuid, _all("FAILED"), what="job FAILED", timeout=180)
    (doc,) = _job_docs(flow_uuid)
    assert "input not fixed yet" in (doc.get("error") or "")  # the job's own message, recorded with it
    assert "input not fixed yet" in jf.cli("job", "info", str(doc["db_id"])).stdout
    flag.write_text("fixed")  # the fix
    jf.cli("job", "rerun", "-did", str(doc["db_id"]))
    jf.wait(flow_uuid, _all("COMPLETED"), what="rerun COMPLETED", timeout=180)


def test_scancelled_job_is_detected_and_rerun(remote, tmp_path):
    jf, runner, tiny_mace, slurm = remote
    marker = tmp_path / "attempts"
    r, flow_uuid = _submit(runner, "remote_jobs:slow_once", "--make-arg", f"marker={marker}", "--name", "killed")
    end = time.monotonic() + 180
    while time.monotonic() < end and not marker.exists():  # the job is running on the node
        time.sleep(0.5)
    assert marker.exists(), "job never started"
    (doc,) = _job_docs(flow_uuid)
    slurm_id = doc["remote"]["process_id"]
    assert any(j["id"] == str(slurm_id) for j in slurm.squeue())
    slurm.run("scancel", str(slurm_id))
    # jobflow-remote notices the vanished Slurm job
    infos = jf.wait(
        flow_uuid, lambda i: i[0].state.value in ("REMOTE_ERROR", "FAILED"), what="kill detected", timeout=180
    )
    state = infos[0].state.value
    print(f"scancel detected as {state}")
    # REMOTE_ERROR: the runner could not get the job's output -> retry; FAILED -> rerun
    jf.cli("job", "retry" if state == "REMOTE_ERROR" else "rerun", "-did", str(doc["db_id"]))
    jf.wait(flow_uuid, _all("COMPLETED"), what="rerun after scancel COMPLETED", timeout=180)
    assert marker.read_text() == "2" and infos


def test_killed_runner_restarts_without_duplicate_results(remote, mongo_server):
    jf, runner, *_ = remote
    r, flow_uuid = _submit(runner, "remote_jobs:noop_flow", "--make-arg", "n=3", "--name", "runner-kill")
    jf.wait(
        flow_uuid,
        lambda i: any(x.state.value not in ("READY", "WAITING") for x in i),
        what="jobs picked up",
        timeout=120,
    )
    pids = jf.runner_pids()
    assert pids
    for pid in pids:
        os.kill(pid, 9)  # the runner dies mid-flight (supervisord stays and may restart it)
    jf.cli("runner", "shutdown", check=False, timeout=60)
    jf.cli("runner", "start", "--single")
    infos = jf.wait(flow_uuid, _all("COMPLETED"), what="COMPLETED after runner restart", timeout=240)
    db = _results_db(mongo_server)
    uuids = [i.uuid for i in infos]
    counts = {u: db["jobs"].count_documents({"uuid": u}) for u in uuids}
    assert counts == {u: 1 for u in uuids}, counts


def _queue_count() -> int:
    from jobflow_remote.config.manager import ConfigManager

    jc = ConfigManager().get_project(PROJECT).get_job_controller()
    try:
        return jc.jobs.count_documents({})
    finally:
        jc.close()


def test_bad_input_is_refused_before_anything_is_submitted(remote, mongo_server, monkeypatch):
    from services import MONGOECO_VENV, free_port

    jf, runner, tiny_mace, slurm = remote
    before = _queue_count()
    good_uri = os.environ["INTERCHEM_STORE_URI"]
    cases = [  # exit codes: 5 a service is unreachable or refuses, 3 an input or configuration error
        ({"INTERCHEM_STORE_URI": good_uri.replace(f":{mongo_server.port}/", f":{free_port()}/")}, [], "unreachable", 5),
        ({"INTERCHEM_STORE_URI": good_uri.replace(MONGO_PASSWORD, "not-the-password")}, [], "authentication failed", 5),
        ({}, ["--partition", "nosuch"], "SLURM partition 'nosuch' does not exist (available: debug)", 3),
        # a worker whose Python lacks the calculator's packages (here: the 3.13 venv of the test server)
        ({}, ["--pre-run", f"export PATH={MONGOECO_VENV / 'bin'}:$PATH"], "lacks", 3),
        ({"INTERCHEM_STORE_URI": ""}, [], "needs the MongoDB store", 3),
    ]
    for env, extra, message, code in cases:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        r = runner.invoke(
            app,
            [
                "submit",
                "interchem.workflows.thermo:RelaxPhaseMaker",
                "-c",
                f"mace:model={tiny_mace}",
                "--make-arg",
                "structure={phase: Si}",
                *extra,
            ],
        )
        monkeypatch.setenv("INTERCHEM_STORE_URI", good_uri)
        assert r.exit_code == code, r.output
        assert message in r.output, r.output
        assert "not-the-password" not in r.output and MONGO_PASSWORD not in r.output
        if message == "lacks":
            assert "mace-torch" in r.output and "interchem" in r.output
    r = runner.invoke(app, ["submit", "nosuch.module:Maker"])
    assert r.exit_code == 3 and "cannot import 'nosuch.module'" in r.output
    assert _queue_count() == before  # nothing was submitted


def test_md_killed_mid_run_resumes_from_its_checkpoint(remote):
    """MD through Slurm, scancel once its checkpoint exists, rerun: it resumes (not from step 0) and completes."""
    from interchem.settings import get_settings
    from interchem.store import make_job_store

    jf, runner, tiny_mace, slurm = remote
    checkpoints = Path(os.environ["INTERCHEM_CHECKPOINT_DIR"])
    r, flow_uuid = _submit(
        runner,
        "interchem.workflows.md:MDMaker",
        "-c",
        f"mace:model={tiny_mace}",
        "--maker-arg",
        "steps=800",
        "--maker-arg",
        "temperature_K=600",
        "--maker-arg",
        "md_settings={checkpoint_interval: 25, sample_interval: 50}",
        "--make-arg",
        "structure={phase: Si}",
        "--name",
        "md-resume",
    )
    end = time.monotonic() + 240
    while time.monotonic() < end and not list(checkpoints.glob("md-*.npz")):
        time.sleep(0.2)
    assert list(checkpoints.glob("md-*.npz")), "no checkpoint appeared"
    (doc,) = _job_docs(flow_uuid)
    slurm.run("scancel", str(doc["remote"]["process_id"]))
    infos = jf.wait(
        flow_uuid, lambda i: i[0].state.value in ("REMOTE_ERROR", "FAILED", "COMPLETED"), what="MD killed", timeout=180
    )
    state = infos[0].state.value
    assert state != "COMPLETED", "the MD finished before it could be killed: make it longer"
    jf.cli("job", "retry" if state == "REMOTE_ERROR" else "rerun", "-did", str(doc["db_id"]))
    (info,) = jf.wait(flow_uuid, _all("COMPLETED"), what="MD rerun COMPLETED", timeout=300)
    store = make_job_store(get_settings())
    store.connect()
    try:
        out = store.get_output(info.uuid, load=True)
    finally:
        store.close()
    assert out["steps_done"] == 800
    assert 0 < out["resumed_from_step"] < 800 and out["resumed_from_step"] % 25 == 0
    print(f"MD resumed from step {out['resumed_from_step']}")


def test_interface_pipeline_through_slurm_as_one_flow(remote):
    """`interchem submit interface ANODE ELECTROLYTE` sends the whole pipeline as one flow: build, gap scan,
    relax, adhesion, ranking, then the MD on the best interface (a dynamic job that replaces itself), every
    job through sbatch; summary and MD reactivity read back from MongoDB."""
    from interchem.settings import get_settings
    from interchem.store import make_job_store
    from interchem.workflows.interface_md import InterfaceMDResult
    from interchem.workflows.interfaces import InterfaceSummary

    jf, runner, tiny_mace, slurm = remote
    t0 = time.monotonic()
    r, flow_uuid = _submit(
        runner,
        "interface",
        "Si",
        "Li6PS5Cl",
        "-c",
        f"mace:model={tiny_mace}",
        "--relax-steps",
        "5",
        "--maker-arg",
        "miller_anode=111",
        "--maker-arg",
        "max_area=200",
        "--maker-arg",
        "max_atoms=120",
        "--maker-arg",
        "anode_thickness_A=3",
        "--maker-arg",
        "electrolyte_thickness_A=4",
        "--maker-arg",
        "top=1",
        "--maker-arg",
        "md_steps=10",
        "--name",
        "interface-pipeline",
    )
    assert "interface pipeline Si|Li6PS5Cl" in r.output

    def done(infos):
        return any(i.name.startswith("interface reactivity") for i in infos) and _all("COMPLETED")(infos)

    infos = jf.wait(flow_uuid, done, what="interface pipeline COMPLETED", timeout=500)
    print(f"interface pipeline of {len(infos)} jobs through Slurm: {time.monotonic() - t0:.0f} s")
    names = [i.name for i in infos]
    bulk_references = ("bulk reference Si", "bulk reference Li6PS5Cl strained #1")  # strained like the film
    for expected in (*bulk_references, "rank interfaces", "interface md on the 1 best"):
        assert expected in names, names
    assert sum(n.startswith(("gap scan", "relax interface", "adhesion", "md Si(111)")) for n in names) == 4, names
    assert all(d["remote"].get("process_id") for d in _job_docs(flow_uuid))
    by_name = {i.name: i.uuid for i in infos}
    store = make_job_store(get_settings())
    store.connect()
    try:
        summary = InterfaceSummary.model_validate(store.get_output(by_name["rank interfaces"], load=True))
        md = store.get_output(by_name["interface md on the 1 best"], which="last", load=True)
    finally:
        store.close()
    (best,) = summary.results
    (result,) = [InterfaceMDResult.model_validate(m) for m in md]
    assert result.label == best.label and result.steps == 10 and result.reactivity.times_fs


def test_no_credentials_in_runner_logs_or_job_files(remote):
    """After everything above: the runner's logs, supervisord's log, every job folder (inputs, outputs,
    Slurm scripts and queue output) and the project file hold no password."""
    jf, runner, tiny_mace, slurm = remote
    base = Path(jf.env["JF_BASE"])
    # ... nor Slurm's state (it keeps each job's environment; the secrets are blanked at submission)
    files = [p for d in (base, slurm.conf.parent) for p in d.rglob("*") if p.is_file() and p.suffix != ".sqlite"]
    assert any(p.name == "runner.log" for p in files) and any(p.name.endswith(".sh") for p in files)
    leaks = [str(p) for p in files if MONGO_PASSWORD.encode() in p.read_bytes()]
    assert leaks == []


def _job_catching_sigterm(work_dir: Path) -> str | None:
    """The Slurm id of a running job whose Python has interchem's SIGTERM handler installed (read from
    /proc: SIGTERM in its caught-signals mask), or None."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "execution run" not in cmd or str(work_dir) not in cmd:
                continue
            caught = next(x for x in (entry / "status").read_text().splitlines() if x.startswith("SigCgt:"))
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, StopIteration):
            continue
        if int(caught.split()[1], 16) & (1 << (15 - 1)):
            job = next((e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"SLURM_JOB_ID=")), None)
            if job:
                return job
    return None


def _summary(path: Path) -> dict:
    """summary.json without the ``run`` block (wall time, what this run took from the store)."""
    data = json.loads((path / "summary.json").read_text())
    data.pop("wall_time_s", None)
    data.pop("run", None)
    return data


def test_scancel_mid_screen_then_recover_gives_the_local_summary(remote, tmp_path):
    """A relaxation of a submitted screen is cancelled with scancel while it runs: it is FAILED with an
    error that says it was cancelled, the screen's analysis waits (nothing runs on a missing result), and
    `interchem recover NAME` (no prompt) reruns it; the recovered screen's summary equals a local run's."""
    from interchem.reports.screen import write_report
    from interchem.runner import plan_screen, run_screen
    from interchem.settings import get_settings

    jf, runner, tiny_mace, slurm = remote
    args = ["screen", "-e", "Li2S", "-a", "none", "-c", f"mace:model={tiny_mace}", "--steps", "40", "--fmax", "0.01"]
    r, flow_uuid = _submit(runner, *args, "--name", "cancelled-screen")
    work_dir = Path(jf.env["JF_BASE"]) / "projects" / PROJECT / "work"
    end, slurm_id = time.monotonic() + 240, None
    while time.monotonic() < end and slurm_id is None:
        slurm_id = _job_catching_sigterm(work_dir)
        time.sleep(0.1)
    assert slurm_id, "no relaxation job was seen running"
    slurm.run("scancel", slurm_id)
    infos = jf.wait(flow_uuid, lambda i: any(x.state.value == "FAILED" for x in i), what="cancel seen", timeout=180)
    (failed,) = [i for i in infos if i.state.value == "FAILED"]
    assert "cancelled" in failed.error and "SIGTERM" in failed.error and f"Slurm job {slurm_id}" in failed.error
    time.sleep(5)  # the runner had time to move on: the analysis must still wait
    states = {i.name: i.state.value for i in jf.jobs(flow_uuid)}
    assert states["analyse screen"] == "WAITING" and not any("store_inputs" in n for n in states), states
    assert len(states) == 4  # one job per phase (relaxed and recorded in it) + the analysis

    stdin_closed = runner.invoke(app, ["recover", "cancelled-screen"], input=None)
    assert stdin_closed.exit_code == 0, stdin_closed.output
    assert f"rerun db id {failed.db_id} {failed.name} (was FAILED: " in stdin_closed.output
    jf.wait(flow_uuid, _all("COMPLETED"), what="recovered screen COMPLETED", timeout=300)
    again = runner.invoke(app, ["recover", flow_uuid])
    assert again.exit_code == 0 and "nothing to recover" in again.output

    r = runner.invoke(app, ["results", "--flow", "cancelled-screen", "--report", str(tmp_path / "remote")])
    assert r.exit_code == 0, r.output
    local = get_settings(
        store_uri="",
        store_path=tmp_path / "local-store",
        output_dir=tmp_path / "local",
        relax_steps=40,
        relax_fmax=0.01,
    )
    result = run_screen(plan_screen(["Li2S"], [], f"mace:model={tiny_mace}", settings=local), settings=local)
    write_report(result, tmp_path / "local")
    assert _summary(tmp_path / "remote") == _summary(tmp_path / "local")
    # an identical resubmission is resolved at submission: nothing is queued, the analysis runs in the
    # submitting process on the results store, and `results --flow` finds it like a submitted one
    r = runner.invoke(app, ["submit", *args, "--name", "cancelled-screen-again"])
    assert r.exit_code == 0 and "reused from the store (3)" in r.output, r.output
    m = re.search(r"nothing to submit: .* \(([0-9a-f-]{36})\) was stored; its 1 job", r.output)
    assert m, r.output
    assert jf.jobs(m.group(1)) == []  # no job in jobflow-remote's queue
    r = runner.invoke(app, ["results", "--flow", "cancelled-screen-again", "--report", str(tmp_path / "again")])
    assert r.exit_code == 0, r.output
    assert _summary(tmp_path / "again") == _summary(tmp_path / "local")
