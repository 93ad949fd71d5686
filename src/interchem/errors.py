"""Project exceptions. Each names the offending value so a user can fix the input.

All derive from InterchemError, which the CLI turns into a one-line message and the class's
``exit_code`` (the table in docs/cli.md), before anything is written to a store:

=====  =====================================================================================
code   meaning
=====  =====================================================================================
0      success
1      ``store check`` found a damaged file; an unexpected bug (Python traceback)
2      usage error: unknown option, missing argument, a value of the wrong type (click's own)
3      input error: bad structure, phase, calculator, settings, store path (``EXIT_INPUT``)
4      a calculation failed: a job of the flow raised (``EXIT_CALCULATION``)
5      a service is unreachable or unusable: MongoDB store, corrupt embedded store, Slurm,
       Materials Project (``EXIT_SERVICE``)
=====  =====================================================================================
"""

from __future__ import annotations

import difflib

EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_CALCULATION = 4
EXIT_SERVICE = 5


def did_you_mean(name: str, known: list[str] | None, n: int = 3) -> str:
    """`` Did you mean: A, B?`` for the names of ``known`` closest to ``name`` (case-insensitive; difflib),
    or an empty string."""
    if not known:
        return ""
    by_lower: dict[str, str] = {}
    for k in known:
        by_lower.setdefault(k.lower(), k)
    close = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=n, cutoff=0.6)
    return f" Did you mean: {', '.join(by_lower[c] for c in close)}?" if close else ""


class InterchemError(Exception):
    """Base class for errors caused by user input or environment, not by bugs. ``exit_code``: what the
    CLI exits with (input error unless a subclass says otherwise)."""

    exit_code: int = EXIT_INPUT


class CalculationError(InterchemError, RuntimeError):
    """A calculation ran and failed (a job of the flow raised); the message carries the job's own error."""

    exit_code = EXIT_CALCULATION


class ServiceError(InterchemError):
    """A service the command needs (store database, scheduler, Materials Project) is unreachable or unusable."""

    exit_code = EXIT_SERVICE


class SettingsError(InterchemError, ValueError):
    """A setting (flag, INTERCHEM_* variable or config-file entry) has an invalid value or the config
    file cannot be read; the message names the setting and where it came from."""


