"""How energies are made: one registry of calculator backends behind a typed ``CalculatorSpec``.

``registry`` holds the spec (validated once; ``.key()`` is the cache key of every stored calculation),
the backend record (elements, energy convention, level of theory, the atomate2 makers it provides) and
the helpers every workflow uses (``check_calculator``, ``ase_calculator``, ``relax_maker``,
``static_maker``, ``evaluate_many``). The backends register themselves on import: ``mlip`` (CHGNet,
SevenNet, MACE, EMT), ``cp2k`` (CP2K through ASE) and ``vasp`` (atomate2's VASP makers). Importing this
package imports all of them, so a spec names any of them; nothing above this package asks which code
it runs.
"""

from interchem.calculators import cp2k as _cp2k  # noqa: F401  (registers cp2k)
from interchem.calculators import mlip as _mlip  # noqa: F401  (registers chgnet, mace, sevennet, emt)
from interchem.calculators import vasp as _vasp  # noqa: F401  (registers vasp)
from interchem.calculators.mlip import build_tiny_mace
from interchem.calculators.registry import (
    CAPABILITIES,
    CalculatorBackend,
    CalculatorMakers,
    CalculatorSpec,
    EnergyConvention,
    ase_calculator,
    available,
    cached_ase_calculator,
    calculator_makers,
    check_calculator,
    evaluate_many,
    get_backend,
    register,
    registered_backends,
    relax_maker,
    release_calculators,
    set_default_makers,
    static_maker,
)
from interchem.calculators.tracked import TrackedBFGS

__all__ = [
    "CAPABILITIES",
    "CalculatorBackend",
    "CalculatorMakers",
    "CalculatorSpec",
    "EnergyConvention",
    "TrackedBFGS",
    "ase_calculator",
    "available",
    "build_tiny_mace",
    "cached_ase_calculator",
    "calculator_makers",
    "check_calculator",
    "evaluate_many",
    "get_backend",
    "register",
    "registered_backends",
    "release_calculators",
    "relax_maker",
    "set_default_makers",
    "static_maker",
]
