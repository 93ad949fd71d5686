"""Run flows locally on the configured store: the code path of the CLI, tests and benchmarks.

Validation happens first (phases resolve, calculator knows every element, structures are sane);
only then is the store opened and the flow run, so bad input leaves nothing in the store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchem.calculators import CalculatorSpec, check_calculator, release_calculators
from interchem.errors import CalculationError, InterchemError, StoreMissingError
from interchem.progress import ProgressEvent, Tracker, sink
from interchem.settings import Settings, get_settings, screen_default
from interchem.stored import latest_screen_result, screen_entries, stored_phonons
from interchem.structures import library
from interchem.workflows.thermo import CommitteeScreenMaker, ScreenMaker, ScreenResult


@dataclass
class ScreenPlan:
    phases: dict  # name -> Structure
    anodes: list[str]
    electrolytes: list[str]
    systems: dict[str, list[str]]
    calculator: CalculatorSpec
    static_calculator: CalculatorSpec | None = None
    # Two or more models: the same screen with each, reported as the first's values plus the spread.
    committee: list[CalculatorSpec] = field(default_factory=list)


def parse_committee(text: str | Iterable[str | CalculatorSpec]) -> list[CalculatorSpec]:
    """``"chgnet,sevennet:model=7net-0,mace:model=m.model,dtype=float64"`` -> one spec per model.

    A comma starts a new model unless what follows is ``key=value`` with no ``:`` before the ``=`` (a
    further setting of the model before it), so specs keep their own comma-separated settings.
    """
    if not isinstance(text, str):
        return [CalculatorSpec.parse(t) for t in text]
    specs: list[str] = []
    for token in filter(None, (t.strip() for t in text.split(","))):
        head = token.split(":", 1)[0]
        if "=" in head and specs and ":" in specs[-1]:
            specs[-1] += "," + token
        else:
            specs.append(token)
    if not specs:
        raise InterchemError(f"empty committee {text!r}: give calculator specs separated by commas")
    return [CalculatorSpec.parse(t) for t in specs]


def plan_screen(
    electrolytes: Iterable[str] | None = None,
    anodes: Iterable[str] | None = None,
    calculator: str | CalculatorSpec | None = None,
    extra_phases: Iterable[str] = (),
    settings: Settings | None = None,
    mp_source=None,
    static_calculator: str | CalculatorSpec | None = None,
    committee: str | Iterable[str | CalculatorSpec] | None = None,
) -> ScreenPlan:
    """Resolve every name and file, pick the phases of each chemical system, and validate all of it.

    With an MP API key in the settings (or an explicit ``mp_source``), phase names and every phase
    near the hull of each chemical system come from the Materials Project instead of the cards.
    ``committee`` (specs, or one string for ``parse_committee``): run the screen with every model; the
    first is the calculator whose values are reported (``calculator``, if given, must be it).
    """
    settings = settings or get_settings()
    models = _committee_models(committee, calculator, static_calculator)
    spec = models[0] if models else CalculatorSpec.parse(calculator or screen_default(settings))
    for m in models or [spec]:
        check_calculator(m)  # unknown name / bad settings fail before structures are built
    static_spec = CalculatorSpec.parse(static_calculator) if static_calculator else None
    if static_spec is not None:
        check_calculator(static_spec)
    electrolytes = list(library.DEFAULT_ELECTROLYTES if electrolytes is None else electrolytes)
    anodes = list(library.anode_series() if anodes is None else anodes)
    if not electrolytes and not anodes:
        raise InterchemError("empty chemical system: no electrolytes and no anode phases given")

    key = settings.resolved_mp_api_key()
    if mp_source is None and key is not None:
        from interchem.structures.materials_project import MaterialsProjectSource

        mp_source = MaterialsProjectSource(key)

    phases: dict = {}

    def add(name: str) -> str:  # a partially occupied phase is ordered by run_screen (order_phase)
        label, structure = library.resolve_phase(name, mp_source=mp_source, allow_disordered=True)
        phases[label] = structure
        return label

    electrolytes = [add(e) for e in electrolytes]
    anodes = [add(a) for a in anodes]
    for extra in extra_phases:
        add(extra)
    systems = _fill_systems(phases, anodes, electrolytes, mp_source, add)
    all_elements = {el.symbol for s in phases.values() for el in s.composition.elements}
    for m in models or [spec]:
        check_calculator(m, all_elements, context="the screen's phases")
    if static_spec is not None:
        check_calculator(static_spec, all_elements, context="the screen's phases (single points)")
    return ScreenPlan(
        phases=phases,
        anodes=anodes,
        electrolytes=electrolytes,
        systems=systems,
        calculator=spec,
        static_calculator=static_spec,
        committee=models if len(models) > 1 else [],
    )


def _committee_models(committee, calculator, static_calculator) -> list[CalculatorSpec]:
    """The committee's specs, checked (empty: no committee; one model is exactly that model's screen)."""
    models = parse_committee(committee) if committee is not None else []
    labels = [m.label() for m in models]
    if len(set(labels)) < len(labels):
        raise InterchemError(f"a calculator appears twice in the committee {', '.join(labels)}")
    if models and calculator is not None and CalculatorSpec.parse(calculator).label() != labels[0]:
        raise InterchemError(
            f"calculator {CalculatorSpec.parse(calculator).label()!r} is not the committee's first model "
            f"({labels[0]!r}): the first model is the one whose values are reported"
        )
    if static_calculator is not None and len(models) > 1:
        raise InterchemError("a committee screen takes no static calculator: each model relaxes and scores itself")
    return models


def _fill_systems(phases: dict, anodes: list[str], electrolytes: list[str], mp_source, add) -> dict[str, list[str]]:
    """One chemical system per electrolyte: its elements + every anode's + Li. Each system is filled
    with every phase of the library (or of MP) inside it: the hull needs all of them, not only the
    phases named on the command line. Returns system -> its phases; ``phases`` gains the new ones."""

    def elements_of(*names: str) -> set[str]:
        return {el.symbol for n in names for el in phases[n].composition.elements}

    anode_elements = elements_of(*anodes) | ({library.ION} if anodes else set())
    systems: dict[str, list[str]] = {}
    for electrolyte in electrolytes or [None]:
        elements = anode_elements | (elements_of(electrolyte) if electrolyte else set())
        if mp_source is not None:
            for name, structure in mp_source.structures_in_chemsys(sorted(elements)).items():
                phases.setdefault(name, structure)
        else:
            for name in library.card_phases_in(elements):
                if name not in phases:
                    add(name)
        systems["-".join(sorted(elements))] = sorted(p for p in phases if _within(phases[p], elements))
    return systems


def _within(structure, elements) -> bool:
    return {el.symbol for el in structure.composition.elements} <= set(elements)


def run_screen(
    plan: ScreenPlan,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    work_dir: str | Path | None = None,
    steps: Callable[[ProgressEvent], None] | None = None,
) -> ScreenResult:
    settings = settings or get_settings()
    if len(plan.committee) > 1:
        with stored_results_resolved(settings, progress):
            committee = CommitteeScreenMaker(
                calculators=plan.committee, fmax=settings.relax_fmax, steps=settings.relax_steps
            ).make(plan.phases, plan.anodes, plan.electrolytes)
        return ScreenResult.model_validate(run_flow(committee, settings, progress, work_dir, what="the committee"))
    maker = ScreenMaker(
        calculator=plan.calculator,
        fmax=settings.relax_fmax,
        steps=settings.relax_steps,
        static_calculator=plan.static_calculator,
    )
    phases = {
        name: s if s.is_ordered else order_phase(s, name, plan.calculator, settings, progress).lowest.structure
        for name, s in plan.phases.items()
    }
    with stored_results_resolved(settings, progress):
        flow = maker.make(phases, plan.anodes, plan.electrolytes)
    return ScreenResult.model_validate(run_flow(flow, settings, progress, work_dir, what="the screen", steps=steps))


@contextlib.contextmanager
def stored_results_resolved(settings: Settings, progress: Callable[[str, str], None] | None = None):
    """Makers called in the block look their cache keys up in the settings' store when they make the flow
    (``workflows.common.reusing``, as ``interchem submit`` does): a result stored before gets no job at
    all, so a re-run's flow is its analysis alone. ``progress`` hears ``reused`` for each. What another run
    computes meanwhile is still found by the jobs' own lookup when they run. An embedded store that does
    not exist yet holds nothing to reuse and is not created here."""
    from interchem.store import check_store, make_job_store
    from interchem.workflows.common import reusing

    check_store(settings, timeout_ms=settings.store_timeout_ms)
    try:
        store = make_job_store(settings, must_exist=True)
    except StoreMissingError:
        yield None
        return
    store.connect()
    try:
        with reusing(store) as log:
            yield log
    finally:
        store.close()
    for label in log.reused if progress is not None else ():
        progress("reused", f"reuse {label}")


def order_phase(
    structure,
    phase: str,
    calculator: str | CalculatorSpec,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    n_candidates: int | None = None,
):
    """Ordered cell of a partially occupied structure: Ewald-ranked candidates
    (``structures.disorder``), each relaxed with the calculator (stored and reused), lowest kept
    (``workflows.disorder.OrderingResult``; ``.lowest.structure`` is the relaxed cell)."""
    from interchem.structures.disorder import DEFAULT_CANDIDATES, ordered_candidates
    from interchem.workflows.disorder import DisorderRankMaker, OrderingResult
    from interchem.workflows.thermo import RelaxPhaseMaker

    settings = settings or get_settings()
    candidates = ordered_candidates(structure, n=n_candidates or DEFAULT_CANDIDATES)
    relaxer = RelaxPhaseMaker(calculator=calculator, fmax=settings.relax_fmax, steps=settings.relax_steps)
    maker = DisorderRankMaker(relaxer=relaxer)
    with stored_results_resolved(settings):
        flow = maker.make(candidates, phase)
    return OrderingResult.model_validate(run_flow(flow, settings, progress, what=f"the ordering of {phase}"))


def resolve_ordered(
    name: str,
    calculator: str | CalculatorSpec,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
):
    """(label, ordered structure) of a phase name or file, ordering a partially occupied one with the
    calculator (``order_phase``); ordered phases come back as ``library.resolve_phase(primitive=False)``."""
    label, structure = library.resolve_phase(name, primitive=False, allow_disordered=True)
    if structure.is_ordered:
        return label, structure
    return label, order_phase(structure, label, calculator, settings, progress).lowest.structure


def run_flow(
    flow,
    settings: Settings | None = None,
    progress: Callable[[str, str], None] | None = None,
    work_dir: str | Path | None = None,
    what: str = "the flow",
    steps: Callable[[ProgressEvent], None] | None = None,
) -> Any:
    """Run any interchem flow locally on the settings' store and return its output, loaded from the
    store (so big data store fields come back too). ``progress(event, job name)`` is called with
    ``starting``, ``finished`` or ``reused`` (a job whose output says it reused a stored result);
    ``steps(ProgressEvent)`` with the steps the jobs report from inside (MD steps, NEB iterations,
    relaxation steps, jobs of a replaced flow; ``StepBars`` draws them). A failed job raises
    InterchemError with the job's own error message, not jobflow's generic one. MD checkpoints go to
    ``checkpoints/`` beside the job folders unless the ``checkpoint_dir`` setting names a folder.

    The store is checked first (``check_store``: reachable, credentials accepted), so an unreachable
    MongoDB fails in seconds, naming host and database, before any job or job folder exists."""
    from interchem.store import check_store, make_job_store
    from interchem.workflows.md import checkpoints_in

    settings = settings or get_settings()
    check_store(settings, timeout_ms=settings.store_timeout_ms)
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    store = make_job_store(settings)
    work_dir = Path(work_dir or Path(settings.output_dir) / "jobs").resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    local = LocalRun(store, work_dir, progress, steps)
    try:
        with checkpoints_in(work_dir / "checkpoints"):
            finished = local.run(flow)
    finally:
        with contextlib.suppress(OSError):  # only when empty: no folder left behind for jobs that wrote nothing
            work_dir.rmdir()
    if not finished:
        raise CalculationError(f"{what} did not finish: {'; '.join(local.failures) or 'a job stopped the flow'}")
    store.connect()
    try:
        return _read_outputs(store, flow.output)
    finally:
        store.close()


class LocalRun:
    """jobflow's ``run_locally`` (create_folders=True, ensure_success=True), with job events.

    Written out because ``run_locally`` reports job starts and failures only as log text; this loop keeps
    its semantics (each job in its own folder, a job whose parent failed is skipped, ``stop_children``,
    ``stop_jobflow``, and replace/detour/addition run in place, in that order) and calls ``progress`` and
    records each failing job's own error instead. ``steps`` receives the progress events the jobs emit
    (``interchem.progress``) and one per finished job of a replaced flow (kind ``jobs``: e.g. atomate2's
    phonon displacements, one job per displaced cell)."""

    def __init__(
        self,
        store,
        root_dir: Path,
        progress: Callable[[str, str], None] | None = None,
        steps: Callable[[ProgressEvent], None] | None = None,
    ):
        self.store, self.root_dir, self.progress, self.steps = store, root_dir, progress, steps
        self.failures: list[str] = []
        self.errored: set[str] = set()
        self.stopped_parents: set[str] = set()
        self.stop_jobflow = False

    def run(self, flow) -> bool:
        """True when every job finished (jobflow's ``ensure_success``)."""
        from jobflow.core.flow import get_flow

        from interchem.workflows.common import release_claims

        self.store.connect()
        try:
            with sink(self.steps):
                return self._run(get_flow(flow, allow_external_references=False))
        finally:
            release_claims(stored_only=False)  # a failed computation gives its key to the next run
            self.store.close()

    def _run(self, flow, parent: str | None = None) -> bool:
        from contextlib import chdir

        ok = True
        jobs = list(flow.iterflow())
        # The jobs a job replaced itself with (phonon displacements, interstitial hops) count as its steps.
        tracker = Tracker("jobs", len(jobs), job=parent) if parent is not None and len(jobs) > 1 else None
        for done, (job, parents) in enumerate(jobs, start=1):
            job_dir = self._job_dir()
            with chdir(job_dir):
                response = self._run_job(job, parents)
            if not any(job_dir.iterdir()):  # a job that wrote no file leaves no empty folder behind
                job_dir.rmdir()
            if response is not None:
                response.job_dir = job_dir
            ok = ok and response is not None
            if self.stop_jobflow:
                return False
            if tracker is not None:
                tracker.update(done)
        if tracker is not None:
            tracker.finish()
        return ok

    def _job_dir(self) -> Path:
        from datetime import datetime, timezone
        from random import randint

        from jobflow import SETTINGS

        stamp = datetime.now(tz=timezone.utc).strftime(SETTINGS.DIRECTORY_FORMAT)
        job_dir = self.root_dir / f"job_{stamp}-{randint(10000, 99999)}"
        job_dir.mkdir()
        return job_dir

    def _emit(self, event: str, name: str) -> None:
        if self.progress is not None:
            self.progress(event, name)

    def _run_job(self, job, parents):
        from jobflow.core.reference import OnMissing

        from interchem.workflows.common import release_claims

        if self.stop_jobflow:
            return None
        if set(parents) & self.stopped_parents:
            self.stopped_parents.add(job.uuid)
            return None
        if set(parents) & self.errored and job.config.on_missing_references == OnMissing.ERROR:
            self.errored.add(job.uuid)
            return None
        self._emit("starting", job.name)
        try:
            response = job.run(store=self.store)
        except Exception as exc:  # noqa: BLE001  (any job error is reported with its own message)
            self.failures.append(f"{job.name}: {error_line(exc)}")
            self.errored.add(job.uuid)
            # jobs run one at a time here, so a failure ends the computation behind any claim this run holds:
            # give them up now (not at the end of the run), or two runs with failures could wait for each other
            release_claims(stored_only=False)
            return None
        finally:  # a CP2K shell ends with the job that started it, whether the job finished or failed
            release_calculators()
        release_claims(self.store)  # cache keys claimed by this run whose result is now stored
        self._emit("reused" if _says_reused(response.output) else "finished", job.name)
        if response.stop_children:
            self.stopped_parents.add(job.uuid)
        if response.stop_jobflow:
            self.stop_jobflow = True
            return None
        diversions = [
            self._run(d, parent=job.name)
            for d in (response.replace, response.detour, response.addition)
            if d is not None
        ]
        return response if all(diversions) else None


class StepBars:
    """The runner's progress display: a rich bar per job's loop (MD steps, NEB iterations, relaxation
    steps, jobs of a replaced flow), drawn on an existing ``rich.progress.Progress`` (stderr) once that
    loop has run ``min_seconds``; quicker work draws nothing. Notes of the jobs (e.g. "resuming MD from
    step 50 of 100 from ...") are printed above the bars."""

    def __init__(self, bars, min_seconds: float = 10.0):
        self.bars, self.min_seconds = bars, min_seconds
        self.tasks: dict[tuple[str, str], Any] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "note":
            self.bars.console.print(f"  [dim]{event.line()}[/]")
            return
        key = (event.job, event.kind)
        task = self.tasks.get(key)
        if task is None:
            if event.done or event.elapsed_s < self.min_seconds:
                return
            task = self.tasks[key] = self.bars.add_task(f"  {event.job} ({event.kind})", total=event.total)
        if event.done:
            self.bars.remove_task(self.tasks.pop(key))
            return
        self.bars.update(task, completed=event.step, total=event.total)


@contextlib.contextmanager
def step_display(console) -> Any:
    """A ``StepBars`` on a fresh rich ``Progress`` on ``console`` (stderr), for commands that have no
    progress display of their own; the bars vanish when the block ends."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console, transient=True) as bars:
        yield StepBars(bars)


def _says_reused(output: Any) -> bool:
    """Reuse jobs (``relax or reuse``, ``static or reuse``) return the stored result with ``reused=True``."""
    value = output.get("reused") if isinstance(output, dict) else getattr(output, "reused", None)
    return value is True


def error_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line (pydantic's trailing documentation URL dropped)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("For further information visit")]
    return f"{type(exc).__name__}: {' '.join(lines) or '?'}"


def _read_outputs(store, output: Any) -> Any:
    """The stored value of a flow's output: one reference, or a list/dict of them (multi-phase flows)."""
    from jobflow import OutputReference

    if isinstance(output, OutputReference):
        value = store.get_output(output.uuid, which="last", load=True)
        for attr in output.attributes:  # e.g. flow.output.analysis
            value = value[attr[1]] if isinstance(value, dict) else getattr(value, attr[1])
        return value
    if isinstance(output, (list, tuple)):
        return [_read_outputs(store, item) for item in output]
    if isinstance(output, dict):
        return {key: _read_outputs(store, item) for key, item in output.items()}
    return output


def run_thermal_screen(
    temperature_K: float,
    settings: Settings | None = None,
    calculator: str | CalculatorSpec | None = None,
    min_length: float = 12.0,
    progress: Callable[[str, str], None] | None = None,
    steps: Callable[[ProgressEvent], None] | None = None,
):
    """The stored screen at ``temperature_K`` (``workflows.pipelines.ThermalScreenMaker``): harmonic
    phonons of every relaxed phase (reused from the store when the same phase, structure and calculator
    were done before), F_vib(T) added to every entry, and the analysis repeated next to the 0 K one.
    Returns (ThermalScreen, phonon summaries)."""
    from interchem.analysis.thermal import ThermalScreen
    from interchem.workflows.phonons import PhononSummary

    settings = settings or get_settings()
    flow, stored = thermal_screen_flow(temperature_K, settings, calculator, min_length)
    for phase in stored:
        if progress:
            progress("reused", f"phonons {phase}")
    out = run_flow(flow, settings, progress, what="the phonon runs", steps=steps)
    summaries = {phase: PhononSummary.model_validate(s) for phase, s in out["summaries"].items()}
    return ThermalScreen.model_validate(out["thermal"]), summaries


def thermal_screen_flow(
    temperature_K: float = 300.0,
    settings: Settings | None = None,
    calculator: str | CalculatorSpec | None = None,
    min_length: float = 12.0,
):
    """(flow, phase -> stored PhononSummary): the latest stored screen of ``calculator`` at ``temperature_K``,
    phonons only for the phases the store has none of."""
    from interchem.workflows.phonons import PhononsMaker
    from interchem.workflows.pipelines import ThermalScreenMaker

    settings = settings or get_settings()
    result = latest_screen_result(settings, calculator)
    spec = CalculatorSpec.model_validate(result.calculator)
    phonons = PhononsMaker(calculator=spec, min_length=min_length)
    maker = ThermalScreenMaker(temperature_K=temperature_K, phonons_maker=phonons)
    # The one cache key (workflows.common) of each relaxed structure's phonons with this calculator.
    relaxed = {e.data["phase"]: e.structure for e in screen_entries(result)}
    keys = {rel["phase"]: phonons.key(relaxed[rel["phase"]]) for rel in result.relaxations}
    stored = stored_phonons(settings, keys)
    return maker.make(result, stored, keys), stored
