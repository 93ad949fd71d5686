"""VASP through atomate2's Materials Project makers: a registry entry, not a parallel set of flows.

``inputs`` describes the ``vasp`` backend (spec validation, POTCAR checks, MP relax/static/MD makers,
write-only makers); ``md``, ``neb`` and ``interfaces`` hold the code-specific makers and read atomate2's
VASP task documents back into interchem's schemas; ``makers.VaspMakers`` gathers them per capability.
Importing this package registers the backend with its makers.
"""

import dataclasses

from interchem.calculators.registry import register
from interchem.calculators.vasp import inputs as inputs
from interchem.calculators.vasp.makers import VASP_CAPABILITIES, VaspMakers

register(dataclasses.replace(inputs.BACKEND, capabilities=VASP_CAPABILITIES, make_makers=VaspMakers))