class UnknownPhaseError(InterchemError, KeyError):
    def __init__(self, name: str, known: list[str] | None = None):
        hint = did_you_mean(name, known)
        super().__init__(f"unknown phase {name!r}: not in the phase library and not a readable structure file.{hint}")
        self.name = name

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class UnknownCalculatorError(InterchemError, KeyError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(
            f"unknown calculator {name!r}; known calculators: {', '.join(sorted(known))}.{did_you_mean(name, known)}"
        )
        self.name = name

    def __str__(self) -> str:
        return self.args[0]


class CalculatorSettingsError(InterchemError, ValueError):
    """Settings of a calculator spec are missing or wrong (e.g. a MACE model path that is not a model)."""


class MissingCapabilityError(CalculatorSettingsError):
    """A workflow needs something the calculator's backend does not provide (e.g. phonons with VASP)."""

    def __init__(self, calculator: str, capability: str, hint: str = ""):
        self.calculator, self.capability = calculator, capability
        super().__init__(f"calculator {calculator!r} cannot do {capability!r}" + (f": {hint}" if hint else ""))


class UnsupportedElementsError(InterchemError, ValueError):
    def __init__(self, calculator: str, elements: list[str], context: str = ""):
        where = f" (needed by {context})" if context else ""
        super().__init__(f"calculator {calculator!r} cannot treat element(s) {', '.join(sorted(elements))}{where}")
        self.calculator = calculator
        self.elements = sorted(elements)


class StructureFileError(InterchemError, ValueError):
    """A user structure file could not be read or holds no usable structure."""


class ExportError(InterchemError, ValueError):
    """``interchem export``: nothing (or more than one thing) matches the target, or it cannot be written
    in the format asked for."""


class StructureValidationError(InterchemError, ValueError):
    """A structure is unphysical: overlapping atoms, partial occupancy where order is required, ..."""


class DisorderTooLargeError(StructureValidationError):
    """The ordered supercell that a partially occupied structure's occupancies need has more atoms than
    the limit (``structures.disorder.MAX_ORDERED_ATOMS`` unless given)."""


class ChemicalSystemError(InterchemError, ValueError):
    """Empty or inconsistent chemical system, or a phase diagram that cannot be built from the entries."""


class MissingAPIKeyError(InterchemError, RuntimeError):
    """A Materials Project lookup was requested without an API key."""


class MaterialsProjectError(ServiceError, RuntimeError):
    """The Materials Project could not be reached or answered with an error."""


class DiffusionInputError(InterchemError, ValueError):
    """Trajectory, MSD or fit input that cannot give a diffusion coefficient (shape, length, units)."""


class NoDiffusionError(InterchemError, ValueError):
    """A diffusion coefficient was used where diffusion was not seen (flagged or non-positive D)."""


class HopError(InterchemError, ValueError):
    """A hop search or NEB setup that cannot be done as asked."""


class NoMobileSpeciesError(HopError):
    def __init__(self, phase: str, species: str):
        super().__init__(f"phase {phase!r} holds no {species}: there are no {species} sites to hop between")
        self.phase = phase
        self.species = species


class NoHopsError(HopError):
    """No pair of sites lies within the cutoff."""


# Scale-out (issue 6): stores, submission to jobflow-remote / Slurm, FireWorks. All are raised before
# anything is submitted or written.


class StoreConfigError(InterchemError, ValueError):
    """The store settings are missing or malformed (no URI where one is needed, a URI that does not parse)."""


class StoreMissingError(StoreConfigError):
    """A command was pointed at an embedded store folder that does not exist (a mistyped ``-s``)."""


class StoreCorruptError(ServiceError):
    """A file of the embedded store fails SQLite's integrity check; the message names it and the way out."""


class StoreConnectionError(ServiceError, ConnectionError):
    """The configured MongoDB store is unreachable or refuses the credentials (message never holds them)."""


class SubmissionError(InterchemError, RuntimeError):
    """A flow cannot be submitted: unknown flow, bad resources, no jobflow-remote project, ..."""


class SchedulerError(SubmissionError):
    """The batch scheduler is not usable as configured (no sbatch, a partition that does not exist)."""


class SchedulerUnreachableError(SchedulerError, ServiceError):
    """The batch scheduler does not answer on the worker host (sinfo fails): a service error, exit 5."""


class WorkerDependencyError(SubmissionError):
    """The worker's Python lacks a package that the flow's calculator needs."""


# Amorphous phases and mechanics of lithiation (issue 3, items 3 and 5). Raised before anything is
# packed, run or written.


class AmorphousInputError(InterchemError, ValueError):
    """A melt-quench request that cannot give a meaningful amorphous cell."""


class CompositionError(AmorphousInputError):
    """A composition that cannot be parsed or is impossible (unknown element, non-positive amount)."""


class TooFewAtomsError(AmorphousInputError):
    """The cell is too small to represent the composition (an element rounds to zero atoms, or the
    composition error of the integer cell exceeds the tolerance)."""


class DensityError(AmorphousInputError):
    """A density far from anything a solid of this composition can have."""


class PackingError(AmorphousInputError):
    """Random packing could not place all atoms at the requested density and minimum distance."""


class ElasticError(InterchemError, ValueError):
    """An elastic tensor that gives no meaningful moduli (not positive definite, wrong shape)."""


# --- slabs and interfaces (issue 3) ------------------------------------------------------------


class InterfaceError(InterchemError, ValueError):
    """A slab or interface that cannot be built as asked."""


class UnknownTerminationError(InterfaceError):
    def __init__(self, requested, phase: str, miller, known: list[str]):
        super().__init__(
            f"{phase} {tuple(miller)} has no termination {requested!r}; known: "
            + ", ".join(f"{i}: {label!r}" for i, label in enumerate(known))
        )
        self.requested = requested


class SlabTooThinError(InterfaceError):
    """Fewer atomic layers than the fixed bottom layers need (at least as many free layers as fixed)."""


class NegativeSurfaceEnergyError(InterfaceError):
    """A surface energy below zero: the bulk reference is inconsistent with the slab (the message says why)."""


class NoInterfaceMatchError(InterfaceError):
    """No lattice match within the limits on area, strain and atom count."""


class AmorphousBlockError(InterfaceError):
    """An amorphous block that is too small in-plane or has an unphysical density."""


class FineTuneError(InterchemError, ValueError):
    """A fine-tuning request that cannot work: too few labels for a train/validation/test split, a base model
    without a training path, a model file that does not load (raised before any job runs)."""


class JobCancelledError(InterchemError, RuntimeError):
    """A job got SIGTERM from its scheduler (``scancel``, or its time limit) and stopped; the message says
    so, so that the job's recorded failure is not a bare "output file missing"."""
