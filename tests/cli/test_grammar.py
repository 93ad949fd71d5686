"""The CLI grammar (issue 14): one option name and type per concept over every command (checked through
click), lists by repeated or comma-separated flags, enums for choices, distinct exit codes, "did you
mean" for phases and calculators, ``--create`` for a new ``-s`` store, and docs/cli.md generated from
the code."""

from __future__ import annotations

from typing import Annotated, Optional

import pytest
import typer
from paths import ROOT
from typer.testing import CliRunner

from interchem.cli import app
from interchem.cli.common import split_list
from interchem.cli.docs import grammar_problems, markdown

runner = CliRunner()


@pytest.fixture()
def no_config(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.delenv("INTERCHEM_STORE_URI", raising=False)
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.delenv("INTERCHEM_MP_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # the default store and output, if anything made them, land here


def test_docs_cli_md_is_generated_from_the_code():
    assert (ROOT / "docs" / "cli.md").read_text() == markdown(), (
        "docs/cli.md is stale: run `PYTHONPATH=src python -m interchem.cli.docs > docs/cli.md`"
    )


def test_every_command_keeps_the_grammar():
    assert grammar_problems() == []


def test_grammar_check_fails_on_divergent_names_and_types():
    """The checker itself: a small app that breaks each rule once is reported rule by rule."""
    bad = typer.Typer()

    @bad.command()
    def one(
        steps: Annotated[int, typer.Option("--steps", help="optimiser steps")] = 5,
        length: Annotated[float, typer.Option("--supercell-length", help="A")] = 8.0,
        calc: Annotated[Optional[str], typer.Option("--calculator", help="no -c")] = None,
    ) -> None:
        """One."""

    @bad.command()
    def two(
        target: str,
        length: Annotated[str, typer.Option("--supercell-length", help="a string now")] = "8",
        temp: Annotated[Optional[list[float]], typer.Option("--temperature", "-T", help="floats")] = None,
        store: Annotated[Optional[str], typer.Option("--storage", "-s")] = None,
    ) -> None:
        """Two."""

    text = "\n".join(grammar_problems(bad))
    assert "one --steps: retired name, use --relax-steps or --md-steps" in text
    assert "two --supercell-length: type str, the concept's is float" in text
    assert "two --supercell-length: type str, but float in one" in text
    assert "one --calculator: lacks the concept's short flag -c" in text
    assert "two --temperature: type list[float]" in text and "must take text" in text
    assert "two --storage: -s belongs to --store" in text and "two --storage: no help text" in text
    assert "two TARGET: no help text" in text


def test_lists_are_repeated_or_comma_separated(no_config, tmp_path):
    assert split_list(["Li2S, LiCl", "Si", ""]) == ["Li2S", "LiCl", "Si"]
    assert split_list(None) == []
    # Both spellings reach the command: the second item of a comma list is resolved (and refused) too.
    for args in (["-e", "Li6PS5Cl,NoSuchPhase"], ["-e", "Li6PS5Cl", "-e", "NoSuchPhase"]):
        r = runner.invoke(app, ["screen", *args, "-a", "Si", "-s", str(tmp_path / "s"), "--create"])
        assert r.exit_code == 3 and "NoSuchPhase" in r.output, r.output
    r = runner.invoke(app, ["diffusion", "Li2S", "-T", "600", "-T", "700,abc"])
    assert r.exit_code == 3 and "temperatures must be numbers" in r.output
    assert not (tmp_path / "s").exists() and not (tmp_path / "interchem-store").exists()


def test_old_spellings_still_work_with_a_warning(no_config):
    # --temperatures and --steps reach diffusion as -T and --md-steps: the run is refused for the
    # temperature count, which only -T carries.
    r = runner.invoke(app, ["diffusion", "Li2S", "--temperatures", "600,700", "--steps=10"])
    assert r.exit_code == 3 and "at least 3 temperatures" in r.output, r.output
    assert "--temperatures is deprecated; use --temperature" in r.output
    assert "--steps is deprecated; use --md-steps" in r.output
    # the same old word means --relax-steps in screen: a negative count is refused by that setting
    r = runner.invoke(app, ["screen", "--quick", "--steps", "-1"])
    assert r.exit_code == 3 and "relax_steps" in r.output, r.output


def test_choices_are_enums_and_a_wrong_one_is_a_usage_error(no_config):
    r = runner.invoke(app, ["barriers", "Li2S", "--mechanism", "teleport"])
    assert r.exit_code == 2 and "vacancy" in r.output and "interstitial" in r.output
    r = runner.invoke(app, ["interface", "Si", "Li6PS5Cl", "--model", "slab"])
    assert r.exit_code == 2 and "periodic" in r.output


def test_help_is_grouped_and_every_command_has_short_help():
    top = runner.invoke(app, ["-h"], env={"COLUMNS": "200"})
    assert top.exit_code == 0 and "Si / Li_xSi anodes" in top.output and "Exit codes" in top.output
    panels = ["Thermodynamics", "Interfaces and structures", "Kinetics", "Store and results", "Cluster", "Library"]
    positions = [top.output.index(f"─ {p} ") for p in panels]
    assert positions == sorted(positions)
    assert runner.invoke(app, ["store", "-h"]).exit_code == 0
    for name in ("screen", "diffusion", "barriers", "submit", "results", "lithiation"):
        r = runner.invoke(app, [name, "-h"], env={"COLUMNS": "200"})
        assert r.exit_code == 0 and "sevennet" in r.output and "vasp" in r.output, name  # one -c help


def test_exit_codes_usage_input_service(no_config, tmp_path, monkeypatch):
    assert runner.invoke(app, ["screen", "--no-such-option"]).exit_code == 2
    assert runner.invoke(app, ["tieline", "Li2S"]).exit_code == 2  # missing argument
    assert runner.invoke(app, ["screen", "-e", "NoSuchPhase"]).exit_code == 3
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("INTERCHEM_STORE_URI", f"mongodb://127.0.0.1:{port}/interchem")
    monkeypatch.setenv("INTERCHEM_STORE_TIMEOUT_MS", "300")
    r = runner.invoke(app, ["results"])
    assert r.exit_code == 5 and "unreachable" in r.output, r.output


def test_a_failed_job_is_a_calculation_error(tmp_path, isolated_settings):
    """A job that raises makes run_flow raise CalculationError, which the CLI turns into exit 4."""
    from jobflow import Flow

    from interchem.cli.common import fail
    from interchem.errors import CalculationError
    from interchem.runner import run_flow

    flow = Flow([_boom()], name="boom")
    with pytest.raises(CalculationError, match="boom: RuntimeError: the job broke") as info:
        run_flow(flow, isolated_settings, what="the test flow")
    with pytest.raises(typer.Exit) as exited:
        fail(info.value)
    assert exited.value.exit_code == 4


def _boom():
    from jobflow import job

    @job(name="boom")
    def boom():
        raise RuntimeError("the job broke")

    return boom()


def test_did_you_mean_for_phases_and_calculators(no_config, tmp_path):
    from interchem.errors import UnknownCalculatorError, UnknownPhaseError
    from interchem.structures.library import check_phase_name, resolve_phase

    with pytest.raises(UnknownPhaseError, match=r"Did you mean: Li6PS5Cl"):
        resolve_phase("Li6PS5Cll")
    with pytest.raises(UnknownPhaseError, match=r"Did you mean: Li2S\b"):
        check_phase_name("li2s")  # case is forgiven in the suggestion, not in the name
    assert check_phase_name("llzo") == "Li7La3Zr2O12" and check_phase_name("Li3N") == "Li3N"  # a formula passes
    from interchem.calculators.registry import CalculatorSpec, check_calculator

    with pytest.raises(UnknownCalculatorError, match=r"Did you mean: chgnet\?"):
        check_calculator(CalculatorSpec.parse("chgnett"))
    r = runner.invoke(app, ["screen", "-c", "sevenet", "-e", "Li2S", "-a", "Si"])
    assert r.exit_code == 3 and "Did you mean: sevennet?" in " ".join(r.output.split())


def test_tieline_checks_phase_names_before_the_store(no_config, tmp_path):
    r = runner.invoke(app, ["tieline", "Li2s", "Lii", "-s", str(tmp_path / "nowhere")])
    text = " ".join(r.output.split())
    assert r.exit_code == 3 and "unknown phase 'Li2s'" in text and "Did you mean: Li2S" in text
    assert "there is no store" not in text and not (tmp_path / "nowhere").exists()


def test_a_named_store_must_exist_unless_create(no_config, tmp_path):
    typo = tmp_path / "interchem-stroe"
    for args in (["screen", "--quick"], ["diffusion", "Li2S"], ["amorphous", "a-Si"], ["lithiation"]):
        r = runner.invoke(app, [*args, "-s", str(typo)])
        text = " ".join(r.output.split())
        assert r.exit_code == 3 and "there is no store" in text and "--create" in text, (args, r.output)
    assert not typo.exists()
    # with --create the store check passes and the next check (here: the phase) speaks
    r = runner.invoke(app, ["screen", "-e", "NoSuchPhase", "-s", str(typo), "--create"])
    assert r.exit_code == 3 and "NoSuchPhase" in r.output and "there is no store" not in r.output
