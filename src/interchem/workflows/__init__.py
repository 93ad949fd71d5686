"""Thin jobflow Makers. Each holds a validated CalculatorSpec and composes the makers its backend
provides (``calculators.registry``: capabilities and makers); none has a code path per calculator.
Importing this package registers interchem's ASE route (``routes``) as the makers of every backend with
an ASE calculator. ``common`` holds the one cache key, store lookup and reuse mechanism.
"""

from interchem.workflows import routes as routes  # registers the ASE route
from interchem.workflows.thermo import RelaxPhaseMaker, ScreenMaker

__all__ = ["RelaxPhaseMaker", "ScreenMaker"]
