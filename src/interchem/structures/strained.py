"""The electrolyte's bulk reference strained as its film is in an interface.

The film of an interface is the electrolyte's oriented cell (flipped so that its chosen face is at the
bottom), repeated in-plane by the candidate's ``electrolyte_transformation`` and mapped affinely onto the
substrate's in-plane cell: fractional in-plane coordinates and heights along the normal are kept. The same
map applied to the periodic oriented supercell gives a bulk of the same composition, Li arrangement and
in-plane strain: a = a', b = b' (the interface's in-plane vectors) and c = p a' + q b' + d n', where
(p, q) are the fractional in-plane components of the oriented cell's c and d its height along the normal.
Against it, the film's surface energy carries no strain energy (Dupre's gamma_int then does not either).
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice, Structure

from interchem.errors import InterfaceError
from interchem.structures.interfaces import InterfaceCandidate
from interchem.structures.oriented import flip_oriented, oriented_cell, surface_normal
from interchem.structures.surfaces import find_terminations


def strained_film_bulk(electrolyte: Structure, candidate: InterfaceCandidate) -> Structure:
    """Periodic bulk of the electrolyte with the film's in-plane cell (see the module docstring)."""
    if candidate.max_abs_strain == 0.0 and not candidate.electrolyte_transformation:
        raise InterfaceError("the candidate has no crystalline electrolyte film (amorphous partner?)")
    terms = find_terminations(electrolyte, candidate.electrolyte_miller, phase=candidate.electrolyte, cross_check=False)
    term = terms.get(candidate.electrolyte_termination)
    cell = oriented_cell(electrolyte, candidate.electrolyte_miller)
    if not term.flipped:  # the film's face is at the bottom: make_slab(face_on="bottom") flips the frame
        cell = flip_oriented(cell)
    mf = np.asarray(candidate.electrolyte_transformation, int)
    cell.make_supercell([[*mf[0], 0], [*mf[1], 0], [0, 0, 1]])
    a, b, c = cell.lattice.matrix
    n = surface_normal(cell)
    d = float(c @ n)
    p, q = np.linalg.lstsq(np.array([a, b]).T, c - d * n, rcond=None)[0]
    a2, b2 = np.asarray(candidate.structure.lattice.matrix[:2], float)
    n2 = np.cross(a2, b2)
    n2 /= np.linalg.norm(n2)
    lattice = Lattice([a2, b2, p * a2 + q * b2 + d * n2])
    out = Structure(lattice, cell.species, cell.frac_coords)
    out.properties = {"kind": "strained bulk", "phase": candidate.electrolyte, "strain": candidate.strain}
    if (electrolyte.properties or {}).get("ordering"):  # the ordered cell of a partially occupied phase
        out.properties["ordering"] = electrolyte.properties["ordering"]
    return out
