"""Scale-out commands: ``remote-project``, ``submit``, ``results``, ``fireworks`` (registered on the main app).

Nothing here prints a credential: store descriptions name host and database only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from interchem.cli.common import (
    CLUSTER,
    RESULTS,
    AnodeOption,
    CalculatorOption,
    ElectrolyteOption,
    FmaxOption,
    PhaseOption,
    QuickOption,
    RelaxStepsOption,
    StaticCalculatorOption,
    StoreOption,
    app,
    console,
    fail,
    out,
    parse_calculator,
    split_list,
)
from interchem.errors import InterchemError


def _resources(resources_file, nodes, ntasks, cpus_per_task, walltime, partition, account, qos, mem, module, pre_run):
    from interchem.remote.resources import load_resources

    return load_resources(
        resources_file,
        nodes=nodes,
        ntasks=ntasks,
        cpus_per_task=cpus_per_task,
        walltime=walltime,
        partition=partition,
        account=account,
        qos=qos,
        mem=mem,
        modules=split_list(module) or None,
        pre_run=pre_run,
    )


_R = {
    "resources_file": typer.Option(
        "--resources", "-r", help="YAML file of resources (see fireworks_config/resources.example.yaml)"
    ),
    "nodes": typer.Option("--nodes", help="SLURM nodes"),
    "ntasks": typer.Option("--ntasks", help="SLURM tasks (MPI ranks)"),
    "cpus_per_task": typer.Option("--cpus-per-task", help="threads per task"),
    "walltime": typer.Option("--walltime", "-t", help="HH:MM:SS or D-HH:MM:SS"),
    "partition": typer.Option("--partition", "-P", help="SLURM partition (checked before submitting)"),
    "account": typer.Option("--account", help="SLURM account"),
    "qos": typer.Option("--qos", help="SLURM QOS"),
    "mem": typer.Option("--mem", help="memory per node, e.g. 8G"),
    "module": typer.Option(
        "--module",
        help="environment module to load before each job; repeat the option or give comma-separated values",
    ),
    "pre_run": typer.Option("--pre-run", help="shell line run before each job (e.g. activate the venv)"),
}


@app.command("remote-project", rich_help_panel=CLUSTER)
def remote_project(
    name: Annotated[
        Optional[str], typer.Option("--name", help="project name (default: settings remote_project, 'interchem')")
    ] = None,
    worker: Annotated[str, typer.Option("--worker", help="worker name")] = "slurm",
    ssh_host: Annotated[
        Optional[str], typer.Option("--ssh-host", help="cluster login node: SLURM over SSH instead of this host")
    ] = None,
    ssh_user: Annotated[Optional[str], typer.Option("--ssh-user", help="user name on the login node")] = None,
    ssh_key: Annotated[Optional[str], typer.Option("--ssh-key", help="private key file")] = None,
    work_dir: Annotated[Optional[str], typer.Option("--work-dir", help="where jobs run on the worker")] = None,
    runner_delay: Annotated[
        float, typer.Option("--runner-delay", help="seconds between runner checks (jobflow-remote default 30)")
    ] = 30.0,
    batch: Annotated[
        Optional[int],
        typer.Option("--batch", help="run N jobs at a time in one Slurm allocation (jobflow-remote batch mode)"),
    ] = None,
    cold_batch: Annotated[
        bool,
        typer.Option(
            "--cold-batch",
            help="with --batch: start a new Python per job (jobflow-remote's own way) instead of forking "
            "one that imported torch & co. once per allocation",
        ),
    ] = False,
    resources_file: Annotated[Optional[Path], _R["resources_file"]] = None,
    nodes: Annotated[Optional[int], _R["nodes"]] = None,
    ntasks: Annotated[Optional[int], _R["ntasks"]] = None,
    cpus_per_task: Annotated[Optional[int], _R["cpus_per_task"]] = None,
    walltime: Annotated[Optional[str], _R["walltime"]] = None,
    partition: Annotated[Optional[str], _R["partition"]] = None,
    account: Annotated[Optional[str], _R["account"]] = None,
    qos: Annotated[Optional[str], _R["qos"]] = None,
    mem: Annotated[Optional[str], _R["mem"]] = None,
    module: Annotated[Optional[list[str]], _R["module"]] = None,
    pre_run: Annotated[Optional[str], _R["pre_run"]] = None,
) -> None:
    """Write a jobflow-remote project (SLURM worker here or over SSH) from fireworks_config/ templates.
    Then: `jf -p NAME admin reset` once, and `jf -p NAME runner start`."""
    from interchem.remote.project import render_project, write_project
    from interchem.settings import get_settings

    try:
        settings = get_settings(remote_project=name)
        res = _resources(
            resources_file, nodes, ntasks, cpus_per_task, walltime, partition, account, qos, mem, module, pre_run
        )
        data = render_project(
            settings,
            worker=worker,
            work_dir=work_dir,
            resources=res,
            pre_run=res.pre_run,
            runner_delay=runner_delay,
            ssh_host=ssh_host,
            ssh_user=ssh_user,
            ssh_key=ssh_key,
            batch=batch,
            warm=not cold_batch,
        )
        path = write_project(data, settings)
    except InterchemError as exc:
        fail(exc)
    out.print(f"project {data['name']!r} written to {path}")
    # -y: jf's confirmation prompt fails with EOFError in scripts (docs/cluster.md, "Without prompts")
    console.print(f"next: jf -p {data['name']} admin reset -y   (once)   then   jf -p {data['name']} runner start")


FLOW_HELP = (
    "a pipeline: screen, interface ANODE ELECTROLYTE, interface-hop ANODE ELECTROLYTE, barriers [PHASE...], "
    "thermal; or a Maker as package.module:Class; or a YAML/JSON flow spec file"
)
FlowArgument = Annotated[str, typer.Argument(help=FLOW_HELP)]
PipelinePhases = Annotated[
    Optional[list[str]], typer.Argument(help="phases of the pipeline (interface: ANODE ELECTROLYTE)")
]
MakerArgOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--maker-arg", help="KEY=VALUE (YAML value) for the Maker / pipeline settings, e.g. md_steps=100; repeatable"
    ),
]
MakeArgOption = Annotated[
    Optional[list[str]],
    typer.Option("--make-arg", help="(module:Class) KEY=VALUE for make(); {phase: X} / {file: P} give structures"),
]


def _flow_request(
    flow,
    phases,
    electrolyte,
    anode,
    phase,
    calculator,
    static_calculator,
    quick,
    fmax,
    steps,
    maker_arg,
    make_arg,
    name,
):
    from interchem.remote.flows import FlowRequest
    from interchem.settings import get_settings

    default = get_settings().calculator
    return FlowRequest(
        target=flow,
        phases=list(phases or []),
        electrolytes=split_list(electrolyte) or None,
        anodes=split_list(anode) or None,
        extra_phases=split_list(phase),
        calculator=parse_calculator(calculator, default) if calculator else None,
        static_calculator=parse_calculator(static_calculator, default) if static_calculator else None,
        quick=quick,
        maker_kwargs=_kv(maker_arg),
        make_kwargs=_kv(make_arg),
        name=name,
        fmax=fmax,
        steps=steps,
    )


@app.command(rich_help_panel=CLUSTER)
def submit(
    flow: FlowArgument,
    phases: PipelinePhases = None,
    electrolyte: ElectrolyteOption = None,
    anode: AnodeOption = None,
    phase: PhaseOption = None,
    calculator: CalculatorOption = None,
    static_calculator: StaticCalculatorOption = None,
    quick: QuickOption = False,
    fmax: FmaxOption = None,
    relax_steps: RelaxStepsOption = None,
    maker_arg: MakerArgOption = None,
    make_arg: MakeArgOption = None,
    name: Annotated[
        Optional[str], typer.Option("--name", help="flow name recorded with every result (for `results --flow`)")
    ] = None,
    project: Annotated[
        Optional[str], typer.Option("--project", help="jobflow-remote project (default: settings remote_project)")
    ] = None,
    worker: Annotated[
        Optional[str], typer.Option("--worker", help="worker of the project (default: its first)")
    ] = None,
    no_reuse: Annotated[
        bool, typer.Option("--no-reuse", help="recompute even when identical results are stored")
    ] = False,
    resources_file: Annotated[Optional[Path], _R["resources_file"]] = None,
    nodes: Annotated[Optional[int], _R["nodes"]] = None,
    ntasks: Annotated[Optional[int], _R["ntasks"]] = None,
    cpus_per_task: Annotated[Optional[int], _R["cpus_per_task"]] = None,
    walltime: Annotated[Optional[str], _R["walltime"]] = None,
    partition: Annotated[Optional[str], _R["partition"]] = None,
    account: Annotated[Optional[str], _R["account"]] = None,
    qos: Annotated[Optional[str], _R["qos"]] = None,
    mem: Annotated[Optional[str], _R["mem"]] = None,
    module: Annotated[Optional[list[str]], _R["module"]] = None,
    pre_run: Annotated[Optional[str], _R["pre_run"]] = None,
) -> None:
    """Submit an interchem flow to SLURM through jobflow-remote (results go to the MongoDB store).

    Checked first, nothing submitted on failure: store reachable and credentials valid, project and
    worker exist, partition exists, worker has the calculator's packages. Calculations already in the
    store (same structure, calculator and settings) are reused, not recomputed."""
    import yaml

    from interchem.remote.flows import build_flow
    from interchem.remote.submit import submit as do_submit
    from interchem.settings import get_settings

    try:
        settings = get_settings(relax_fmax=fmax, relax_steps=relax_steps, remote_project=project)
        res = _resources(
            resources_file, nodes, ntasks, cpus_per_task, walltime, partition, account, qos, mem, module, pre_run
        )
        request = _flow_request(
            flow,
            phases,
            electrolyte,
            anode,
            phase,
            calculator,
            static_calculator,
            quick,
            fmax,
            relax_steps,
            maker_arg,
            make_arg,
            name,
        )
        told: dict = {}

        def build():  # called by submit with the results store at hand: stored results are resolved here
            jf_flow, told["summary"], told["name"] = build_flow(request, settings)
            return jf_flow

        result = do_submit(
            build, lambda: told["name"], settings=settings, worker=worker, resources=res, reuse=not no_reuse
        )
    except (InterchemError, yaml.YAMLError) as exc:
        fail(exc)
    _report_submission(result, told["summary"])


def _report_submission(result, summary: str) -> None:
    """What ``submit`` did: the checks passed, what was reused, the flow and how to follow it."""
    console.print(f"[bold]interchem submit[/] {summary}")
    if result.ran_here:
        console.print(f"  reused from the store ({len(result.reused)}): {', '.join(result.reused)}")
        out.print(
            f"nothing to submit: every calculation of flow {result.flow_name!r} ({result.flow_uuid}) was stored; "
            f"its {result.ran_here} job(s), which only hand on or analyse stored results, ran here in "
            f"{result.wall_s:.0f} s and were stored with it",
            soft_wrap=True,  # one line: scripts read the uuid from it
        )
        console.print(f"results: interchem results --flow {result.flow_name}")
        return
    p = result.preflight
    console.print(
        f"  checks passed: {p.store}; project {p.project}, worker {p.worker}"
        + (f", partition {p.partition}" if p.partition else "")
        + f"; packages {', '.join(p.packages)}"
    )
    if result.reused:
        console.print(f"  reused from the store ({len(result.reused)}): {', '.join(result.reused)}")
    out.print(
        f"submitted flow {result.flow_name!r} ({result.flow_uuid}): {result.n_jobs} jobs, "
        f"db ids {', '.join(result.db_ids)}"
    )
    console.print(f"follow with: jf -p {p.project} job list   |   results: interchem results --flow {result.flow_name}")


def _kv(items: list[str] | None) -> dict:
    import yaml

    from interchem.errors import SubmissionError

    outd = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SubmissionError(f"argument {item!r} is not KEY=VALUE")
        outd[key.strip()] = yaml.safe_load(value)
    return outd


@app.command(rich_help_panel=RESULTS)
def results(
    chemsys: Annotated[
        Optional[str], typer.Option("--chemsys", help="e.g. Li-Si: results within these elements")
    ] = None,
    phase: Annotated[
        Optional[list[str]],
        typer.Option(
            "--phase", "-p", help="phase name or reduced formula; repeat the option or give comma-separated values"
        ),
    ] = None,
    calculator: CalculatorOption = None,
    prop: Annotated[
        Optional[str], typer.Option("--property", help="only results with this property; shown as the value column")
    ] = None,
    flow: Annotated[
        Optional[str], typer.Option("--flow", "-f", help="flow name given at submission, or flow uuid")
    ] = None,
    include_reused: Annotated[
        bool, typer.Option("--include-reused", help="also list records that reused a stored calculation")
    ] = False,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", help="export the rows as JSON to this file ('-': stdout)")
    ] = None,
    csv_out: Annotated[
        Optional[Path], typer.Option("--csv", help="export the rows as CSV to this file ('-': stdout)")
    ] = None,
    report_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--report", help="re-draw the reports of the latest matching stored screen and kinetics results here"
        ),
    ] = None,
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", help="maximum rows")] = 10_000,
) -> None:
    """Query stored results (embedded store or MongoDB): filter, print a table, export JSON/CSV, re-draw reports."""
    from interchem.remote.results import export, query_results, redraw_reports, table_columns, table_rows
    from interchem.settings import get_settings
    from interchem.store import check_store

    try:
        settings = get_settings(store_path=store)
        where = check_store(settings, timeout_ms=settings.store_timeout_ms)
        rows = query_results(
            settings,
            chemsys=chemsys,
            phase=split_list(phase),
            calculator=calculator,
            prop=prop,
            flow=flow,
            include_reused=include_reused,
            limit=limit,
        )
        reports = redraw_reports(report_dir, settings, flow=flow, calculator=calculator) if report_dir else []
    except InterchemError as exc:
        fail(exc)
    shown, left_out = table_rows(rows, prop)
    cols = table_columns(shown, prop)
    table = Table(title=f"{len(shown)} stored results ({where})")
    for col in ("flow", "job", "phase", "formula", "chemsys", "calculator", *cols):
        table.add_column(col, no_wrap=col in ("flow", "job"))  # the flow name or its full uuid, never cut
    for r in shown:
        table.add_row(
            r.flow,
            r.name,
            r.phase or "",
            r.formula or "",
            r.chemsys or "",
            (r.calculator or "")[:40],
            *[("" if r.properties.get(c) is None else f"{r.properties[c]:.6g}") for c in cols],
        )
    for target, fmt in ((json_out, "json"), (csv_out, "csv")):
        if target is None:
            continue
        text = export(rows, fmt, prop)
        if str(target) == "-":
            out.print(text, markup=False, highlight=False, soft_wrap=True)
            return
        target.write_text(text)
        console.print(f"{fmt.upper()}: {target} ({len(rows)} rows)")
    out.print(table)
    if left_out:
        kinds = ", ".join(sorted({n.split(" ")[0] if n.startswith(("relax ", "static ")) else n for n in left_out}))
        console.print(f"{len(left_out)} job outputs of no phase not shown ({kinds}); --json/--csv export every row")
    for path in reports:
        console.print(f"report (from stored results, nothing recomputed): {path}")


@app.command(rich_help_panel=CLUSTER)
def fireworks(
    flow: FlowArgument,
    phases: PipelinePhases = None,
    electrolyte: ElectrolyteOption = None,
    anode: AnodeOption = None,
    phase: PhaseOption = None,
    calculator: CalculatorOption = None,
    static_calculator: StaticCalculatorOption = None,
    quick: QuickOption = False,
    fmax: FmaxOption = None,
    relax_steps: RelaxStepsOption = None,
    maker_arg: MakerArgOption = None,
    make_arg: MakeArgOption = None,
    name: Annotated[Optional[str], typer.Option("--name", help="workflow name (default: the flow's)")] = None,
    config_dir: Annotated[
        Optional[Path], typer.Option("--write-config", help="write my_launchpad/my_fworker/my_qadapter.yaml here")
    ] = None,
    add: Annotated[
        bool, typer.Option("--add/--no-add", help="add the workflow to the LaunchPad (MongoDB store settings)")
    ] = True,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="also write the FireWorks workflow as JSON")
    ] = None,
) -> None:
    """Convert an interchem flow (the same targets and options as `submit`) to a FireWorks workflow
    (jobflow's flow_to_workflow) and add it to the LaunchPad on the MongoDB store; run it with
    `rlaunch -l my_launchpad.yaml rapidfire` or the qadapter."""
    import yaml
    from jobflow import Flow, Job

    from interchem.remote.fireworks import add_to_launchpad, to_workflow, write_config
    from interchem.remote.flows import build_flow
    from interchem.settings import get_settings

    try:
        settings = get_settings(relax_fmax=fmax, relax_steps=relax_steps)
        request = _flow_request(
            flow,
            phases,
            electrolyte,
            anode,
            phase,
            calculator,
            static_calculator,
            quick,
            fmax,
            relax_steps,
            maker_arg,
            make_arg,
            name,
        )
        jf_flow, summary, default_name = build_flow(request, settings)
        if isinstance(jf_flow, Job):  # a lone job: its own workflow, named (not the job renamed)
            jf_flow = Flow([jf_flow], output=jf_flow.output, name=name or default_name)
        elif name:
            jf_flow.name = name
        wf = to_workflow(jf_flow, settings)
        if output:
            output.write_text(wf.to_format("json"))
        if config_dir:
            for path in write_config(config_dir, settings):
                console.print(f"wrote {path}")
        added = add_to_launchpad(wf, settings) if add else []
    except (InterchemError, yaml.YAMLError) as exc:
        fail(exc)
    console.print(f"[bold]interchem fireworks[/] {summary}")
    out.print(f"FireWorks workflow {wf.name!r}: {len(wf.fws)} fireworks" + (", added:" if added else ""))
    for fw_id, fw_name in added:  # the ids `lpad get_fws -i`, `lpad rerun_fws -i` take, with what each is
        out.print(f"  fw {fw_id}  {fw_name}", markup=False, highlight=False)


@app.command()
def recover(
    target: Annotated[
        str, typer.Argument(help="the flow's --name given at submission, a flow uuid, a job uuid or a db id")
    ],
    project: Annotated[
        Optional[str], typer.Option("--project", help="jobflow-remote project (default: settings remote_project)")
    ] = None,
    wait: Annotated[int, typer.Option("--wait", help="seconds to wait for the runner's lock on the flow")] = 60,
) -> None:
    """Rerun the failed, cancelled (scancel) or lost jobs of a submitted flow, without prompts (what
    `echo y | jf job rerun -f -did ID` does, for every such job of the flow); the runner resubmits them."""
    from interchem.remote.recover import recover as do_recover
    from interchem.settings import get_settings

    try:
        result = do_recover(target, get_settings(remote_project=project), project=project, wait=wait)
    except InterchemError as exc:
        fail(exc)
    flows = ", ".join(result.flows) or "?"
    if not result.rerun:
        out.print(f"nothing to recover in {flows}: no FAILED or REMOTE_ERROR job")
        return
    for r in result.rerun:
        out.print(f"rerun db id {r.db_id} {r.name} (was {r.state}: {r.error or 'no message'})", markup=False)
    out.print(f"{len(result.rerun)} job(s) of {flows} set to READY; the runner submits them again")
