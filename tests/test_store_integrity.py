"""The embedded store refuses to be used when a file is damaged, names the file and the way out, and
its repair keeps every readable document; a mistyped store path is an error, not an empty new store."""

from __future__ import annotations

import os

import pytest
from jobflow import Flow, Response, job

from interchem.errors import StoreCorruptError, StoreMissingError
from interchem.store import corrupt_store_files, embedded_store, incomplete_jobs, repair_embedded_store


def _fill(path, n=300):
    store = embedded_store(path)
    store.connect()
    # ~1 kB per document, so the file spans many SQLite pages and damage hits documents.
    store.docs_store.update(
        [{"uuid": f"u{i}", "index": 1, "output": {"x": i, "pad": "p" * 1000}} for i in range(n)], key="uuid"
    )
    store.close()
    return path / "interchem" / "jobs.collection"


def _count(path):
    store = embedded_store(path)
    store.connect()
    try:
        return store.docs_store.count()
    finally:
        store.close()


def test_a_healthy_store_passes_and_reads_back(tmp_path):
    _fill(tmp_path / "s")
    assert corrupt_store_files(tmp_path / "s") == []
    assert _count(tmp_path / "s") == 300


def test_truncated_store_file_is_named_with_the_remedy_and_repaired(tmp_path):
    file = _fill(tmp_path / "s")
    os.truncate(file, file.stat().st_size // 2)
    with pytest.raises(StoreCorruptError, match=rf"store file {file} is corrupt .*interchem store repair"):
        embedded_store(tmp_path / "s")
    report = repair_embedded_store(tmp_path / "s")
    assert len(report) == 1 and report[0]["file"] == str(file)
    assert 0 < report[0]["kept"] < 300  # half the pages are gone: some documents survive, not all
    assert os.path.exists(report[0]["moved_to"])  # the damaged file is kept beside the repaired one
    assert corrupt_store_files(tmp_path / "s") == []
    assert _count(tmp_path / "s") == report[0]["kept"]


def test_garbled_block_is_detected(tmp_path):
    file = _fill(tmp_path / "s")
    with open(file, "r+b") as fh:
        fh.seek(8192)
        fh.write(os.urandom(4096))
    assert [f for f, _ in corrupt_store_files(tmp_path / "s")] == [file]
    with pytest.raises(StoreCorruptError):
        embedded_store(tmp_path / "s")


def test_missing_store_is_an_error_when_it_must_exist(tmp_path):
    with pytest.raises(StoreMissingError, match="there is no store at .*check the store path"):
        embedded_store(tmp_path / "typo", must_exist=True)
    assert not (tmp_path / "typo").exists()
    embedded_store(tmp_path / "new")  # creating is the default for commands that compute


def test_store_check_and_repair_commands(tmp_path):
    from typer.testing import CliRunner

    from interchem.cli import app

    file = _fill(tmp_path / "s")
    runner = CliRunner()
    ok = runner.invoke(app, ["store", "check", "-s", str(tmp_path / "s")])
    assert ok.exit_code == 0 and "passes" in ok.stdout
    os.truncate(file, file.stat().st_size // 2)
    bad = runner.invoke(app, ["store", "check", "-s", str(tmp_path / "s")])
    assert bad.exit_code == 1 and f"corrupt: {file}" in bad.stdout
    fixed = runner.invoke(app, ["store", "repair", "-s", str(tmp_path / "s")])
    assert fixed.exit_code == 0 and "kept" in fixed.stdout
    assert runner.invoke(app, ["store", "check", "-s", str(tmp_path / "s")]).exit_code == 0


def test_read_only_commands_never_create_a_store(tmp_path, monkeypatch):
    """`results`, `tieline` and `report` on a mistyped store path say so and leave nothing behind
    (they used to create an empty store and report "0 stored results")."""
    from typer.testing import CliRunner

    from interchem.cli import app

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.delenv("INTERCHEM_STORE_URI", raising=False)
    typo = tmp_path / "interchem-stroe"
    runner = CliRunner()
    for args in (["results"], ["tieline", "Li2S", "Li"], ["report", "-o", str(tmp_path / "out")]):
        result = runner.invoke(app, [*args, "-s", str(typo)])
        assert result.exit_code == 3, (args, result.output)  # an input error
        assert "there is no store at" in result.output, (args, result.output)
        assert not typo.exists(), args


@job
def _interrupted():
    raise RuntimeError("the run was interrupted here")


@job
def _finished():
    return 1


@job(name="relax or reuse X")
def _relax_or_reuse(interrupt: bool):
    # as the screen's "relax or reuse" jobs: stored with output None, replaced by the real work
    return Response(replace=_interrupted() if interrupt else _finished())


def test_store_check_reports_and_clean_removes_what_an_interrupted_run_leaves(tmp_path, monkeypatch):
    """A job replaced by work that never finished leaves its document with ``output: None`` and no later
    index; `store check` lists it, `store clean` removes it and nothing else (a replaced job whose
    replacement finished keeps its document)."""
    from typer.testing import CliRunner

    from interchem.cli import app
    from interchem.errors import InterchemError
    from interchem.runner import run_flow
    from interchem.settings import get_settings

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    settings = get_settings(store_path=tmp_path / "s", output_dir=tmp_path / "out")
    done, cut = _relax_or_reuse(False), _relax_or_reuse(True)
    with pytest.raises(InterchemError, match="interrupted here"):
        run_flow(Flow([done, cut]), settings)
    store = embedded_store(tmp_path / "s")
    store.connect()
    assert [(d["uuid"], d["index"]) for d in incomplete_jobs(store)] == [(cut.uuid, 1)]
    before = store.docs_store.count()
    store.close()

    runner = CliRunner()
    check = runner.invoke(app, ["store", "check", "-s", str(tmp_path / "s")])
    assert check.exit_code == 0, check.output
    assert f"no output: relax or reuse X ({cut.uuid}, index 1" in check.stdout and done.uuid not in check.stdout
    assert "interchem store clean" in check.output
    clean = runner.invoke(app, ["store", "clean", "-s", str(tmp_path / "s")])
    assert clean.exit_code == 0 and "1 job document(s) without output removed" in clean.stdout
    store.connect()
    assert incomplete_jobs(store) == [] and store.docs_store.count() == before - 1
    assert store.docs_store.query_one({"uuid": done.uuid, "index": 1}) is not None  # replaced, and finished
    store.close()
    again = runner.invoke(app, ["store", "check", "-s", str(tmp_path / "s")])
    assert again.exit_code == 0 and "no output" not in again.stdout
