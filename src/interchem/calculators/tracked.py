"""ASE optimisers that report their steps to ``interchem.progress``.

atomate2's ``AseRelaxer`` (behind ``ForceFieldRelaxMaker``) builds the optimiser itself and accepts an
optimiser class in place of a name, but has no observer hook; a subclass whose ``run`` attaches the
progress tracker gives relaxations live progress without copying atomate2's relax loop. The class
serialises as ``{"@module", "@callable"}`` (monty), so makers holding it travel to remote workers.
"""

from __future__ import annotations

from ase.optimize import BFGS
from ase.optimize.optimize import DEFAULT_MAX_STEPS

from interchem.progress import tracking


class TrackedBFGS(BFGS):
    """ASE's BFGS, unchanged, with its steps reported as progress of kind ``relax``."""

    def run(self, fmax: float = 0.05, steps: int = DEFAULT_MAX_STEPS) -> bool:
        with tracking(self, "relax", steps):
            return super().run(fmax=fmax, steps=steps)
