"""Scale-out commands: ``remote-project``, ``submit``, ``results``, ``fireworks`` (registered on the main app).

Nothing here prints a credential: store descriptions name host and database only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from interchem.cli.common import QUICK_ANODES, QUICK_ELECTROLYTES, app, console, fail, out
from interchem.errors import InterchemError


def _resources(resources_file, nodes, ntasks, cpus_per_task, walltime, partition, account, qos, mem, module, pre_run):
    from interchem.remote.resources import load_resources

    return load_resources(resources_file, nodes=nodes, ntasks=ntasks, cpus_per_task=cpus_per_task, walltime=walltime,
                          partition=partition, account=account, qos=qos, mem=mem, modules=module or None, pre_run=pre_run)


_R = {
    "resources_file": typer.Option("--resources", "-r", help="YAML file of resources (see fireworks_config/resources.example.yaml)"),
    "nodes": typer.Option("--nodes", help="SLURM nodes"),
    "ntasks": typer.Option("--ntasks", help="SLURM tasks (MPI ranks)"),
    "cpus_per_task": typer.Option("--cpus-per-task", help="threads per task"),
    "walltime": typer.Option("--walltime", "-t", help="HH:MM:SS or D-HH:MM:SS"),
    "partition": typer.Option("--partition", "-P", help="SLURM partition (checked before submitting)"),
    "account": typer.Option("--account", help="SLURM account"),
    "qos": typer.Option("--qos", help="SLURM QOS"),
    "mem": typer.Option("--mem", help="memory per node, e.g. 8G"),
    "module": typer.Option("--module", help="environment module to load before each job; repeatable"),
    "pre_run": typer.Option("--pre-run", help="shell line run before each job (e.g. activate the venv)"),
}


@app.command("remote-project")
def remote_project(
    name: Annotated[Optional[str], typer.Option("--name", help="project name (default: settings remote_project, 'interchem')")] = None,
    worker: Annotated[str, typer.Option("--worker", help="worker name")] = "slurm",
    ssh_host: Annotated[Optional[str], typer.Option("--ssh-host", help="cluster login node: SLURM over SSH instead of this host")] = None,
    ssh_user: Annotated[Optional[str], typer.Option("--ssh-user")] = None,
    ssh_key: Annotated[Optional[str], typer.Option("--ssh-key", help="private key file")] = None,
    work_dir: Annotated[Optional[str], typer.Option("--work-dir", help="where jobs run on the worker")] = None,
    runner_delay: Annotated[float, typer.Option("--runner-delay", help="seconds between runner checks (jobflow-remote default 30)")] = 30.0,
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
        res = _resources(resources_file, nodes, ntasks, cpus_per_task, walltime, partition, account, qos, mem, module, pre_run)
        data = render_project(settings, worker=worker, work_dir=work_dir, resources=res, pre_run=res.pre_run,
                              runner_delay=runner_delay, ssh_host=ssh_host, ssh_user=ssh_user, ssh_key=ssh_key)
        path = write_project(data, settings)
    except InterchemError as exc:
        fail(exc)
    out.print(f"project {data['name']!r} written to {path}")
    console.print(f"next: jf -p {data['name']} admin reset   (once)   then   jf -p {data['name']} runner start")


@app.command()
def submit(
    flow: Annotated[str, typer.Argument(help="'screen', a Maker as package.module:Class, or a YAML/JSON flow spec file")],
    electrolyte: Annotated[Optional[list[str]], typer.Option("--electrolyte", "-e", help="(screen) electrolyte phase; repeatable")] = None,
    anode: Annotated[Optional[list[str]], typer.Option("--anode", "-a", help="(screen) anode phase; repeatable; 'none' for no anode")] = None,
    phase: Annotated[Optional[list[str]], typer.Option("--phase", "-p", help="(screen) extra phase; repeatable")] = None,
    calculator: Annotated[Optional[str], typer.Option("--calculator", "-c", help="chgnet, mace:model=PATH, ...")] = None,
    static_calculator: Annotated[Optional[str], typer.Option("--static-calculator")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="(screen) Li6PS5Cl vs Si, LiSi, Li15Si4")] = False,
    fmax: Annotated[Optional[float], typer.Option(help="force threshold of relaxations (eV/A)")] = None,
    steps: Annotated[Optional[int], typer.Option(help="maximum optimiser steps per relaxation")] = None,
    maker_arg: Annotated[Optional[list[str]], typer.Option("--maker-arg", help="(module:Class) KEY=VALUE (YAML value) for the Maker; repeatable")] = None,
    make_arg: Annotated[Optional[list[str]], typer.Option("--make-arg", help="(module:Class) KEY=VALUE for make(); {phase: X} / {file: P} give structures")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="flow name recorded with every result (for `results --flow`)")] = None,
    project: Annotated[Optional[str], typer.Option("--project", help="jobflow-remote project (default: settings remote_project)")] = None,
    worker: Annotated[Optional[str], typer.Option("--worker", help="worker of the project (default: its first)")] = None,
    no_reuse: Annotated[bool, typer.Option("--no-reuse", help="recompute even when identical results are stored")] = False,
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

    from interchem.remote.flows import flow_from_target, load_spec, screen_flow
    from interchem.remote.submit import submit as do_submit
    from interchem.settings import get_settings

    try:
        settings = get_settings(relax_fmax=fmax, relax_steps=steps, remote_project=project)
        res = _resources(resources_file, nodes, ntasks, cpus_per_task, walltime, partition, account, qos, mem, module, pre_run)
        maker_kwargs = _kv(maker_arg)
        make_kwargs = _kv(make_arg)
        target = flow
        if flow.endswith((".yaml", ".yml", ".json")):
            spec = load_spec(flow)
            target, name = spec["flow"], name or spec.get("name")
            maker_kwargs = {**(spec.get("maker") or {}), **maker_kwargs}
            make_kwargs = {**(spec.get("make") or {}), **make_kwargs}
        if target == "screen":
            if quick:
                electrolyte = electrolyte or QUICK_ELECTROLYTES
                anode = anode or QUICK_ANODES
            electrolyte = electrolyte or make_kwargs.get("electrolytes")
            anode = anode or make_kwargs.get("anodes")
            # "none": no anode phases (default: the whole Li_xSi series)
            electrolyte = [] if electrolyte == ["none"] else electrolyte
            anode = [] if anode == ["none"] else anode
        elif calculator:
            maker_kwargs.setdefault("calculator", calculator)
        told: dict = {}

        def build():  # called by submit with the results store at hand: stored results are resolved here
            if target == "screen":
                jf_flow, plan = screen_flow(electrolyte, anode, calculator or maker_kwargs.get("calculator"),
                                            extra_phases=phase or [], settings=settings, static_calculator=static_calculator)
                told["summary"] = f"screen: {len(plan.phases)} phases, calculator {plan.calculator.label()}"
            else:
                jf_flow = flow_from_target(target, maker_kwargs, make_kwargs)
                told["summary"] = f"{target}: {getattr(jf_flow, 'name', '')}"
            return jf_flow

        result = do_submit(build, name or (target if target == "screen" else target.rsplit(":", 1)[-1]), settings=settings,
                           worker=worker, resources=res, reuse=not no_reuse)
    except (InterchemError, yaml.YAMLError) as exc:
        fail(exc)
    p = result.preflight
    console.print(f"[bold]interchem submit[/] {told['summary']}")
    console.print(f"  checks passed: {p.store}; project {p.project}, worker {p.worker}"
                  + (f", partition {p.partition}" if p.partition else "") + f"; packages {', '.join(p.packages)}")
    if result.reused:
        console.print(f"  reused from the store ({len(result.reused)}): {', '.join(result.reused)}")
    out.print(f"submitted flow {result.flow_name!r} ({result.flow_uuid}): {result.n_jobs} jobs, db ids {', '.join(result.db_ids)}")
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


@app.command()
def results(
    chemsys: Annotated[Optional[str], typer.Option("--chemsys", help="e.g. Li-Si: results within these elements")] = None,
    phase: Annotated[Optional[str], typer.Option("--phase", "-p", help="phase name or reduced formula")] = None,
    calculator: Annotated[Optional[str], typer.Option("--calculator", "-c", help="calculator spec or bare name")] = None,
    prop: Annotated[Optional[str], typer.Option("--property", help="only results with this property; shown as the value column")] = None,
    flow: Annotated[Optional[str], typer.Option("--flow", "-f", help="flow name given at submission, or flow uuid")] = None,
    include_reused: Annotated[bool, typer.Option("--include-reused", help="also list records that reused a stored calculation")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="export the rows as JSON to this file ('-': stdout)")] = None,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="export the rows as CSV to this file ('-': stdout)")] = None,
    report_dir: Annotated[Optional[Path], typer.Option("--report", help="re-draw the reports of the latest matching stored screen and kinetics results here")] = None,
    store: Annotated[Optional[Path], typer.Option("--store", "-s", help="embedded store folder (ignored when INTERCHEM_STORE_URI is set)")] = None,
    limit: Annotated[int, typer.Option("--limit", help="maximum rows")] = 10_000,
) -> None:
    """Query stored results (embedded store or MongoDB): filter, print a table, export JSON/CSV, re-draw reports."""
    from interchem.remote.results import export, query_results, redraw_reports, table_columns
    from interchem.settings import get_settings
    from interchem.store import check_store

    try:
        settings = get_settings(store_path=store)
        where = check_store(settings, timeout_ms=settings.store_timeout_ms)
        rows = query_results(settings, chemsys=chemsys, phase=phase, calculator=calculator, prop=prop, flow=flow,
                             include_reused=include_reused, limit=limit)
        reports = redraw_reports(report_dir, settings, flow=flow, calculator=calculator) if report_dir else []
    except InterchemError as exc:
        fail(exc)
    cols = table_columns(rows, prop)
    table = Table(title=f"{len(rows)} stored results ({where})")
    for col in ("flow", "job", "phase", "formula", "chemsys", "calculator", *cols):
        table.add_column(col)
    for r in rows:
        table.add_row(r.flow[:24], r.name[:28], r.phase or "", r.formula or "", r.chemsys or "", (r.calculator or "")[:40],
                      *[("" if r.properties.get(c) is None else f"{r.properties[c]:.6g}") for c in cols])
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
    for path in reports:
        console.print(f"report (from stored results, nothing recomputed): {path}")


@app.command()
def fireworks(
    flow: Annotated[str, typer.Argument(help="'screen', package.module:Class, or a YAML/JSON flow spec file")],
    electrolyte: Annotated[Optional[list[str]], typer.Option("--electrolyte", "-e")] = None,
    anode: Annotated[Optional[list[str]], typer.Option("--anode", "-a")] = None,
    calculator: Annotated[Optional[str], typer.Option("--calculator", "-c")] = None,
    quick: Annotated[bool, typer.Option("--quick")] = False,
    steps: Annotated[Optional[int], typer.Option(help="maximum optimiser steps per relaxation")] = None,
    maker_arg: Annotated[Optional[list[str]], typer.Option("--maker-arg")] = None,
    make_arg: Annotated[Optional[list[str]], typer.Option("--make-arg")] = None,
    config_dir: Annotated[Optional[Path], typer.Option("--write-config", help="write my_launchpad/my_fworker/my_qadapter.yaml here")] = None,
    add: Annotated[bool, typer.Option("--add/--no-add", help="add the workflow to the LaunchPad (MongoDB store settings)")] = True,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="also write the FireWorks workflow as JSON")] = None,
) -> None:
    """Convert an interchem flow to a FireWorks workflow (jobflow's flow_to_workflow) and add it to the
    LaunchPad on the MongoDB store; run it with `rlaunch -l my_launchpad.yaml rapidfire` or the qadapter."""
    from interchem.remote.fireworks import add_to_launchpad, to_workflow, write_config
    from interchem.remote.flows import flow_from_target, load_spec, screen_flow
    from interchem.settings import get_settings

    try:
        settings = get_settings(relax_steps=steps)
        maker_kwargs, make_kwargs, target = _kv(maker_arg), _kv(make_arg), flow
        if flow.endswith((".yaml", ".yml", ".json")):
            spec = load_spec(flow)
            target = spec["flow"]
            maker_kwargs = {**(spec.get("maker") or {}), **maker_kwargs}
            make_kwargs = {**(spec.get("make") or {}), **make_kwargs}
        if target == "screen":
            if quick:
                electrolyte, anode = electrolyte or QUICK_ELECTROLYTES, anode or QUICK_ANODES
            jf_flow, _ = screen_flow(electrolyte, anode, calculator, settings=settings)
        else:
            if calculator:
                maker_kwargs.setdefault("calculator", calculator)
            jf_flow = flow_from_target(target, maker_kwargs, make_kwargs)
        wf = to_workflow(jf_flow, settings)
        if output:
            output.write_text(wf.to_format("json"))
        if config_dir:
            for path in write_config(config_dir, settings):
                console.print(f"wrote {path}")
        fw_ids = add_to_launchpad(wf, settings) if add else {}
    except InterchemError as exc:
        fail(exc)
    out.print(f"FireWorks workflow {wf.name!r}: {len(wf.fws)} fireworks" + (f", added (fw ids {min(fw_ids.values())}-{max(fw_ids.values())})" if fw_ids else ""))
