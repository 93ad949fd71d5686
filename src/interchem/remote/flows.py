"""Any interchem flow for submission, by name or by Maker.

* ``screen``: the thermodynamic screen, planned exactly as ``interchem screen`` plans it;
* ``interface ANODE ELECTROLYTE``, ``interface-hop ANODE ELECTROLYTE``, ``barriers [PHASE ...]`` (none:
  the standard set), ``thermal`` (the stored screen at ``temperature_K``): the pipelines of
  ``workflows.pipelines``, with ``maker`` keyword arguments for their settings;
* ``module:attr``: a jobflow Maker class or instance, or a function returning a Flow/Job, with
  ``maker`` keyword arguments (constructor) and ``make`` keyword arguments (call), e.g. from a YAML
  spec file::

      flow: interchem.workflows.md:MDMaker     # or a pipeline: screen, interface (make: {phases: [A, E]}), ...
      maker: {calculator: "mace:model=/models/m.model", steps: 2000}
      make: {structure: {phase: Li15Si4}}      # {phase: NAME} / {file: PATH} become Structures

So flows written later (interfaces, kinetics, MD) are submitted without changes here.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from interchem.errors import SubmissionError

PIPELINES = ("screen", "interface", "interface-hop", "barriers", "thermal")


@dataclass
class FlowRequest:
    """What ``interchem submit`` / ``interchem fireworks`` were asked to build."""

    target: str  # a pipeline name, module:attr, or a YAML/JSON spec file
    phases: list[str] = field(default_factory=list)  # positional phases of the pipelines
    electrolytes: list[str] | None = None  # screen
    anodes: list[str] | None = None  # screen; ["none"]: no anode phases
    extra_phases: list[str] = field(default_factory=list)  # screen
    calculator: Any = None  # CalculatorSpec or spec string
    static_calculator: Any = None  # screen
    quick: bool = False  # screen: the quick presets where no phases were given
    maker_kwargs: dict[str, Any] = field(default_factory=dict)
    make_kwargs: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    fmax: float | None = None  # relaxations of the screen and the interface pipeline (None: their defaults)
    steps: int | None = None


def build_flow(request: FlowRequest, settings=None):
    """(flow, one-line summary, flow name) for a request; a spec file's flow/maker/make/name are merged in
    (options given on the command line win)."""
    from interchem.settings import get_settings

    settings = settings or get_settings()
    req = dataclasses.replace(request, maker_kwargs=dict(request.maker_kwargs), make_kwargs=dict(request.make_kwargs))
    if req.target.endswith((".yaml", ".yml", ".json")):
        spec = load_spec(req.target)
        req.target, req.name = spec["flow"], req.name or spec.get("name")
        req.maker_kwargs = {**(spec.get("maker") or {}), **req.maker_kwargs}
        req.make_kwargs = {**(spec.get("make") or {}), **req.make_kwargs}
    calculator = req.calculator or req.maker_kwargs.pop("calculator", None)
    if req.target == "screen":
        flow, summary = _screen_request(req, calculator, settings)
    elif req.target in PIPELINES:
        if req.target == "interface":
            req.maker_kwargs.update({k: v for k, v in (("fmax", req.fmax), ("steps", req.steps)) if v is not None})
        phases = req.phases or list(req.make_kwargs.get("phases") or [])  # a spec file: make: {phases: [...]}
        flow = pipeline_flow(req.target, phases, calculator, req.maker_kwargs, settings)
        summary = f"{req.target}: {flow.name}"
    else:
        if calculator:
            req.maker_kwargs["calculator"] = calculator
        flow = flow_from_target(req.target, req.maker_kwargs, req.make_kwargs)
        summary = f"{req.target}: {getattr(flow, 'name', '')}"
    return flow, summary, req.name or (req.target if req.target in PIPELINES else req.target.rsplit(":", 1)[-1])


def _screen_request(req: FlowRequest, calculator, settings):
    from interchem.structures.library import QUICK_ANODES, QUICK_ELECTROLYTES

    electrolytes = req.electrolytes or req.make_kwargs.get("electrolytes")
    anodes = req.anodes or req.make_kwargs.get("anodes")
    if req.quick:
        electrolytes, anodes = electrolytes or list(QUICK_ELECTROLYTES), anodes or list(QUICK_ANODES)
    # "none": no phases of that kind (default: the whole Li_xSi series / the default electrolytes)
    electrolytes = [] if electrolytes == ["none"] else electrolytes
    anodes = [] if anodes == ["none"] else anodes
    flow, plan = screen_flow(
        electrolytes,
        anodes,
        calculator,
        extra_phases=req.extra_phases,
        settings=settings,
        static_calculator=req.static_calculator or req.maker_kwargs.get("static_calculator"),
    )
    return flow, f"screen: {len(plan.phases)} phases, calculator {plan.calculator.label()}"


def pipeline_flow(target: str, phases: list[str], calculator, maker_kwargs: dict, settings):
    """The flow of a named pipeline of ``workflows.pipelines``; phases resolved as the commands resolve them."""
    from interchem.structures.library import resolve_phase
    from interchem.workflows import pipelines

    spec = _spec(calculator or settings.calculator)
    kwargs = dict(maker_kwargs)
    try:
        if target in ("interface", "interface-hop"):
            if len(phases) != 2:
                raise SubmissionError(f"{target} takes two phases, ANODE ELECTROLYTE, not {phases or 'none'}")
            if target == "interface":
                (a_name, anode), (e_name, electrolyte) = resolve_phase(phases[0]), resolve_phase(phases[1])
                maker = pipelines.InterfacePipelineMaker.with_calculator(spec, **kwargs)
                return maker.make(anode, electrolyte, a_name, e_name)
            (a_name, anode), (e_name, electrolyte) = resolve_phase(phases[0], primitive=False), resolve_phase(phases[1])
            return pipelines.InterfaceHopMaker(calculator=spec, **kwargs).make(anode, electrolyte, a_name, e_name)
        if target == "barriers":
            structures = pipelines.standard_barrier_structures(phases or pipelines.STANDARD_BARRIER_PHASES)
            return pipelines.StandardBarriersMaker(calculator=spec, **kwargs).make(structures)
        if target == "thermal":
            from interchem.runner import thermal_screen_flow

            return thermal_screen_flow(settings=settings, calculator=spec, **kwargs)[0]
    except TypeError as exc:
        raise SubmissionError(f"{target}: bad arguments ({exc})") from None
    raise SubmissionError(f"unknown pipeline {target!r}: use one of {', '.join(PIPELINES)}")


def _spec(calculator):
    from interchem.calculators import CalculatorSpec, check_calculator

    spec = CalculatorSpec.parse(calculator)
    check_calculator(spec)
    return spec


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
        raise SubmissionError(
            f"flow {path!r} is neither a pipeline ({', '.join(PIPELINES)}) nor 'package.module:Attribute'"
        )
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
                raise SubmissionError(
                    f"{target} has no setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}"
                )
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
        raise SubmissionError(f"flow spec {str(p)!r} must be a mapping with a 'flow' key (a pipeline or module:attr)")
    unknown = set(data) - {"flow", "maker", "make", "name"}
    if unknown:
        raise SubmissionError(
            f"flow spec {str(p)!r}: unknown key(s) {', '.join(sorted(unknown))} (flow, maker, make, name)"
        )
    return data


def screen_flow(
    electrolytes=None, anodes=None, calculator=None, extra_phases=(), settings=None, static_calculator=None
):
    """The screen flow, planned as ``interchem screen`` plans it."""
    from interchem.runner import plan_screen
    from interchem.settings import get_settings
    from interchem.workflows.thermo import ScreenMaker

    settings = settings or get_settings()
    plan = plan_screen(
        electrolytes,
        anodes,
        calculator,
        extra_phases=extra_phases,
        settings=settings,
        static_calculator=static_calculator,
    )
    maker = ScreenMaker(
        calculator=plan.calculator,
        fmax=settings.relax_fmax,
        steps=settings.relax_steps,
        static_calculator=plan.static_calculator,
    )
    return maker.make(plan.phases, plan.anodes, plan.electrolytes), plan


def calculators_in(flow) -> list:
    """Every CalculatorSpec a flow's jobs carry (in arguments or maker settings), de-duplicated."""
    from monty.json import jsanitize

    from interchem.calculators import CalculatorSpec, available

    names = set(available())
    found: dict[str, CalculatorSpec] = {}

    def walk(obj):
        if isinstance(obj, dict):
            if (
                obj.get("name") in names
                and isinstance(obj.get("settings"), dict)
                and set(obj) <= {"name", "settings", "@module", "@class", "@version"}
            ):
                spec = CalculatorSpec(name=obj["name"], settings=obj["settings"])
                found[spec.model_dump_json()] = spec
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    jobs = [flow] if not hasattr(flow, "iterflow") else [j for j, _ in flow.iterflow()]
    for j in jobs:
        walk(
            jsanitize(
                [j.function_args, j.function_kwargs, getattr(j, "maker", None)],
                strict=False,
                allow_bson=False,
                enum_values=True,
                recursive_msonable=True,
            )
        )
    return list(found.values())
