"""Live progress fed from the jobs themselves (``interchem.progress``): real CHGNet MD and NEB jobs run
through the local runner report increasing steps up to their total to the runner's sink; a resumed MD
job says so; checkpoints go beside the job folders, never to the home directory."""

from __future__ import annotations

import pytest

from interchem.progress import LOG_FILE, ProgressEvent, Tracker, last_line, sink
from interchem.runner import run_flow
from interchem.structures.hops import enumerate_li_hops
from interchem.structures.library import resolve_phase
from interchem.workflows.md import MDInterrupted, MDMaker, checkpoints_in, run_md


@pytest.fixture()
def default_checkpoints(monkeypatch):
    """No checkpoint_dir setting (conftest points it at a temporary folder for the other tests)."""
    monkeypatch.delenv("INTERCHEM_CHECKPOINT_DIR", raising=False)


def _steps_of(events: list[ProgressEvent], kind: str) -> list[ProgressEvent]:
    return [e for e in events if e.kind == kind]


def _assert_counts_up_to_total(events: list[ProgressEvent], total: int) -> None:
    *running, last = events
    steps = [e.step for e in running]
    assert steps == sorted(set(steps)), f"steps not strictly increasing: {steps}"
    assert steps[-1] == total and all(e.total == total and not e.done for e in running)
    assert last.done and last.step == last.total == total  # then one "done" event


def test_md_job_reports_every_step_to_the_runner(isolated_settings, tmp_path, default_checkpoints):
    li2s = resolve_phase("Li2S", primitive=False)[1]
    maker = MDMaker(
        calculator="chgnet", temperature_K=300, steps=12, md_settings={"sample_interval": 4, "checkpoint_interval": 4}
    )
    flow = maker.make(li2s)
    events: list[ProgressEvent] = []
    run_flow(flow, isolated_settings, work_dir=tmp_path / "jobs", steps=events.append)
    md = _steps_of(events, "md")
    _assert_counts_up_to_total(md, 12)
    assert md[0].step == 0 and len(md) == 14  # every step from the first, then done
    assert {e.job for e in md} == {flow.name}  # the job's own name, from jobflow's CURRENT_JOB
    assert md[-2].eta_s is not None and md[-2].eta_s >= 0
    # The checkpoint sits beside the job folders (a rerun of the command resumes from it), not in ~.
    assert len(list((tmp_path / "jobs" / "checkpoints").glob("md-*.npz"))) == 1


def test_neb_job_reports_its_iterations_to_the_runner(isolated_settings, tmp_path):
    from interchem.workflows.neb import BarrierMaker

    li = resolve_phase("Li", primitive=False)[1]
    assert enumerate_li_hops(li, cutoff=3.2)
    maker = BarrierMaker(
        calculator="chgnet",
        cutoff=3.2,
        max_hops=1,
        neb_settings={"n_images": 3, "supercell_min_length": 7.0, "steps": 8, "fmax": 1e-4},
    )
    events: list[ProgressEvent] = []
    run_flow(maker.make(li, "Li"), isolated_settings, work_dir=tmp_path / "jobs", steps=events.append)
    neb = _steps_of(events, "neb")
    _assert_counts_up_to_total(neb, 8)  # fmax 1e-4 is not reached in 8 iterations: the band runs to its limit
    assert {e.job for e in neb} == {"neb Li vacancy hop 0"}
    relax = _steps_of(events, "relax")  # the two endpoint relaxations report too
    assert relax and sum(e.done for e in relax) == 2


def test_resumed_md_job_says_so_in_its_log_and_to_the_runner(isolated_settings, tmp_path, default_checkpoints):
    li2s = resolve_phase("Li2S", primitive=False)[1]
    maker = MDMaker(
        calculator="chgnet", temperature_K=300, steps=8, md_settings={"sample_interval": 2, "checkpoint_interval": 4}
    )
    work = tmp_path / "jobs"
    with checkpoints_in(work / "checkpoints"), pytest.raises(MDInterrupted) as killed:
        run_md(li2s, maker.calculator, maker.settings(), stop_after_step=4)  # as a kill after step 4 would
    events: list[ProgressEvent] = []
    run_flow(maker.make(li2s), isolated_settings, work_dir=work, steps=events.append)
    expected = f"resuming MD from step 4 of 8 from {killed.value.path}"
    assert [e.message for e in _steps_of(events, "note")] == [expected]
    md = _steps_of(events, "md")
    assert md[0].step == 5  # the first step after the checkpoint (ASE calls no observer at a resumed start)
    _assert_counts_up_to_total(md, 8)
    logs = list(work.glob(f"job_*/{LOG_FILE}"))  # the job's own log, in its folder (a remote job's run dir)
    assert len(logs) == 1 and expected in logs[0].read_text()
    # `interchem status` shows it (the way to look at a job running elsewhere, e.g. a jobflow-remote run dir)
    from typer.testing import CliRunner

    from interchem.cli import app

    shown = CliRunner().invoke(app, ["status", str(work)])
    assert shown.exit_code == 0 and "resuming MD from step 4 of 8" in shown.output


