"""Crystallographic phase cards: published space group, lattice and Wyckoff sites -> ordered Structure.

A card is a YAML file in ``interchem/structures/phases``. It states facts from a cited source; the
builder expands them with ASE's ``ase.spacegroup.crystal`` (chosen over pymatgen's
``Structure.from_spacegroup`` because it knows both origin choices of every centrosymmetric group,
e.g. I4_1/acd origin 2 used in the LLZO literature) and checks the result (site count against the
Wyckoff multiplicities, composition against the formula, no overlapping atoms).

Card schema (YAML)::

    name: Li15Si4                    # library key, unique
    formula: Li15Si4                 # reduced formula the structure must have
    description: ...                 # one line
    space_group: {symbol: I-43d, number: 220, setting: 1}   # ASE setting: origin choice / R axes
    lattice: {a: 10.685}             # Angstrom / degrees; missing values follow the crystal system
    sites:                           # asymmetric unit, fully occupied (ordered)
      - {element: Li, wyckoff: 12a, xyz: [0.375, 0.0, 0.25]}
    source: {citation: "...", doi: "...", database_id: "ICSD ...", method: "neutron, 295 K"}
    ordered_approximant: false       # true: an ordered stand-in for a partially occupied structure
    notes: "..."                     # what was ordered, why this polymorph, known caveats
    roles: [anode]                   # anode | electrolyte | product | element | precursor
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pymatgen.core import Composition, Element, Structure

from interchem.errors import StructureValidationError

CARD_DIR = Path(__file__).parent / "phases"

Role = Literal["anode", "electrolyte", "product", "element", "precursor"]

# Shortest sane interatomic distance (Angstrom). The shortest real bonds in this chemistry are
# ~1.1 A (N2 triple bond) and ~1.2 A (O2); anything below 0.9 A means overlapping atoms.
MIN_DISTANCE_A = 0.9


class SpaceGroupSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str
    number: int = Field(ge=1, le=230)
    setting: int = Field(default=1, ge=1, le=2, description="ASE setting: origin choice, or 2 = rhombohedral axes")


class LatticeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: float = Field(gt=0)
    b: float | None = Field(default=None, gt=0)
    c: float | None = Field(default=None, gt=0)
    alpha: float = 90.0
    beta: float = 90.0
    gamma: float | None = None

    def cellpar(self, sg_number: int, setting: int) -> list[float]:
        """Complete cell parameters using the crystal system's constraints."""
        b = self.b or self.a
        c = self.c or self.a
        gamma = self.gamma
        hexagonal_axes = 143 <= sg_number <= 194 and not (_is_rhombohedral(sg_number) and setting == 2)
        if gamma is None:
            gamma = 120.0 if hexagonal_axes else 90.0
        if _is_rhombohedral(sg_number) and setting == 2:  # rhombohedral axes: a = b = c, alpha = beta = gamma
            return [self.a, self.a, self.a, self.alpha, self.alpha, self.alpha]
        return [self.a, b, c, self.alpha, self.beta, gamma]


def _is_rhombohedral(number: int) -> bool:
    return number in (146, 148, 155, 160, 161, 166, 167)


class Site(BaseModel):
    model_config = ConfigDict(extra="forbid")
    element: str
    wyckoff: str = Field(pattern=r"^\d+[a-zA-Z]$", description="multiplicity + letter, e.g. 16e")
    xyz: tuple[float, float, float]

    @field_validator("element")
    @classmethod
    def _known_element(cls, v: str) -> str:
        Element(v)  # raises on unknown symbols
        return v

    @property
    def multiplicity(self) -> int:
        return int(re.match(r"\d+", self.wyckoff).group())


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    citation: str
    doi: str | None = None
    database_id: str | None = None
    method: str | None = None


