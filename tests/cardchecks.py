"""Shared checks for the phase-card table (tests/test_cards.py).

Not a test module: the table holds the facts of each card (expected atom counts, shortest bond,
space group, reference structures and volume windows, with the reasons for each tolerance) and calls
the assertion helpers here, so that every card is checked the same way.

pytest rewrites asserts only in test modules and conftest, not here, so every assert below carries
its own message (the values involved) to keep failures as readable as they were in the test files.

Imported as ``from cardchecks import ...``: tests/ has no __init__.py, so pytest puts it on sys.path.
(Never ``tests.cardchecks``: mace-torch installs an unrelated top-level package named ``tests``.)
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest
from paths import REFERENCE
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Composition, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from interchem.structures.cards import CARD_DIR, PhaseCard, load_card

# The shared reference data lies next to the repository: <repository>/../shared/reference (tests/ is
# parents[0], the repository parents[1]). CI checks it out there; elsewhere the comparisons skip.
REFERENCE_DIR = REFERENCE / "structures"

# spglib tolerance for the space-group check; every card file has always used 0.1.
SYMPREC = 0.1

# The same settings for every card-vs-reference comparison. scale=True: the volume is checked
# separately, against a window justified per comparison in tests/test_cards.py.
MATCHER = StructureMatcher(ltol=0.2, stol=0.3, angle_tol=5, primitive_cell=True, scale=True, attempt_supercell=True)


@cache
def card(name: str) -> PhaseCard:
    """The phase card CARD_DIR/<name>.yaml, loaded once per test session."""
    return load_card(CARD_DIR / f"{name}.yaml")


@cache
def built(name: str) -> Structure:
    """The conventional cell of the card, built once per test session (callers must not modify it)."""
    return card(name).build()


def reference(stem: str) -> Structure:
    """Reference structure <stem>.json from the shared data; skips the test when it is not checked out."""
    path = REFERENCE_DIR / f"{stem}.json"
    if not path.exists():
        pytest.skip(
            f"reference structure {stem}.json not found in {REFERENCE_DIR}: the shared reference data "
            "(<repository>/../shared/reference) is not checked out here (CI has it)"
        )
    with open(path) as fh:
        return Structure.from_dict(json.load(fh))


def shortest_pair(structure: Structure) -> tuple[set[str], float]:
    """The species pair of the shortest interatomic distance in the cell, and that distance."""
    dm = structure.distance_matrix.copy()
    np.fill_diagonal(dm, np.inf)
    i, j = np.unravel_index(np.argmin(dm), dm.shape)
    return {structure[i].specie.symbol, structure[j].specie.symbol}, float(dm[i, j])


def assert_cards_exist(names) -> None:
    missing = [n for n in names if not (CARD_DIR / f"{n}.yaml").exists()]
    assert not missing, f"cards missing: {missing}"


def assert_builds(name: str, conv: int, prim: int, *, ordered_approximant: bool = False) -> None:
    """The card is well formed and builds an ordered cell of its formula with `conv` atoms (`prim` primitive)."""
    c = card(name)
    assert c.name == name, f"card file {name}.yaml is named {c.name!r}"  # file name = card name
    assert c.roles, f"{name} has no roles"
    assert c.source.citation, f"{name} has no source citation"
    assert c.ordered_approximant == ordered_approximant, f"{name}: ordered_approximant is {c.ordered_approximant}"
    s = built(name)
    assert s.is_ordered, f"{name} builds a disordered cell"
    found = s.composition.reduced_composition
    assert found == Composition(c.formula).reduced_composition, f"{name} builds {found.formula}, card says {c.formula}"
    assert len(s) == conv, f"{name}: {len(s)} atoms in the conventional cell, expected {conv}"
    n_prim = len(c.build(primitive=True))
    assert n_prim == prim, f"{name}: {n_prim} atoms in the primitive cell, expected {prim}"


def assert_shortest_bond(name: str, pair: set[str], window: tuple[float, float]) -> None:
    """The shortest distance in the card is between the species `pair` and lies inside `window` (A)."""
    found_pair, d = shortest_pair(built(name))
    lo, hi = window
    # Nothing in these chemistries is shorter than the N2 triple bond (1.09 A); below 1 A atoms merged.
    assert d > 1.0, f"{name}: atoms {d:.3f} A apart"
    assert found_pair == pair, f"{name}: shortest pair {'-'.join(sorted(found_pair))}"
    assert lo <= d <= hi, f"{name}: shortest distance {d:.3f} A outside [{lo}, {hi}]"


def assert_space_group(name: str, number: int) -> int:
    """spglib finds `number`, which is also the group the card states; returns the group found."""
    found = SpacegroupAnalyzer(built(name), symprec=SYMPREC).get_space_group_number()
    stated = card(name).space_group.number
    assert found == number == stated, f"{name}: spglib finds {found}, expected {number}, card states {stated}"
    return found


def assert_matches_reference(name: str, stem: str, volume_window: tuple[float, float], label: str = "") -> None:
    """The card is the reference's structure (MATCHER) and its volume per atom is inside the window.

    The window bounds reference / card - 1 of the volume per atom; `label` (e.g. "dft", "exp") is only
    shown in the failure message.
    """
    ref = reference(stem)
    s = built(name)
    assert MATCHER.fit(s, ref), f"{name} does not match reference {stem}"
    dv = (ref.volume / len(ref)) / (s.volume / len(s)) - 1.0
    lo, hi = volume_window
    kind = f" ({label})" if label else ""
    assert lo <= dv <= hi, f"{name} vs {stem}{kind}: volume/atom differs by {dv:+.1%}, expected [{lo:+.0%}, {hi:+.0%}]"
