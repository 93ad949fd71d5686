"""Oriented cells and atomic layers: the geometry a surface of a crystal is cut from.

Written by hand: SlabGenerator's oriented unit cell is not the primitive surface cell with the shortest
c; an integer search finds that one. Its in-plane pair is Gauss-reduced by hand (``_reduce_2d``) because
``pymatgen.analysis.interfaces.zsl.reduce_vectors`` returns another, equally reduced basis (angle <= 90
degrees, b negated or exchanged) for 54 of 175 card/Miller cases checked, which would change every
oriented cell and so every slab and interface built on it, and it does not carry the integer coordinates.
"""

from __future__ import annotations

import itertools
import math
from functools import reduce

import numpy as np
from pymatgen.core import Lattice, Structure

from interchem.errors import InterfaceError

Miller = tuple[int, int, int]

LAYER_TOL_A = 0.1  # atoms closer than this along the normal form one layer (SlabGenerator's ftol)

# --------------------------------------------------------------------------------------------------
# Oriented cells


def conventional_and_primitive(bulk: Structure) -> tuple[Structure, Structure]:
    """Conventional standard cell (Miller indices refer to it) and a primitive cell in the same frame."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    conv = SpacegroupAnalyzer(bulk, symprec=0.01).get_conventional_standard_structure()
    prim = conv.get_primitive_structure(tolerance=0.01)
    return conv, prim


def _miller_in_primitive(conv: Structure, prim: Structure, miller: Miller) -> tuple[int, int, int]:
    g = np.asarray(miller, float) @ conv.lattice.reciprocal_lattice_crystallographic.matrix
    raw = prim.lattice.matrix @ g  # a_i . G: the plane's Miller index in the primitive basis (rational)
    for denom in range(1, 25):
        scaled = raw * denom
        if np.allclose(scaled, np.round(scaled), atol=1e-4):
            ints = np.round(scaled).astype(int)
            g_ = reduce(math.gcd, [abs(int(x)) for x in ints if x]) or 1
            return tuple(int(x) // g_ for x in ints)  # type: ignore[return-value]
    raise InterfaceError(f"Miller index {miller} could not be expressed in the primitive cell")


def oriented_cell(bulk: Structure, miller: Miller) -> Structure:
    """The smallest cell of ``bulk`` with a, b in the (hkl) plane (2D-reduced) and c.n = d_hkl > 0.

    ``miller`` refers to the conventional standard cell. Written by hand (integer search) so that the
    in-plane cell is the primitive surface cell and c is the shortest out-of-plane lattice vector.
    """
    if len(miller) != 3 or not any(miller):
        raise InterfaceError(f"Miller index {miller!r} must be three integers, not all zero")
    conv, prim = conventional_and_primitive(bulk)
    hkl = np.array(_miller_in_primitive(conv, prim, tuple(int(x) for x in miller)))
    mat = prim.lattice.matrix
    g = hkl @ prim.lattice.reciprocal_lattice_crystallographic.matrix
    d = 1.0 / np.linalg.norm(g)
    nmax = int(max(abs(hkl))) + 3
    grid = np.array(list(itertools.product(range(-nmax, nmax + 1), repeat=3)))
    grid = grid[np.any(grid != 0, axis=1)]
    dots = grid @ hkl
    carts = grid @ mat
    inplane = grid[dots == 0]
    ip_cart = inplane @ mat
    order = np.argsort(np.linalg.norm(ip_cart, axis=1))
    inplane, ip_cart = inplane[order], ip_cart[order]
    area_min = prim.volume / d
    v1 = inplane[0]
    v2 = None
    for u, uc in zip(inplane[1:], ip_cart[1:]):
        if abs(np.linalg.norm(np.cross(ip_cart[0], uc)) - area_min) < 1e-6 * area_min:
            v2 = u
            break
    if v2 is None:
        raise InterfaceError(f"no primitive in-plane cell found for {miller}")
    a, b = v1 @ mat, v2 @ mat
    # Gauss-reduce the 2D cell (shortest basis, angle 60-120 degrees)
    a, b, v1, v2 = _reduce_2d(a, b, v1, v2)
    n = np.cross(a, b)
    if n @ g < 0:
        a, b, v1, v2 = b, a, v2, v1
        n = -n
    n = n / np.linalg.norm(n)
    # c: a lattice vector one plane up (u.hkl = 1) with the smallest in-plane component
    up = grid[dots == 1]
    up_cart = carts[dots == 1]
    par = up_cart - np.outer(up_cart @ n, n)
    v3 = up[int(np.argmin(np.linalg.norm(par, axis=1)))]
    m = np.array([v1, v2, v3])
    if round(abs(np.linalg.det(m))) != 1:
        raise InterfaceError(f"oriented cell for {miller} is not unimodular (det {np.linalg.det(m):.2f})")
    cell = prim.copy()
    cell.make_supercell(m)
    cell.properties = dict(bulk.properties or {})
    return cell


def _reduce_2d(a, b, va, vb):
    for _ in range(100):
        if np.linalg.norm(b) < np.linalg.norm(a):
            a, b, va, vb = b, a, vb, va
        mu = round(float(a @ b) / float(a @ a))
        if mu == 0:
            break
        b, vb = b - mu * a, vb - mu * va
    return a, b, va, vb


def flip_oriented(cell: Structure) -> Structure:
    """The same crystal seen from the other side: lattice (b, a, -c), a proper rotation of the frame.
    The top face of a cut at fraction p here is the bottom face of the cut at 1 - p in ``cell``."""
    a, b, c = cell.lattice.matrix
    frac = cell.frac_coords[:, [1, 0, 2]] * np.array([1, 1, -1])
    return Structure(Lattice([b, a, -c]), cell.species, frac % 1.0, properties=dict(cell.properties or {}))


def surface_normal(cell: Structure) -> np.ndarray:
    """Unit normal of the (a, b) plane, along a x b."""
    a, b, _ = cell.lattice.matrix
    n = np.cross(a, b)
    return n / np.linalg.norm(n)


def plane_spacing(cell: Structure) -> float:
    """Height of the oriented cell along the normal: the interplanar spacing d_hkl."""
    return float(cell.lattice.matrix[2] @ surface_normal(cell))


# --------------------------------------------------------------------------------------------------
# Layers


def layers(cell: Structure, tol: float = LAYER_TOL_A) -> list[np.ndarray]:
    """Atom indices of each layer along the normal, bottom to top within [0, d) (periodic clustering)."""
    d = plane_spacing(cell)
    h = (cell.frac_coords[:, 2] % 1.0) * d
    order = np.argsort(h)
    groups: list[list[int]] = [[int(order[0])]]
    for i, j in zip(order[:-1], order[1:]):
        if h[j] - h[i] > tol:
            groups.append([])
        groups[-1].append(int(j))
    if len(groups) > 1 and (h[order[0]] + d) - h[order[-1]] <= tol:  # wrap: top layer joins the bottom
        groups[0] = groups.pop() + groups[0]
    return [np.array(g) for g in groups]


def layer_heights(cell: Structure, groups: list[np.ndarray]) -> np.ndarray:
    """Mean height of each layer above the cell's bottom plane (A, in [0, d)); wrapped layers unwrapped."""
    d = plane_spacing(cell)
    h = (cell.frac_coords[:, 2] % 1.0) * d
    out = []
    for g in groups:
        hs = h[g]
        if hs.max() - hs.min() > d / 2:  # wrapped layer
            hs = np.where(hs > d / 2, hs - d, hs)
        out.append(float(np.mean(hs)) % d)
    return np.array(out)


def slab_from_cut(cell: Structure, shift: float, n_cells: int, vacuum: float) -> Structure:
    """Whole oriented cells stacked from the cut at fractional ``shift``; c perpendicular to the surface,
    the cut plane at vacuum/2 along the normal (with no vacuum the cell is the periodic bulk again)."""
    a, b, c = cell.lattice.matrix
    n, d = surface_normal(cell), plane_spacing(cell)
    fc = (cell.frac_coords[:, 2] - shift) % 1.0
    species, carts = [], []
    for k in range(n_cells):
        r = cell.frac_coords[:, :1] * a + cell.frac_coords[:, 1:2] * b + (fc[:, None] + k) * c
        carts.append(r)
        species += [s.species for s in cell]
    r = np.vstack(carts)
    z = r @ n
    r_par = r - np.outer(z, n)
    z = z + vacuum / 2  # r.n = (fc' + k) d: heights above the cut plane
    thickness = n_cells * d
    lattice = Lattice([a, b, (thickness + vacuum) * n])
    return Structure(lattice, species, r_par + np.outer(z, n), coords_are_cartesian=True, to_unit_cell=True)
