"""VASP through atomate2's Materials Project makers: a registry entry, not a parallel set of flows.

``inputs`` registers the ``vasp`` backend (spec validation, POTCAR checks, MP relax/static/MD makers,
write-only makers); ``md``, ``neb`` and ``interfaces`` read atomate2's VASP task documents back into
interchem's result schemas and provide the makers the workflows compose.
"""

from interchem.calculators.vasp import inputs as inputs  # noqa: F401  (registers the backend)
