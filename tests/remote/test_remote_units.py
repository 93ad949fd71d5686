"""Scale-out pieces that need no server: resources, project rendering, flow building, calculator
discovery, result rows and exports (embedded store)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from interchem.calculators import CalculatorSpec
from interchem.errors import StoreConfigError, SubmissionError
from interchem.remote.flows import calculators_in, flow_from_target, load_spec, screen_flow
from interchem.remote.project import render_project
from interchem.remote.resources import Resources, load_resources
from interchem.settings import get_settings


def test_resources_from_yaml_and_flags(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("nodes: 2\nntasks: 8\nwalltime: '1-00:00:00'\npartition: big\nmodules: [cp2k/2023.1]\n")
    r = load_resources(f, ntasks=4, partition=None)
    assert (r.nodes, r.ntasks, r.partition, r.modules) == (2, 4, "big", ["cp2k/2023.1"])
    q = r.qtk_resources(job_name="x")
    assert q.pop("qverbatim") == "#SBATCH --export=ALL,INTERCHEM_STORE_URI=,INTERCHEM_MP_API_KEY=,MP_API_KEY="
    assert q == {"nodes": 2, "ntasks": 4, "cpus_per_task": 1, "time": "1-00:00:00", "partition": "big", "job_name": "x"}
    assert r.exec_config().modules == ["cp2k/2023.1"]
    with pytest.raises(SubmissionError, match="walltime"):
        load_resources(walltime="two hours")
    with pytest.raises(SubmissionError, match="nodes"):
        load_resources(nodes=0)
    f.write_text("gpus: 1\n")
    with pytest.raises(SubmissionError, match="gpus"):
        load_resources(f)
    with pytest.raises(SubmissionError, match="does not exist"):
        load_resources(tmp_path / "missing.yaml")


def test_project_rendering_has_no_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    s = get_settings(
        store_uri="mongodb://alice:pa55word@db.example.org:27017/results?authSource=admin",
        remote_projects_folder=tmp_path / "projects",
    )
    local = render_project(s, resources=Resources(partition="debug", walltime="00:30:00"), runner_delay=5)
    ssh = render_project(
        s, ssh_host="login.cluster.org", ssh_user="me", ssh_key="~/.ssh/id_ed25519", work_dir="/scratch/me/jobs"
    )
    with pytest.raises(SubmissionError, match="work-dir"):
        render_project(s, ssh_host="login.cluster.org")
    for data in (local, ssh):
        text = yaml.safe_dump(data)
        assert "pa55word" not in text and "alice" not in text
        assert data["jobstore"]["docs_store"]["database"] == "results"
        assert data["queue"]["store"]["@class"] == "SettingsMongoStore"
    assert (
        local["workers"]["slurm"]["type"] == "local" and local["workers"]["slurm"]["resources"]["partition"] == "debug"
    )
    assert local["runner"]["delay_checkout"] == 5
    assert ssh["workers"]["slurm"]["type"] == "remote" and ssh["workers"]["slurm"]["host"] == "login.cluster.org"
    with pytest.raises(StoreConfigError):
        render_project(get_settings(store_uri=None))


def test_batch_project_runs_jobs_in_one_allocation(tmp_path, monkeypatch):
    """--batch N: jobflow-remote's batch execution, one allocation running N jobs at a time."""
    from jobflow_remote.config.base import Project

    from interchem.remote.project import write_project

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    s = get_settings(store_uri="mongodb://db.example.org/results", remote_projects_folder=tmp_path / "projects")
    data = render_project(s, batch=2, resources=Resources(partition="debug"))
    worker = Project.model_validate(data).workers["slurm"]
    assert worker.max_jobs == 1 and worker.batch.parallel_jobs == 2 and worker.batch.work_dir.is_absolute()
    write_project(data, s)
    assert worker.batch.jobs_handle_dir.is_dir() and worker.batch.work_dir.is_dir()
    assert "batch" not in render_project(s)["workers"]["slurm"]
    # batch jobs run in forks of one warm process (remote.warm_exec) unless asked not to
    assert data["workers"]["slurm"]["execution_cmd"] == "python -m interchem.remote.warm_exec {}"
    cold = render_project(s, batch=2, warm=False)["workers"]["slurm"]
    assert "execution_cmd" not in cold and "execution_cmd" not in render_project(s)["workers"]["slurm"]
    with pytest.raises(SubmissionError, match="--batch"):
        render_project(s, batch=-1)


