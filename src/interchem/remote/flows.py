"""Any interchem flow for submission, by name or by Maker.

* ``screen``: the thermodynamic screen, planned exactly as ``interchem screen`` plans it;
* ``module:attr``: a jobflow Maker class or instance, or a function returning a Flow/Job, with
  ``maker`` keyword arguments (constructor) and ``make`` keyword arguments (call), e.g. from a YAML
  spec file::

      flow: interchem.workflows.md:MDMaker     # or "screen"
      maker: {calculator: "mace:model=/models/m.model", steps: 2000}
      make: {structure: {phase: Li15Si4}}      # {phase: NAME} / {file: PATH} become Structures

So flows written later (interfaces, kinetics, MD) are submitted without changes here.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from pathlib import Path
from typing import Any

import yaml

from interchem.errors import SubmissionError


def _resolve_value(value: Any) -> Any:
    """``{"phase": NAME}`` / ``{"file": PATH}`` -> Structure; recurse into lists and dicts."""
    from interchem.structures import library

    if isinstance(value, dict) and set(value) == {"phase"}:
        return library.resolve_phase(value["phase"])[1]
    if isinstance(value, dict) and set(value) == {"file"}:
        return library.resolve_phase(str(value["file"]))[1]
    if isinstance(value, dict):
        return {k: _resolve_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_value(v) for v in value]
    return value


def import_target(path: str):
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise SubmissionError(f"flow {path!r} is neither 'screen' nor 'package.module:Attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SubmissionError(f"cannot import {module_name!r} for flow {path!r}: {exc}") from None
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise SubmissionError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def flow_from_target(target: str, maker_kwargs: dict | None = None, make_kwargs: dict | None = None):
    """Build a Flow/Job from ``module:attr`` (see module docstring); errors name the bad argument."""
    from jobflow import Flow, Job, Maker

    from interchem.calculators import CalculatorSpec

    obj = import_target(target)
    maker_kwargs = dict(maker_kwargs or {})
    make_kwargs = {k: _resolve_value(v) for k, v in (make_kwargs or {}).items()}
    for key in ("calculator", "static_calculator"):
        if isinstance(maker_kwargs.get(key), (str, dict)):
            maker_kwargs[key] = CalculatorSpec.parse(maker_kwargs[key])
    try:
        if inspect.isclass(obj) and issubclass(obj, Maker):
            names = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
            unknown = set(maker_kwargs) - names if names else set()
            if unknown:
                raise SubmissionError(f"{target} has no setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
            flow = obj(**maker_kwargs).make(**make_kwargs)
        elif isinstance(obj, Maker):
            flow = (dataclasses.replace(obj, **maker_kwargs) if maker_kwargs else obj).make(**make_kwargs)
        elif callable(obj):
            flow = obj(**maker_kwargs, **make_kwargs)
        else:
            raise SubmissionError(f"{target} is not a Maker or a function returning a Flow")
    except TypeError as exc:
        raise SubmissionError(f"{target}: bad arguments ({exc})") from None
    if not isinstance(flow, (Flow, Job)):
        raise SubmissionError(f"{target} returned a {type(flow).__name__}, not a jobflow Flow or Job")
    return flow


def load_spec(path: str | Path) -> dict[str, Any]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise SubmissionError(f"flow spec file {str(p)!r} does not exist")
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict) or "flow" not in data:
        raise SubmissionError(f"flow spec {str(p)!r} must be a mapping with a 'flow' key (screen or module:attr)")
    unknown = set(data) - {"flow", "maker", "make", "name"}
    if unknown:
        raise SubmissionError(f"flow spec {str(p)!r}: unknown key(s) {', '.join(sorted(unknown))} (flow, maker, make, name)")
    return data


def screen_flow(electrolytes=None, anodes=None, calculator=None, extra_phases=(), settings=None, static_calculator=None):
    """The screen flow, planned as ``interchem screen`` plans it."""
    from interchem.runner import plan_screen
    from interchem.settings import get_settings
    from interchem.workflows.thermo import ScreenMaker

    settings = settings or get_settings()
    plan = plan_screen(electrolytes, anodes, calculator, extra_phases=extra_phases, settings=settings,
                       static_calculator=static_calculator)
    maker = ScreenMaker(calculator=plan.calculator, fmax=settings.relax_fmax, steps=settings.relax_steps,
                        static_calculator=plan.static_calculator)
    return maker.make(plan.phases, plan.anodes, plan.electrolytes), plan


def calculators_in(flow) -> list:
    """Every CalculatorSpec a flow's jobs carry (in arguments or maker settings), de-duplicated."""
    from monty.json import jsanitize

    from interchem.calculators import CalculatorSpec, available

    names = set(available())
    found: dict[str, CalculatorSpec] = {}

    def walk(obj):
        if isinstance(obj, dict):
            if obj.get("name") in names and isinstance(obj.get("settings"), dict) and set(obj) <= {"name", "settings", "@module", "@class", "@version"}:
                spec = CalculatorSpec(name=obj["name"], settings=obj["settings"])
                found[spec.model_dump_json()] = spec
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    jobs = [flow] if not hasattr(flow, "iterflow") else [j for j, _ in flow.iterflow()]
    for j in jobs:
        walk(jsanitize([j.function_args, j.function_kwargs, getattr(j, "maker", None)], strict=False, allow_bson=False, enum_values=True, recursive_msonable=True))
    return list(found.values())
