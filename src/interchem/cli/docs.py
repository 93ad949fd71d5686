"""The CLI's reference, generated from the code: ``python -m interchem.cli.docs > docs/cli.md``.

Also the grammar the commands keep (issue 14): ``CONCEPTS`` names each shared idea's one option name,
short flag and type; ``grammar_problems`` checks every command's parameters against it, read from the
click commands typer builds (tests/cli/test_grammar.py runs it, and checks that docs/cli.md is this
module's output). typer carries its own copy of click, so parameters are read by their attributes
(``opts``, ``bare_type()``, ``multiple``) rather than by click's classes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import Enum
from typing import Any

import typer

# One option name per concept: long name -> (concept, short flag or None, Python type as typer reports it).
CONCEPTS: dict[str, tuple[str, str | None, str]] = {
    "--calculator": ("calculator spec NAME[:key=value,...]", "-c", "str"),
    "--static-calculator": ("calculator spec of single points on relaxed geometries", None, "str"),
    "--store": ("embedded store folder", "-s", "Path"),
    "--create": ("create the store named by -s", None, "bool"),
    "--output": ("where output is written", "-o", "Path"),
    "--temperature": ("temperatures (K)", "-T", "list[str]"),
    "--supercell-length": ("minimum supercell vector length (A)", None, "float"),
    "--relax-steps": ("optimiser steps per relaxation", None, "int"),
    "--md-steps": ("MD steps", None, "int"),
    "--fmax": ("force threshold (eV/A)", None, "float"),
    "--electrolyte": ("electrolyte phases", "-e", "list[str]"),
    "--anode": ("anode phases", "-a", "list[str]"),
    "--phase": ("phases", "-p", "list[str]"),
    "--atoms": ("atoms in a cell", "-n", "int"),
    "--seed": ("random seed", None, "int"),
    "--name": ("name of a project, flow or workflow", None, "str"),
    "--chemsys": ("chemical system, e.g. Li-Si", None, "str"),
    "--max-atoms": ("largest cell (atoms)", None, "int"),
    "--mechanism": ("hop mechanism", None, "Mechanism"),
    "--quick": ("the small preset screen", None, "bool"),
}
# Spellings that must not come back (each meant one of the concepts above, or two of them at once).
RETIRED = {
    "--steps": "--relax-steps or --md-steps",
    "--supercell": "--supercell-length",
    "--min-length": "--supercell-length",
    "--temperatures": "--temperature",
    "--n-atoms": "--atoms",
}
# List options that are repeat-only: KEY=VALUE pairs whose YAML values may themselves hold commas.
REPEAT_ONLY = {"--maker-arg", "--make-arg"}


def commands(app: typer.Typer | None = None) -> Iterator[tuple[str, Any]]:
    """("store check", command), ... for every command of the app, sub-groups walked, in help order."""
    if app is None:
        from interchem.cli import app

    def walk(group, prefix: str) -> Iterator[tuple[str, Any]]:
        for name in group.list_commands(None):
            cmd = group.commands[name]
            if hasattr(cmd, "list_commands"):
                yield from walk(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", cmd

    yield from walk(typer.main.get_command(app), "")


def _options(cmd) -> list:
    return [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]


def _is_flag(param) -> bool:
    return bool(getattr(param, "is_flag", False))


def grammar_problems(app: typer.Typer | None = None) -> list[str]:
    """Every breach of the grammar, one line each: a concept under another name or type, one short flag
    for two options, one long name with two types, a list option that is not text, an option without help."""
    problems: list[str] = []
    seen_long: dict[str, tuple[str, str]] = {}
    seen_short: dict[str, tuple[str, str]] = {}
    for path, cmd in commands(app):
        for arg in cmd.params:
            if arg.param_type_name == "argument" and not (getattr(arg, "help", "") or "").strip():
                problems.append(f"{path} {arg.name.upper()}: no help text")
        for opt in _options(cmd):
            long = next((o for o in opt.opts if o.startswith("--")), opt.opts[0])
            shorts = [o for o in opt.opts if not o.startswith("--")]
            kind = opt.bare_type()
            where = f"{path} {long}"
            if not (opt.help or "").strip():
                problems.append(f"{where}: no help text")
            if long in RETIRED:
                problems.append(f"{where}: retired name, use {RETIRED[long]}")
            if long in CONCEPTS:
                _, short, type_name = CONCEPTS[long]
                if type_name != kind:
                    problems.append(f"{where}: type {kind}, the concept's is {type_name}")
                if short is not None and short not in shorts:
                    problems.append(f"{where}: lacks the concept's short flag {short}")
            for short in shorts:
                owner = next((n for n, c in CONCEPTS.items() if c[1] == short), None)
                if owner not in (None, long):
                    problems.append(f"{where}: {short} belongs to {owner}")
                first = seen_short.setdefault(short, (long, path))
                if first[0] != long:
                    problems.append(f"{where}: {short} is {first[0]} in {first[1]}")
            first_kind = seen_long.setdefault(long, (kind, path))
            if first_kind[0] != kind:
                problems.append(f"{where}: type {kind}, but {first_kind[0]} in {first_kind[1]}")
            if opt.multiple and long not in REPEAT_ONLY and kind != "list[str]":
                problems.append(f"{where}: a list option must take text (split_list reads commas)")
    return problems


def _type(param) -> str:
    if _is_flag(param):
        return "flag"
    annotation = param.type_descriptor.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(m.value) for m in annotation)
    kind = param.bare_type()
    text = kind.removeprefix("list[").removesuffix("]").upper().replace("STR", "TEXT")
    if kind.startswith("list["):
        repeat_only = param.nargs == -1 or any(o in REPEAT_ONLY for o in param.opts)
        text += " list" + ("" if repeat_only else " (A,B or repeat)")
    return text


def _default(param) -> str:
    value = param.default
    if callable(value) or value is None or value == [] or value == ():
        return ""
    if _is_flag(param):
        if param.secondary_opts:
            return param.opts[0] if value else param.secondary_opts[0]
        return "on" if value else "off"
    if isinstance(value, Enum):
        value = value.value
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def command_table(path: str, cmd) -> list[str]:
    """The markdown section of one command: its help, then a table of arguments and options."""
    lines = [f"### `interchem {path}`", "", _cell((cmd.help or "").strip()), ""]
    lines += ["| argument / option | type | default | help |", "|---|---|---|---|"]
    for p in cmd.params:
        if p.name == "help":
            continue
        if p.param_type_name == "option":
            names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
            text = p.help or ""
        else:
            names = f"`{p.name.upper()}`" + (" ..." if p.nargs == -1 else "")
            text = getattr(p, "help", "") or ""
        lines.append(f"| {names} | {_cell(_type(p))} | {_default(p)} | {_cell(text)} |")
    return [*lines, ""]


HEADER = """# Command-line reference