def test_flow_specs_and_calculator_discovery(tmp_path, tiny_mace, isolated_settings):
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    flow, plan = screen_flow(["Li2S"], [], spec, settings=isolated_settings)
    assert calculators_in(flow) == [spec]
    j = flow_from_target(
        "interchem.workflows.thermo:RelaxPhaseMaker",
        {"calculator": spec.label(), "steps": 5},
        {"structure": {"phase": "Si"}, "phase": "Si"},
    )
    assert j.name == "relax or reuse Si" and calculators_in(j) == [spec]
    with pytest.raises(SubmissionError, match="no setting"):
        flow_from_target("interchem.workflows.thermo:RelaxPhaseMaker", {"nonsense": 1})
    with pytest.raises(SubmissionError, match="neither"):
        flow_from_target("screen-ish")
    with pytest.raises(SubmissionError, match="has no attribute"):
        flow_from_target("interchem.workflows.thermo:NoSuchMaker")
    f = tmp_path / "spec.yaml"
    f.write_text("flow: screen\nbogus: 1\n")
    with pytest.raises(SubmissionError, match="bogus"):
        load_spec(f)


def test_results_rows_filters_and_exports(isolated_settings, tiny_mace):
    from interchem.remote.results import export, query_results, redraw_reports
    from interchem.runner import plan_screen, run_screen

    settings = isolated_settings.model_copy(update={"relax_steps": 5})
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    run_screen(plan_screen(["Li2S"], [], spec, settings=settings), settings=settings)
    rows = query_results(settings)
    assert {r.phase for r in rows if r.name.startswith("relax or reuse")} == {"Li", "S", "Li2S"}
    # one job per relaxation: its output is the record (no separate atomate2 task document or store_inputs)
    assert [r.name for r in query_results(settings, chemsys="Li-S", phase="Li2S")] == ["relax or reuse Li2S"]
    assert sorted(r.name for r in rows) == [
        "analyse screen",
        "relax or reuse Li",
        "relax or reuse Li2S",
        "relax or reuse S",
    ]
    assert query_results(settings, chemsys="Li") and all(
        r.chemsys == "Li" for r in query_results(settings, chemsys="Li")
    )
    assert query_results(settings, calculator="chgnet") == []
    assert len(query_results(settings, calculator=spec.label(), prop="energy_per_atom_eV")) == 3
    csv_text = export(query_results(settings, prop="energy_per_atom_eV"), "csv", "energy_per_atom_eV")
    assert csv_text.splitlines()[0].endswith(",energy_per_atom_eV") and len(csv_text.splitlines()) == 4
    data = json.loads(export(rows, "json"))
    assert all("properties" in d for d in data)
    paths = redraw_reports(settings.output_dir / "again", settings)
    assert paths and (settings.output_dir / "again" / "summary.json").exists()


def test_results_table_full_flow_uuid_and_no_empty_rows(isolated_settings, tiny_mace, monkeypatch):
    """The table names each row's flow by its full uuid and lists results of phases only: the screen's
    analysis and jobflow/atomate2 bookkeeping outputs (empty phase, calculator and value columns) are
    counted in one line instead."""
    from typer.testing import CliRunner

    from interchem.cli import app
    from interchem.runner import plan_screen, run_screen

    monkeypatch.setenv("COLUMNS", "250")
    settings = isolated_settings.model_copy(update={"relax_steps": 3})
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    run_screen(plan_screen(["Li2S"], [], spec, settings=settings), settings=settings)
    r = CliRunner().invoke(app, ["results", "-s", str(settings.store_path)])
    assert r.exit_code == 0, r.output
    body = [line for line in r.output.splitlines() if line.startswith("│")]
    cells = [[c.strip() for c in line.strip("│").split("│")] for line in body]
    assert len(cells) == 3 and {c[2] for c in cells} == {"Li", "S", "Li2S"}
    assert all(all(c) for c in cells), body  # no empty column in any row
    (uuid,) = {c[0] for c in cells}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid), uuid
    assert "analyse screen" in r.output.split("┘")[-1]  # named among the outputs left out


