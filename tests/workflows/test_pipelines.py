"""The pipelines of the commands as Makers (workflows/pipelines.py): the job graph each one builds (names,
count, order), built without running a calculator; the local runner's job events; `submit`/`fireworks`
building those flows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from jobflow import job

from interchem.calculators import CalculatorSpec
from interchem.errors import InterchemError, SubmissionError
from interchem.structures.library import resolve_phase
from interchem.workflows.interface_md import InterfaceMDMaker
from interchem.workflows.pipelines import (
    QUICK_ANODES,
    QUICK_ELECTROLYTES,
    STANDARD_BARRIER_PHASES,
    InterfaceHopMaker,
    InterfacePipelineMaker,
    StandardBarriersMaker,
    ThermalScreenMaker,
    barrier_mechanisms,
    miller_index,
)

SMALL_INTERFACE = {
    "miller_anode": "111",
    "max_area": 200.0,
    "max_atoms": 120,
    "anode_thickness_A": 3.0,
    "electrolyte_thickness_A": 4.0,
    "top": 1,
}


@pytest.fixture()
def mace_spec(tiny_mace) -> CalculatorSpec:
    return CalculatorSpec(name="mace", settings={"model": str(tiny_mace)})


def _names(flow) -> list[str]:
    return [job.name for job, _ in flow.iterflow()]


def test_presets_are_defined_once():
    from interchem.cli import common

    assert QUICK_ELECTROLYTES == ["Li6PS5Cl"] and QUICK_ANODES == ["Si", "LiSi", "Li15Si4"]
    assert common.quick_presets(None, ["Li"]) == (["Li6PS5Cl"], ["Li"])
    assert len(STANDARD_BARRIER_PHASES) == 14 and not hasattr(common, "QUICK_ANODES")


def test_interface_pipeline_job_graph(mace_spec):
    si, arg = resolve_phase("Si")[1], resolve_phase("Li6PS5Cl")[1]
    maker = InterfacePipelineMaker.with_calculator(mace_spec, steps=5, md_steps=10, **SMALL_INTERFACE)
    assert maker.miller_anode == (1, 1, 1) and isinstance(maker.md_maker, InterfaceMDMaker)
    flow = maker.make(si, arg, "Si", "Li6PS5Cl")
    names = _names(flow)
    label = names[2].removeprefix("single points ")
    assert label.startswith("Si(111)") and "Li6PS5Cl(100)" in label
    # the calculator's makers: bulk references relaxed like the slabs (the electrolyte's strained as its film
    # is), the gap scan's single points, then the relaxations
    assert names == [
        "relax bulk Si",
        "relax bulk Li6PS5Cl strained #1",
        f"single points {label}",
        "bulk reference Si",
        "bulk reference Li6PS5Cl strained #1",
        f"gap scan {label}",
        f"relax interface {label}",
        f"split interface {label}",
        f"single points {label} parts",
        f"relax anode part {label}",
        f"relax electrolyte part {label}",
        f"adhesion {label}",
        "rank interfaces",
        "interface md on the 1 best",
    ]
    assert set(flow.output) == {"summary", "md"} and flow.name == "interface pipeline Si|Li6PS5Cl"
    # no MD: the interface flow alone; top=2: two candidates, each single points -> gap scan -> relax ->
    # split -> single points of the parts -> two part relaxations -> adhesion
    no_md = InterfacePipelineMaker.with_calculator(mace_spec, md_steps=0, **{**SMALL_INTERFACE, "top": 2}).make(
        si, arg, "Si", "Li6PS5Cl"
    )
    names = _names(no_md)
    # shared: the anode's bulk relaxation and reference; per candidate strain of the film, the electrolyte's
    # strained bulk relaxation and reference (two candidates here, two strains)
    strains = sum(n.startswith("relax bulk Li6PS5Cl strained") for n in names)
    assert strains == 2 and sum(n.startswith("bulk reference Li6PS5Cl strained") for n in names) == strains
    assert len(names) == 2 + 2 * strains + 2 * 8 + 1 and names[-1] == "rank interfaces" and no_md.output["md"] == []


def test_interface_pipeline_checks_its_settings(mace_spec):
    with pytest.raises(InterchemError, match="top must be >= 1"):
        InterfacePipelineMaker(top=0)
    with pytest.raises(InterchemError, match="'anode' or 'electrolyte'"):
        InterfacePipelineMaker(amorphous="both")  # type: ignore[arg-type]
    with pytest.raises(InterchemError, match="Miller index"):
        InterfacePipelineMaker(miller_anode="000")  # type: ignore[arg-type]
    assert (
        miller_index("1-10") == (1, -1, 0) and miller_index(111) == (1, 1, 1) and miller_index([1, 1, 0]) == (1, 1, 0)
    )


def test_md_on_best_replaces_itself_with_interface_md(mace_spec):
    """The dynamic step: the ranked summary decides which interface gets MD (Response.replace)."""
    from jobflow import Response

    from interchem.workflows.interfaces import InterfaceSummary
    from interchem.workflows.pipelines import md_on_best

    si, arg = resolve_phase("Si")[1], resolve_phase("Li6PS5Cl")[1]
    cand = InterfacePipelineMaker(**SMALL_INTERFACE).candidates(si, arg, "Si", "Li6PS5Cl")[0]
    result = SimpleNamespace(structure=cand.structure, label=cand.label())
    summary = SimpleNamespace(results=[result])
    md = InterfaceMDMaker(calculator=mace_spec, steps=4)
    original = InterfaceSummary.model_validate
    try:
        InterfaceSummary.model_validate = staticmethod(lambda s: s)  # a stand-in summary, no relaxation run
        response = md_on_best.original(summary, md, 1)
        assert md_on_best.original(SimpleNamespace(results=[]), md, 1) == []
    finally:
        InterfaceSummary.model_validate = original
    assert isinstance(response, Response)
    assert _names(response.replace) == [f"md {cand.label()} 600 K", f"interface reactivity {cand.label()}"]


def test_interface_hop_job_graph(mace_spec):
    li, li2s = resolve_phase("Li", primitive=False)[1], resolve_phase("Li2S")[1]
    maker = InterfaceHopMaker(calculator=mace_spec, n_images=3, max_atoms=200)
    flow = maker.make(li, li2s, "Li", "Li2S")
    assert flow.name == "Li|Li2S interface hop" and len(flow.jobs) == 1
    job = flow.jobs[0]
    assert job.function_args[2] == {"n_images": 3, "fmax": 0.05} and job.function_args[3] == flow.name


def test_standard_barriers_job_graph(mace_spec):
    structures = {name: resolve_phase(name, primitive=False)[1] for name in ("Li2S", "Si")}
    assert barrier_mechanisms(structures["Si"], "vacancy") == ("interstitial",)
    assert barrier_mechanisms(structures["Li2S"], "both") == ("vacancy", "interstitial")
    with pytest.raises(InterchemError, match="unknown mechanism"):
        barrier_mechanisms(structures["Li2S"], "hopping")
    flow = StandardBarriersMaker(calculator=mace_spec, max_hops=1, neb_settings={"n_images": 3}).make(structures)
    assert [f.name for f in flow.jobs] == ["li barriers Li2S", "li barriers Si"] and len(flow.output) == 2
    # Si has no Li: interstitial sites relaxed at run time (a dynamic job), then the hops between them
    assert _names(flow) == [
        "neb Li2S vacancy hop 0",
        "barrier report Li2S",
        "interstitial sites Si",
        "interstitial hops Si",
        "barrier report Si",
    ]


def test_thermal_screen_job_graph(mace_spec):
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    from interchem.workflows.phonons import PhononsMaker, PhononSummary

    entries = []
    for name in ("Li", "LiCl", "Cl2"):
        s = resolve_phase(name)[1]
        entries.append(ComputedStructureEntry(s, -1.0 * len(s), data={"phase": name}))
    screen = SimpleNamespace(
        entries=entries, relaxations=[{"phase": e.data["phase"]} for e in entries], anodes=["Li"], electrolytes=["LiCl"]
    )
    stored = {"Li": PhononSummary.model_construct(phase="Li")}
    maker = ThermalScreenMaker(temperature_K=333.0, phonons_maker=PhononsMaker(calculator=mace_spec, min_length=5.0))
    flow = maker.make(screen, stored, {"LiCl": "k1", "Cl2": "k2"})
    assert [f.name for f in flow.jobs] == ["phonons LiCl", "phonons Cl2", "screen at 333 K"]
    assert flow.output.uuid == flow.jobs[-1].uuid
    with pytest.raises(InterchemError, match="outside"):
        ThermalScreenMaker(temperature_K=5000.0)


@job
def add(a, b):
    return a + b


@job
def reused():
    return {"reused": True, "value": 1}


@job
def broken(x):
    raise ValueError(f"no good: {x}")


def test_local_runner_reports_job_events_and_the_failing_jobs_own_error(isolated_settings, tmp_path):
    from jobflow import Flow

    from interchem.runner import run_flow

    first, again = add(1, 2), reused()
    events: list[tuple[str, str]] = []
    assert run_flow(
        Flow([first, again], output=[first.output, again.output]),
        isolated_settings,
        progress=lambda e, n: events.append((e, n)),
        work_dir=tmp_path / "a",
    ) == [3, {"reused": True, "value": 1}]
    assert events == [("starting", "add"), ("finished", "add"), ("starting", "reused"), ("reused", "reused")]
    start = add(1, 2)
    bad = broken(start.output)
    after = add(bad.output, 1)  # its parent failed: skipped, as jobflow's run_locally does
    events.clear()
    with pytest.raises(InterchemError, match=r"the test flow did not finish: broken: ValueError: no good: 3"):
        run_flow(
            Flow([start, bad, after]),
            isolated_settings,
            progress=lambda e, n: events.append((e, n)),
            work_dir=tmp_path / "b",
            what="the test flow",
        )
    assert ("starting", "add") in events and not any(n == "add" and e == "starting" for e, n in events[2:])


def test_submit_and_fireworks_build_the_pipeline_flows(isolated_settings, mace_spec):
    from interchem.remote.flows import FlowRequest, build_flow

    req = FlowRequest(
        "interface",
        phases=["Si", "Li6PS5Cl"],
        calculator=mace_spec,
        steps=5,
        maker_kwargs={**SMALL_INTERFACE, "md_steps": 10},
    )
    flow, summary, name = build_flow(req, isolated_settings)
    assert name == "interface" and summary.startswith("interface: interface pipeline Si|Li6PS5Cl")
    relax = next(j for j in flow.jobs[0].jobs if j.name.startswith("relax interface"))
    assert _names(flow)[-1] == "interface md on the 1 best" and relax.function_args[3] == 5  # steps
    with pytest.raises(SubmissionError, match="two phases"):
        build_flow(FlowRequest("interface", phases=["Si"], calculator=mace_spec), isolated_settings)
    with pytest.raises(SubmissionError, match="bad arguments"):
        build_flow(FlowRequest("interface-hop", phases=["Si", "LiCl"], maker_kwargs={"nonsense": 1}), isolated_settings)
    flow, _, name = build_flow(
        FlowRequest("barriers", phases=["Li2S"], calculator=mace_spec, maker_kwargs={"max_hops": 1}), isolated_settings
    )
    assert name == "barriers" and flow.name == "barriers Li2S"
    flow, summary, _ = build_flow(
        FlowRequest("screen", quick=True, calculator=mace_spec, anodes=["Si"]), isolated_settings
    )
    assert "calculator mace" in summary and any(n == "relax or reuse Li6PS5Cl" for n in _names(flow))


def test_fireworks_cli_takes_the_screen_options_and_the_interface_pipeline(
    isolated_settings, tiny_mace, tmp_path, monkeypatch
):
    """--no-add: the workflow is built and written, no LaunchPad needed."""
    import json

    from typer.testing import CliRunner

    from interchem.cli import app

    monkeypatch.setenv("COLUMNS", "250")
    calc = f"mace:model={tiny_mace}"
    wf_file = tmp_path / "wf.json"
    r = CliRunner().invoke(
        app,
        [
            "fireworks",
            "screen",
            "-e",
            "Li2S",
            "-a",
            "Si",
            "-p",
            "LiCl",
            "-c",
            calc,
            "--static-calculator",
            calc,
            "--fmax",
            "0.1",
            "--relax-steps",
            "7",
            "--no-add",
            "-o",
            str(wf_file),
        ],
    )
    assert r.exit_code == 0, r.output
    jobs = {fw["name"]: fw["spec"]["_tasks"][0]["job"] for fw in json.loads(wf_file.read_text())["fws"]}
    assert "relax or reuse LiCl" in jobs and "static or reuse Li2S" in jobs  # --phase and --static-calculator
    assert jobs["relax or reuse Li2S"]["function_args"][3:5] == [0.1, 7]  # --fmax and --relax-steps
    r = CliRunner().invoke(
        app,
        [
            "fireworks",
            "interface",
            "Si",
            "Li6PS5Cl",
            "-c",
            calc,
            "--relax-steps",
            "5",
            "--no-add",
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
            "-o",
            str(wf_file),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "interface pipeline Si|Li6PS5Cl" in r.output and "fireworks" in r.output
    wf = json.loads(wf_file.read_text())
    names = [fw["name"] for fw in wf["fws"]]
    assert "rank interfaces" in names and "interface md on the 1 best" in names
