"""Shared fixtures. The tiny random MACE is the plumbing model: fast, offline, physically meaningless."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from paths import REFERENCE
from pymatgen.core import SETTINGS as PMG_SETTINGS

# The plumbing tests run CHGNet (fast) wherever they give no -c; the main job's own default (SevenNet-0,
# settings.screen_calculator) is tested by name in tests/test_settings.py and end to end where it matters.
os.environ.setdefault("INTERCHEM_CALCULATOR", "chgnet")
# MD checkpoints of the tests never land in the user's ~/.interchem.
os.environ.setdefault("INTERCHEM_CHECKPOINT_DIR", tempfile.mkdtemp(prefix="interchem-test-checkpoints-"))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"shared reference data not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def tiny_mace(tmp_path_factory) -> Path:
    from interchem.calculators import build_tiny_mace

    elements = ["Li", "Si", "P", "S", "Cl", "O", "N", "La", "Zr"]
    path = build_tiny_mace(tmp_path_factory.mktemp("mace") / "tiny.model", elements, seed=1)
    # Made here, so trusted (a pickled model): every test process and the Slurm / FireWorks workers they start.
    os.environ["INTERCHEM_TRUSTED_MODELS"] = json.dumps([str(path)])
    return path


@pytest.fixture(autouse=True)
def _close_external_calculators():
    """A CP2K shell a test started through the calculator cache ends with that test (the runner does the
    same after every job)."""
    yield
    from interchem.calculators import release_calculators

    release_calculators()


@pytest.fixture()
def isolated_settings(tmp_path, monkeypatch):
    """Settings pointing at a fresh store and output folder; no user config, no MP key."""
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.delenv("INTERCHEM_MP_API_KEY", raising=False)
    from interchem.settings import get_settings

    return get_settings(store_path=tmp_path / "store", output_dir=tmp_path / "out")


@pytest.fixture()
def no_potcars(monkeypatch):
    """No POTCAR library, whatever the machine running the tests has configured."""
    monkeypatch.delitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", raising=False)
    monkeypatch.delenv("PMG_VASP_PSP_DIR", raising=False)


@pytest.fixture()
def fake_potcar_library(tmp_path, monkeypatch):
    """An (empty) POTCAR library layout: enough for validate(), which only checks the configuration."""
    root = tmp_path / "psp"
    (root / "POT_GGA_PAW_PBE").mkdir(parents=True)
    monkeypatch.setitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", str(root))
    return root


def pytest_sessionfinish(session, exitstatus):
    """No process the tests started may outlive them (CP2K shells, servers, Slurm daemons, runners):
    after every fixture's teardown, whatever is left is listed, killed, and fails the session."""
    import signal

    from services import leftover_processes

    basetemp = (
        str(session.config._tmp_path_factory.getbasetemp()) if hasattr(session.config, "_tmp_path_factory") else ""
    )
    left = [
        p
        # warm batch servers (remote.warm_exec) run under slurmstepd, not under pytest: named by their socket
        for p in leftover_processes([basetemp, f"interchem-munge-{os.getpid()}-", f"interchem-warm-{os.getuid()}-"])
        if "pytest_sessionfinish" not in p[1]
    ]
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = "\n".join(f"  {pid} {cmd}" for pid, cmd in left)
    if reporter:
        reporter.write_line(
            f"processes started by the tests still running after the session (killed now):\n{lines}", red=True
        )
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


pytest_plugins = ["services"]  # real MongoDB-protocol server and Slurm for integration tests (tests/services.py)