def test_md_outside_the_runner_checkpoints_in_the_working_folder(tmp_path, monkeypatch, default_checkpoints):
    monkeypatch.chdir(tmp_path)  # a jobflow-remote or FireWorks job runs in its own folder
    li2s = resolve_phase("Li2S", primitive=False)[1]
    run_md(li2s, "chgnet", {"temperature_K": 300, "steps": 2, "checkpoint_interval": 2})
    assert len(list((tmp_path / "checkpoints").glob("md-*.npz"))) == 1


def test_tracker_logs_a_line_per_ten_percent_and_sinks_see_every_step(tmp_path, caplog):
    seen: list[ProgressEvent] = []
    with sink(seen.append), caplog.at_level("INFO", logger="interchem.progress"):
        tracker = Tracker("md", 100, job="md test")
        for step in [0, 5, 5, 3, *range(6, 101)]:
            tracker.update(step)
        tracker.finish()
    assert [e.step for e in seen[:3]] == [0, 5, 6]  # repeated and backward steps are dropped
    assert len(seen) == 98 and seen[-1].done
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 12 and lines[-1].startswith("md test: md step 100/100 (100 %), done")
    assert last_line(tmp_path) is None  # not inside a job: no progress file anywhere
    assert not list(tmp_path.iterdir())


def test_slow_loop_still_logs_a_line_a_minute_between_ten_percent_marks(caplog, monkeypatch):
    """A 600-step relaxation at 70 s per step (a big interface on a loaded machine) would write its first
    10 % line after 70 min: a line at least every minute lets `interchem status` show where it is."""
    import interchem.progress as progress

    clock = iter(float(t) for t in [0, *range(0, 70 * 10, 70), 10_000])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    with caplog.at_level("INFO", logger="interchem.progress"):
        tracker = Tracker("relax", 600, job="relax interface")
        for step in range(10):
            tracker.update(step)
        tracker.finish()
    lines = [r.getMessage() for r in caplog.records]
    # step 0 (first line), then steps 1..9 are each >= 60 s after the previous line, then done
    assert [line.split("relax step ")[1].split("/")[0] for line in lines] == [str(i) for i in range(10)] + ["9"]
    assert "ETA" in lines[1] and "done" in lines[-1]


def test_atomate2_relaxation_reports_its_optimiser_steps(isolated_settings, tmp_path):
    from interchem.calculators import CalculatorSpec, relax_maker

    si = resolve_phase("Si", primitive=False)[1]
    si.perturb(0.1, min_distance=0.05)  # a few steps of work for the optimiser
    job = relax_maker(CalculatorSpec.parse("chgnet"), fmax=0.05, steps=50).make(si)
    events: list[ProgressEvent] = []
    run_flow(job, isolated_settings, work_dir=tmp_path / "jobs", steps=events.append)
    relax = _steps_of(events, "relax")
    *running, last = relax
    assert len(running) >= 3 and [e.step for e in running] == sorted({e.step for e in running})
    assert {e.job for e in relax} == {job.name} and running[0].total == 50
    assert last.done and last.step == last.total == running[-1].step < 50  # converged early: the bar ends full


def test_jobs_of_a_replaced_flow_count_as_steps_of_the_job_that_made_them(isolated_settings, tmp_path):
    from jobflow import Flow, Response, job

    @job
    def square(x: int) -> int:
        return x * x

    @job
    def fan_out(n: int):  # as atomate2's run_phonon_displacements: one job per displaced cell
        jobs = [square(i) for i in range(n)]
        return Response(replace=Flow(jobs, output=[j.output for j in jobs]))

    parent = fan_out(3)
    parent.name = "fan out"
    events: list[ProgressEvent] = []
    assert run_flow(parent, isolated_settings, work_dir=tmp_path / "jobs", steps=events.append) == [0, 1, 4]
    # 3 jobs and jobflow's own store_inputs job that holds the replaced flow's output
    assert [(e.job, e.kind, e.step, e.total, e.done) for e in events] == [
        ("fan out", "jobs", 1, 4, False),
        ("fan out", "jobs", 2, 4, False),
        ("fan out", "jobs", 3, 4, False),
        ("fan out", "jobs", 4, 4, False),
        ("fan out", "jobs", 4, 4, True),
    ]


def test_step_bars_show_only_work_longer_than_the_threshold():
    from io import StringIO

    from rich.console import Console
    from rich.progress import Progress

    from interchem.runner import StepBars

    console = Console(file=StringIO(), width=100)
    with Progress(console=console) as bars:
        display = StepBars(bars, min_seconds=10.0)
        display(ProgressEvent("quick", "relax", 3, 10, elapsed_s=2.0, eta_s=4.0))
        assert not bars.tasks  # under 10 s: no bar
        display(ProgressEvent("md LiCl 600 K", "md", 50, 1000, elapsed_s=11.0, eta_s=209.0))
        display(ProgressEvent("md LiCl 600 K", "md", 60, 1000, elapsed_s=13.0, eta_s=200.0))
        (task,) = bars.tasks
        assert task.completed == 60 and task.total == 1000 and "md LiCl 600 K" in task.description
        display(ProgressEvent("md LiCl 600 K", "md", 1000, 1000, elapsed_s=200.0, eta_s=0.0, done=True))
        assert not bars.tasks  # done: the bar goes
        display(ProgressEvent("md LiCl 600 K", "note", 0, 0, 0.0, message="resuming MD from step 50 of 1000"))
    assert "md LiCl 600 K: resuming MD from step 50 of 1000" in console.file.getvalue()
