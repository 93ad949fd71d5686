"""Named bulk phases: the offline card library, user files, and Materials Project when a key is set.

``resolve_phase`` is the one way in: a phase name (card name, or an alias such as "LLZO"), or a path
to a CIF/POSCAR/extxyz file. With an MP API key, names come from the Materials Project instead, and a
chemical system is filled with every MP phase near the hull.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pymatgen.core import Composition, Structure

from interchem.errors import StructureValidationError, UnknownPhaseError
from interchem.structures.cards import CARD_DIR, PhaseCard, load_cards

DISORDERED_CARD_DIR = CARD_DIR / "disordered"

# Everyday names researchers use for the electrolytes.
ALIASES = {
    "llzo": "Li7La3Zr2O12",
    "t-llzo": "Li7La3Zr2O12",
    "lipon": "Li2PO2N",
    "argyrodite": "Li6PS5Cl",
    "lpscl": "Li6PS5Cl",
    "lps": "Li3PS4",
}

DEFAULT_ELECTROLYTES = ("Li6PS5Cl", "Li7La3Zr2O12", "Li2PO2N")
# A quick set for tests and first looks (``--quick``): the argyrodite against three Li_xSi phases. Here,
# not in workflows.pipelines, so that planning a screen does not import the interface stack (~3 s).
QUICK_ELECTROLYTES = ["Li6PS5Cl"]
QUICK_ANODES = ["Si", "LiSi", "Li15Si4"]
HOST = "Si"
ION = "Li"


@lru_cache(maxsize=1)
def cards() -> dict[str, PhaseCard]:
    return load_cards()


@lru_cache(maxsize=1)
def disordered_cards() -> dict[str, PhaseCard]:
    """Partially occupied cards (``phases/disordered/``): named explicitly, never part of the automatic
    chemical-system fill, since their ordered cells come from a calculator ranking."""
    return load_cards(DISORDERED_CARD_DIR)


def canonical_name(name: str) -> str:
    return ALIASES.get(name.strip().lower(), name.strip())


def phase_names() -> list[str]:
    return sorted([*cards(), *disordered_cards()])


def known_names() -> list[str]:
    """Every name a phase can be given by: the cards and the aliases (what "did you mean" chooses from)."""
    return [*phase_names(), *ALIASES]


def check_phase_name(name: str) -> str:
    """The canonical name of a phase given by name, checked without building anything: a card, an alias,
    a structure file, or a chemical formula (a phase a Materials Project screen may hold). Anything else
    raises ``UnknownPhaseError`` with the closest known names."""
    from pymatgen.core import Composition

    if is_structure_file(name) or Path(name).is_file():
        return Path(name).stem
    key = canonical_name(name)
    if key in cards():
        return key
    try:
        Composition(key)
    except (ValueError, KeyError):
        raise UnknownPhaseError(name, known_names()) from None
    return key


def is_structure_file(name: str) -> bool:
    p = Path(name)
    return p.suffix.lower() in {".cif", ".vasp", ".json", ".xyz", ".extxyz"} or p.name.upper().startswith(
        ("POSCAR", "CONTCAR")
    )


def resolve_phase(
    name: str, mp_source=None, primitive: bool = True, allow_disordered: bool = False
) -> tuple[str, Structure]:
    """Return (phase name, ordered structure) for a library name, alias or structure file path.

    ``allow_disordered``: a partially occupied file or card (``NAME@x`` sets a disordered card's
    exchange parameter, e.g. ``Li6PS5Cl-disordered@0.25``) comes back as it is, in its conventional
    cell, for ``structures.disorder`` to order; without it such a phase is a StructureValidationError."""
    if is_structure_file(name) or Path(name).is_file():
        from interchem.structures.files import load_structure_file

        structure = load_structure_file(name, require_ordered=not allow_disordered)
        if not structure.is_ordered:
            label = Path(name).stem or structure.composition.reduced_formula
            structure.properties = {**structure.properties, "phase": label}
            return label, structure
        label = Path(name).stem or structure.composition.reduced_formula
        properties = {**structure.properties, "phase": label}
        if primitive:  # get_primitive_structure drops properties: carry the provenance over
            structure = structure.get_primitive_structure(tolerance=0.05)
        structure.properties = properties
        return label, structure
    key, exchange = _split_exchange(canonical_name(name))
    if mp_source is not None and exchange is None and key not in disordered_cards():
        return key, mp_source.structure_for(key)
    card = cards().get(key) or disordered_cards().get(key)
    if card is None:
        raise UnknownPhaseError(name, known_names())
    if not card.disordered:
        if exchange is not None:
            raise StructureValidationError(f"phase {key} is ordered: {name!r} has nothing to exchange")
        return key, card.build(primitive=primitive)
    if not allow_disordered:
        raise StructureValidationError(
            f"phase {name} is partially occupied; this command needs an ordered cell (order it first: "
            "interchem's screen, barriers and diffusion do so with the calculator)"
        )
    label = key if exchange is None else f"{key}@{exchange:g}"
    structure = card.build(exchange=exchange)
    structure.properties["phase"] = label
    return label, structure


def _split_exchange(name: str) -> tuple[str, float | None]:
    """``Li6PS5Cl-disordered@0.25`` -> (``Li6PS5Cl-disordered``, 0.25)."""
    if "@" not in name:
        return name, None
    key, _, value = name.rpartition("@")
    try:
        return key, float(value)
    except ValueError:
        raise StructureValidationError(f"phase {name!r}: the value after @ must be a number, got {value!r}") from None


def card_phases_in(elements: Iterable[str]) -> list[str]:
    """Library phases whose elements all lie in ``elements`` (every sub-system of the chemical system)."""
    allowed = set(elements)
    return sorted(n for n, c in cards().items() if {e.symbol for e in c.composition.elements} <= allowed)


def anode_series(host: str = HOST, ion: str = ION) -> list[str]:
    """Li_xSi phases of the library ordered by x, from the host (x = 0) to the richest."""
    names = card_phases_in([host, ion])
    series = [n for n in names if host in cards()[n].composition]
    return sorted(series, key=lambda n: _x_per_host(cards()[n].composition, host, ion))


def _x_per_host(comp: Composition, host: str, ion: str) -> float:
    return comp[ion] / comp[host]