Generated from the code by `python -m interchem.cli.docs > docs/cli.md`; `tests/cli/test_grammar.py` fails
when this file is out of date, and when two commands give one concept different option names or types
(the concept table is `CONCEPTS` in `src/interchem/cli/docs.py`). Do not edit by hand.

## Grammar

- **Lists**: every list option takes repeated flags, comma-separated values, or both:
  `-e Li6PS5Cl -e LLZO` is `-e Li6PS5Cl,LLZO`; `-T 600 -T 700,800`. (`--maker-arg`/`--make-arg` are
  KEY=VALUE pairs, repeat-only, since their YAML values may hold commas.)
- **One name per concept**: `-c/--calculator` (one spec and help text everywhere), `-s/--store`,
  `--create`, `-o/--output`, `-T/--temperature`, `--supercell-length`, `--relax-steps` (optimiser) vs
  `--md-steps` (MD), `-n/--atoms` (amorphous) vs `--name` (submit, fireworks, remote-project).
- **Choices** are enums: `--mechanism vacancy|interstitial|both`, `--model vacuum|periodic`,
  `--amorphous anode|electrolyte`; a value outside them is a usage error.
- **Stores**: `-s DIR` must name an existing store; computing commands create one there only with
  `--create` (a typo would otherwise start an empty store). Without `-s`, the default store
  (`interchem-store/`, or `INTERCHEM_STORE_PATH`) is created on first use. Read-only commands
  (`results`, `tieline`, `report`, `store check`) never create one.
- **Mistyped names** of phases and calculators are answered with the closest known ones ("Did you mean").
- `-h/--help` on every command, `--version`, `-v/--verbose` (library warnings and logs), `--traceback`.

## Exit codes

| code | meaning |
|---|---|
| 0 | success |
| 1 | `store check` found a damaged file; or an unexpected bug (Python traceback) |
| 2 | usage error: unknown option, missing argument, a value of the wrong type or outside a choice (click) |
| 3 | input error: bad structure, phase, calculator, settings, store path (`InterchemError`) |
| 4 | a calculation failed: a job of the flow raised (`CalculationError`) |
| 5 | a service is unreachable or unusable: MongoDB store, corrupt embedded store, Slurm, Materials Project \
(`ServiceError`) |

The code is the `exit_code` attribute of the error's class in `src/interchem/errors.py`.
"""


def deprecated_table() -> list[str]:
    from interchem.cli.common import DEPRECATED_OPTIONS

    lines = ["## Old spellings", "", "Still accepted, with a warning on stderr, and rewritten to the current name:", ""]
    lines += ["| command | old | current |", "|---|---|---|"]
    for command, aliases in DEPRECATED_OPTIONS.items():
        lines += [f"| {command} | `{old}` | `{new}` |" for old, new in aliases.items()]
    return [*lines, ""]


def markdown(app: typer.Typer | None = None) -> str:
    """docs/cli.md."""
    lines = [HEADER, *deprecated_table(), "## Commands", ""]
    for path, cmd in commands(app):
        lines += command_table(path, cmd)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(markdown())
