"""One console: results on stdout, library warnings and model banners kept out of the terminal unless
``-v``, ``--version``, ``-h``, ``--traceback``."""

from __future__ import annotations

import warnings

import pytest
from typer.testing import CliRunner

from interchem.cli import app
from interchem.cli.common import LibraryWarnings


def test_version_and_short_help():
    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("interchem 0.") and "pymatgen" in version.stdout
    short = runner.invoke(app, ["screen", "-h"])
    assert short.exit_code == 0 and "--electrolyte" in short.stdout


def test_library_warnings_are_counted_not_printed(capsys):
    collected = LibraryWarnings()
    saved = warnings.showwarning
    try:
        warnings.showwarning = collected.showwarning
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = collected.showwarning
            for _ in range(3):  # as jobflow's "cd is deprecated" comes once per job
                warnings.warn_explicit("cd is deprecated", FutureWarning, "/x/site-packages/jobflow/local.py", 168)
    finally:
        warnings.showwarning = saved
    assert collected.hidden == {"FutureWarning: cd is deprecated": 3}
    assert "cd is deprecated" not in capsys.readouterr().err
    collected.summary()
    assert "3 library warning(s) hidden" in capsys.readouterr().err


def test_chgnet_banner_does_not_reach_stdout(capsys):
    pytest.importorskip("chgnet")
    from interchem.calculators import ase_calculator, release_calculators

    release_calculators(external_only=False)  # a fresh load, which is when CHGNet prints its banner
    ase_calculator("chgnet")
    captured = capsys.readouterr()
    assert "CHGNet" not in captured.out


def test_traceback_flag_prints_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    runner = CliRunner()
    plain = runner.invoke(app, ["screen", "-e", "NoSuchPhase", "-s", str(tmp_path / "s"), "--create"])
    assert plain.exit_code == 3 and "NoSuchPhase" in plain.output and "Traceback" not in plain.output
    full = runner.invoke(app, ["--traceback", "screen", "-e", "NoSuchPhase", "-s", str(tmp_path / "s"), "--create"])
    assert full.exit_code == 3 and "Traceback" in full.output