def test_submitting_side_reuse_replaces_stored_calculations(isolated_settings, tiny_mace):
    """What `interchem submit` does before submitting: the flow is made with the results store at hand, so a
    stored identical relaxation (any earlier flow) is resolved by the Maker into a job returning the stored
    record; the flow still runs and reports it as reused."""
    from jobflow import Flow, run_locally

    from interchem.remote.submit import build_with_reuse
    from interchem.runner import plan_screen, run_screen
    from interchem.store import make_job_store
    from interchem.workflows.common import all_light
    from interchem.workflows.thermo import ScreenMaker

    settings = isolated_settings.model_copy(update={"relax_steps": 5})
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})
    plan = plan_screen(["Li2S"], [], spec, settings=settings)
    first = run_screen(plan, settings=settings)

    def single(steps: int):
        j = flow_from_target(
            "interchem.workflows.thermo:RelaxPhaseMaker",
            {"calculator": spec.label(), "steps": steps},
            {"structure": {"phase": "Li2S"}, "phase": "Li2S"},
        )
        return Flow([j], output=j.output)

    store = make_job_store(settings)
    store.connect()
    flow, reused = build_with_reuse(lambda: single(5), store)
    assert reused == ["Li2S"]
    other, reused_other = build_with_reuse(lambda: single(6), store)
    assert reused_other == [] and other.jobs[0].name == "relax or reuse Li2S"  # other settings: a different calculation
    # a flow left with nothing to compute is light (submit runs it here); one relaxation to do is not
    assert all_light(flow) and not all_light(other)
    screen, _ = build_with_reuse(lambda: ScreenMaker(calculator=spec, steps=5).make(plan.phases, [], ["Li2S"]), store)
    assert all_light(screen) and [j.name for j, _ in screen.iterflow()] == ["analyse screen"]
    store.close()
    assert flow.jobs[0].name == "reuse relaxation Li2S"
    # serialised and run like a worker would (from the flow's dict)
    out = run_locally(Flow.from_dict(flow.as_dict()), store=make_job_store(settings), ensure_success=True, log=False)
    (result,) = [r[1].output for r in out.values()]
    stored = next(r for r in first.relaxations if r["phase"] == "Li2S")
    assert result.reused and result.energy_per_atom_eV == stored["energy_per_atom_eV"]


@pytest.mark.parametrize("holder", ["jobflow", "interchem"])
def test_children_of_a_failed_replacement_wait(tmp_path, holder):
    """A job replaced by a flow whose job fails (or is cancelled): with jobflow's store_inputs the child
    runs anyway on an unresolved reference; with ``replace_with`` the output holder and the child wait
    (here, run_locally: they are not run), and after the fix the rerun gives the child the real output."""
    from jobflow import JobStore, run_locally
    from maggma.stores import MemoryStore
    from remote_jobs import replaced_then_consumed

    flag = tmp_path / "fixed"
    flow = replaced_then_consumed(str(flag), holder)
    store = JobStore(MemoryStore())
    run_locally(flow, store=store, root_dir=tmp_path, ensure_success=False, log=False)
    store.connect()
    consumer = flow.jobs[1].uuid
    names = {d["name"] for d in store.query({}, properties=["name"], load=False)}
    if holder == "jobflow":  # the defect: store_inputs ran and stored the unresolved reference as the output
        held = store.query_one({"uuid": flow.jobs[0].uuid, "index": 2}, load=False)
        assert "store_inputs" in names and held["output"]["@class"] == "OutputReference"
        return
    assert "store_inputs" not in names and store.query_one({"uuid": consumer}, load=False) is None
    flag.write_text("fixed")
    run_locally(flow, store=store, root_dir=tmp_path, ensure_success=True, log=False)
    assert store.get_output(consumer) == {"got": {"fixed": True}}


def test_submit_without_mongodb_is_refused_and_creates_no_store(tmp_path, monkeypatch, tiny_mace):
    from interchem.remote.submit import submit

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    settings = get_settings(store_uri="", store_path=tmp_path / "would-be-store")
    spec = CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})

    def build():
        return flow_from_target(
            "interchem.workflows.thermo:RelaxPhaseMaker", {"calculator": spec.label()}, {"structure": {"phase": "Si"}}
        )

    with pytest.raises(StoreConfigError, match="needs the MongoDB store"):
        submit(build, "x", settings=settings)
    assert not (tmp_path / "would-be-store").exists()