class PhaseCard(BaseModel):
    """Crystallographic facts for one phase, with provenance."""

    model_config = ConfigDict(extra="forbid")
    name: str
    formula: str
    description: str = ""
    space_group: SpaceGroupSpec
    lattice: LatticeSpec
    sites: list[Site] = Field(min_length=1)
    source: Source
    ordered_approximant: bool = False
    notes: str = ""
    roles: list[Role] = Field(default_factory=list)

    @model_validator(mode="after")
    def _formula_elements_match_sites(self) -> PhaseCard:
        card_elems = {s.element for s in self.sites}
        formula_elems = {el.symbol for el in Composition(self.formula).elements}
        if card_elems != formula_elems:
            raise ValueError(
                f"card {self.name}: site elements {sorted(card_elems)} != formula elements {sorted(formula_elems)}"
            )
        return self

    @cached_property
    def composition(self) -> Composition:
        return Composition(self.formula)

    @property
    def chemsys(self) -> str:
        return "-".join(sorted(el.symbol for el in self.composition.elements))

    def provenance(self) -> dict:
        return {
            "origin": "interchem phase card",
            "card": self.name,
            "space_group": f"{self.space_group.symbol} ({self.space_group.number})",
            "source": self.source.model_dump(exclude_none=True),
            "ordered_approximant": self.ordered_approximant,
            "notes": self.notes,
        }

    def build(self, primitive: bool = False) -> Structure:
        """Expand the asymmetric unit into the conventional cell (or its primitive cell) and check it."""
        from ase.spacegroup import crystal

        sg = self.space_group
        cellpar = self.lattice.cellpar(sg.number, sg.setting)
        try:
            atoms = crystal(
                symbols=[s.element for s in self.sites],
                basis=[list(s.xyz) for s in self.sites],
                spacegroup=sg.number,
                setting=sg.setting,
                cellpar=cellpar,
                onduplicates="error",
                symprec=1e-3,
            )
        except Exception as exc:  # ASE raises plain exceptions for inconsistent input
            raise StructureValidationError(f"card {self.name}: cannot expand Wyckoff sites: {exc}") from exc

        expected = sum(s.multiplicity for s in self.sites)
        # ASE works in the conventional cell; multiplicities are given for the conventional cell too.
        if len(atoms) != expected:
            raise StructureValidationError(
                f"card {self.name}: expanded to {len(atoms)} atoms but Wyckoff multiplicities sum to "
                f"{expected}; a coordinate or Wyckoff letter is wrong"
            )
        structure = Structure(atoms.cell.array, atoms.get_chemical_symbols(), atoms.get_scaled_positions())
        if structure.composition.reduced_formula != self.composition.reduced_formula:
            raise StructureValidationError(
                f"card {self.name}: built {structure.composition.reduced_formula}, card says {self.formula}"
            )
        check_structure(structure, label=f"card {self.name}")
        if primitive:
            structure = structure.get_primitive_structure(tolerance=0.05)
        structure.properties = {"provenance": self.provenance(), "phase": self.name}
        return structure


def check_structure(structure: Structure, label: str = "structure", min_distance: float = MIN_DISTANCE_A) -> None:
    """Raise StructureValidationError for disorder, overlapping atoms or an empty structure."""
    if len(structure) == 0:
        raise StructureValidationError(f"{label}: has no atoms")
    if not structure.is_ordered:
        raise StructureValidationError(
            f"{label}: has partially occupied sites; build an ordered approximant first "
            "(e.g. pymatgen OrderDisorderedStructureTransformation)"
        )
    if len(structure) > 1:
        dm = structure.distance_matrix
        np.fill_diagonal(dm, np.inf)
        i, j = np.unravel_index(np.argmin(dm), dm.shape)
        if dm[i, j] < min_distance:
            raise StructureValidationError(
                f"{label}: atoms {i} ({structure[i].specie}) and {j} ({structure[j].specie}) overlap at "
                f"{dm[i, j]:.2f} A (< {min_distance} A)"
            )
    if structure.volume / len(structure) < 2.0:
        raise StructureValidationError(
            f"{label}: volume per atom {structure.volume / len(structure):.2f} A^3 is unphysically small"
        )


def load_card(path: Path) -> PhaseCard:
    with open(path) as fh:
        data = yaml.safe_load(fh)
    try:
        return PhaseCard.model_validate(data)
    except Exception as exc:
        raise StructureValidationError(f"phase card {path.name} is malformed: {exc}") from exc


def load_cards(directory: Path = CARD_DIR) -> dict[str, PhaseCard]:
    cards: dict[str, PhaseCard] = {}
    for path in sorted(directory.glob("*.yaml")):
        card = load_card(path)
        if card.name in cards:
            raise StructureValidationError(f"phase card name {card.name!r} appears twice ({path.name})")
        cards[card.name] = card
    return cards


def phase_label(structure: Structure, fallback: str | None = None) -> str:
    """The phase name a structure carries (``properties["phase"]``), else ``fallback`` or its reduced formula."""
    return str((structure.properties or {}).get("phase") or fallback or structure.composition.reduced_formula)
