"""CLI command ``finetune``: fine-tune CHGNet or SevenNet on DFT labels of the phases, print before/after errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from interchem.cli.common import (
    CreateOption,
    OutputOption,
    StoreOption,
    TemperaturesOption,
    app,
    computing_settings,
    console,
    fail,
    out,
    parse_calculator,
)
from interchem.errors import FineTuneError, InterchemError


@app.command()
def finetune(
    phases: Annotated[list[str], typer.Argument(help="phase names, aliases or structure files to sample")],
    calculator: Annotated[
        Optional[str],
        typer.Option("--calculator", "-c", help="labelling calculator (DFT), e.g. cp2k:basis=DZVP-MOLOPT-SR-GTH"),
    ] = None,
    base: Annotated[
        str, typer.Option(help="model family to fine-tune: chgnet (chgnet's trainer) or sevennet (sevenn's trainer)")
    ] = "chgnet",
    base_model: Annotated[
        Optional[str],
        typer.Option(
            help="base weights: chgnet 0.3.0 (default) / 0.2.0, sevennet 7net-0 (default) / 7net-l3i5 from the "
            "wheels, or a model file of that family (a fine-tuned one: fine-tune further)"
        ),
    ] = None,
    sample_calculator: Annotated[str, typer.Option(help="calculator of the sampling MD")] = "chgnet",
    samples: Annotated[int, typer.Option(help="labelled configurations in all")] = 60,
    epochs: Annotated[int, typer.Option(help="maximum training epochs (early stopping on validation)")] = 50,
    temperature: TemperaturesOption = None,
    md_steps: Annotated[int, typer.Option(help="steps of each sampling MD")] = 200,
    seed: Annotated[int, typer.Option(help="seed of sampling, split and training")] = 0,
    active_rounds: Annotated[
        int, typer.Option(help="active-learning rounds: label the configurations base and fine-tuned disagree on")
    ] = 0,
    active_k: Annotated[int, typer.Option(help="configurations labelled per active-learning round")] = 4,
    force_target: Annotated[
        Optional[float], typer.Option(help="stop active learning at this held-out force MAE (eV/A)")
    ] = None,
    primitive: Annotated[bool, typer.Option("--primitive/--conventional", help="cells of the phases")] = False,
    model_dir: Annotated[
        Optional[Path], typer.Option(help="where the model file goes (default: OUTPUT/finetune/models)")
    ] = None,
    output: OutputOption = None,
    store: StoreOption = None,
    create: CreateOption = False,
) -> None:
    """Sample configurations of PHASES (MD, strain, rattle), label each with the DFT calculator (one job each,
    stored and reused), fine-tune CHGNet (or SevenNet: --base sevennet) on them and compare base and fine-tuned
    errors on held-out labels. The model is then a calculator: -c chgnet:model=PATH (sevennet:model=PATH) in
    every command."""
    from interchem.cli.common import parse_temperatures
    from interchem.runner import run_flow
    from interchem.structures.library import resolve_phase
    from interchem.workflows.finetune import FineTuneResult, FineTuneSettings
    from interchem.workflows.finetune_maker import FineTuneMaker

    try:
        settings = computing_settings(store, create, output_dir=output)
        label_spec = parse_calculator(calculator, "cp2k")
        structures = dict(resolve_phase(p, primitive=primitive) for p in phases)
        out_dir = Path(output) if output else Path(settings.output_dir) / "finetune"
        if force_target is not None and active_rounds < 1:  # one line here, not pydantic's block
            raise FineTuneError("--force-target stops active learning: give --active-rounds N (N >= 1) with it")
        ft = FineTuneSettings(
            samples=samples,
            epochs=epochs,
            temperatures_K=parse_temperatures(temperature) or (300.0, 900.0),  # sampling MD temperatures
            md_steps=md_steps,
            seed=seed,
            active_rounds=active_rounds,
            active_k=active_k,
            force_mae_target_eV_per_A=force_target,
        )
        maker = FineTuneMaker(
            label_calculator=label_spec,
            sample_calculator=parse_calculator(sample_calculator, "chgnet"),
            base=base,
            base_model=base_model,
            settings=ft,
            model_dir=str(model_dir or out_dir / "models"),
        )
        flow = maker.make(structures)
        console.print(f"[bold]interchem finetune[/] {' '.join(structures)}: {len(flow.jobs)} jobs")
        t0 = time.perf_counter()
        result = FineTuneResult.model_validate(
            run_flow(
                flow,
                settings,
                progress=lambda kind, name: console.print(f"  {kind} {name}") if kind != "starting" else None,
                what="interchem finetune",
            )
        )
    except (InterchemError, ValueError) as exc:
        fail(exc)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "finetune.json").write_text(json.dumps(result.model_dump(mode="json"), indent=1))
    print_table(result)
    console.print(f"result: {out_dir / 'finetune.json'} ({time.perf_counter() - t0:.0f} s)")


def print_table(result) -> None:
    out.print(f"[bold]{result.level_of_theory}[/]")
    sizes = result.split_sizes
    out.print(
        f"labels {result.n_labels} (train {sizes['train']}, val {sizes['val']}, test {sizes['test']}; "
        f"{result.labels_reused} reused), epochs {result.epochs_run}, "
        f"val loss {result.val_loss_before:.4f} -> {min(result.val_loss_per_epoch, default=float('nan')):.4f}"
    )
    out.print(f"held-out test errors ({sizes['test']} labels):")
    out.print(f"  {'model':28s} {'E (meV/atom)':>13s} {'F (eV/A)':>9s} {'S (GPa)':>8s}")
    names = {"base": "base", "base_refit": "base, references refitted", "finetuned": "fine-tuned"}
    for key, label in names.items():
        m = result.test_metrics[key]
        s = "-" if m["stress_mae_GPa"] is None else f"{m['stress_mae_GPa']:.3f}"
        out.print(f"  {label:28s} {1000 * m['energy_mae_eV_per_atom']:13.1f} {m['force_mae_eV_per_A']:9.3f} {s:>8s}")
    if result.rounds:
        print_rounds(result)
    out.print(f"calculator: -c {result.calculator}")


def print_rounds(result) -> None:
    out.print("active learning (labels added where base and fine-tuned forces differ most):")
    out.print(f"  {'round':>5s} {'labels':>6s} {'F test (eV/A)':>13s} {'E test (meV/atom)':>17s}")
    for r in result.rounds:
        out.print(
            f"  {r['round']:5d} {r['n_labels']:6d} {r['test_force_mae_eV_per_A']:13.4f} "
            f"{1000 * r['test_energy_mae_eV_per_atom']:17.1f}"
        )
        for a in r["added"]:  # one a line: ids are long ("0008 Si md 1200 K step 15")
            out.print(f"        + {a['id']} (max |dF| {a['disagreement_eV_per_A']:.3f} eV/A)", soft_wrap=True)
    out.print(f"stopped: {result.stop_reason}", soft_wrap=True)
