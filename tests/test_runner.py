"""The local runner leaves no empty job folders behind (force-field jobs write nothing), keeps the
folders of jobs that wrote files, and still reports a failing job's own error."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobflow import Flow, job

from interchem.errors import InterchemError
from interchem.runner import run_flow


@job
def add(a: int, b: int) -> int:
    return a + b


@job
def write_file(name: str) -> str:
    Path(name).write_text("kept")
    return name


@job
def broken() -> None:
    raise ValueError("the job's own message")


def test_no_empty_job_folders_are_left(isolated_settings, tmp_path):
    first = add(1, 2)
    flow = Flow([first, add(first.output, 3)], output=first.output)
    assert run_flow(flow, isolated_settings, work_dir=tmp_path / "jobs") == 3
    assert not (tmp_path / "jobs").exists()  # nothing was written: neither job folders nor the root


def test_folders_of_jobs_that_wrote_files_are_kept(isolated_settings, tmp_path):
    flow = Flow([add(1, 1), write_file("out.txt")])
    run_flow(flow, isolated_settings, work_dir=tmp_path / "jobs")
    kept = list((tmp_path / "jobs").iterdir())
    assert len(kept) == 1 and (kept[0] / "out.txt").read_text() == "kept"


def test_failure_names_the_job_and_leaves_no_empty_folder(isolated_settings, tmp_path):
    with pytest.raises(InterchemError, match="broken: ValueError: the job's own message"):
        run_flow(Flow([broken()]), isolated_settings, work_dir=tmp_path / "jobs")
    assert not (tmp_path / "jobs").exists()
