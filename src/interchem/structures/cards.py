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
    sites:                           # asymmetric unit (fully occupied unless ``occupancy`` < 1)
      - {element: Li, wyckoff: 12a, xyz: [0.375, 0.0, 0.25]}
      - {element: Li, wyckoff: 48h, xyz: [...], occupancy: 0.5}   # partially occupied (disordered card)
    exchange: {sites: [4a, 4d], parameter: anion_exchange}        # optional: site exchange, build(exchange=x)
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
    occupancy: float = Field(default=1.0, gt=0.0, le=1.0, description="fraction of the site held by element")

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


class SiteExchange(BaseModel):
    """Two fully occupied sites whose elements exchange: ``build(exchange=x)`` puts a fraction x of each
    site's element on the other site (x = 0.5: both sites equally mixed)."""

    model_config = ConfigDict(extra="forbid")
    sites: tuple[str, str] = Field(description="the Wyckoff labels of the two sites, e.g. [4a, 4d]")
    parameter: str = "exchange"


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
    exchange: SiteExchange | None = None

    @property
    def disordered(self) -> bool:
        """True for a card with partially occupied or exchanging sites (needs an ordering step)."""
        return self.exchange is not None or any(s.occupancy < 1.0 for s in self.sites)

    @model_validator(mode="after")
    def _exchange_sites_exist(self) -> PhaseCard:
        if self.exchange is not None:
            labels = [s.wyckoff for s in self.sites]
            for label in self.exchange.sites:
                if labels.count(label) != 1:
                    raise ValueError(f"card {self.name}: exchange site {label} must be exactly one site of the card")
        return self

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

    def build(self, primitive: bool = False, exchange: float | None = None) -> Structure:
        """Expand the asymmetric unit into the conventional cell (or its primitive cell) and check it.

        A disordered card gives a partially occupied structure (order it with ``structures.disorder``);
        ``exchange`` is the fraction of the card's ``exchange`` sites swapped (default 0)."""
        from ase.spacegroup import crystal

        if exchange is not None and self.exchange is None:
            raise StructureValidationError(
                f"card {self.name} has no exchanging sites; exchange={exchange} is meaningless"
            )
        if exchange is not None and not 0.0 <= exchange <= 1.0:
            raise StructureValidationError(
                f"card {self.name}: {self.exchange.parameter} must lie in [0, 1], got {exchange}"
            )

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
        species = self._species(exchange or 0.0)
        kinds = atoms.get_array("spacegroup_kinds")  # ASE: the asymmetric-unit site each atom came from
        structure = Structure(atoms.cell.array, [species[k] for k in kinds], atoms.get_scaled_positions())
        if structure.composition.reduced_formula != self.composition.reduced_formula:
            raise StructureValidationError(
                f"card {self.name}: built {structure.composition.reduced_formula}, card says {self.formula}"
            )
        check_structure(structure, label=f"card {self.name}", allow_partial=self.disordered)
        if primitive:
            structure = structure.get_primitive_structure(tolerance=0.05)
        structure.properties = {"provenance": self.provenance(), "phase": self.name}
        if self.exchange is not None:
            structure.properties["provenance"][self.exchange.parameter] = exchange or 0.0
        return structure

    def _species(self, exchange: float) -> list[dict[str, float]]:
        """Occupancies of each asymmetric-unit site, with the exchange applied."""
        species = [{s.element: s.occupancy} for s in self.sites]
        if self.exchange is not None and exchange > 0:
            i, j = (next(k for k, s in enumerate(self.sites) if s.wyckoff == w) for w in self.exchange.sites)
            a, b = self.sites[i].element, self.sites[j].element
            species[i] = {a: 1.0 - exchange, b: exchange} if exchange < 1 else {b: 1.0}
            species[j] = {b: 1.0 - exchange, a: exchange} if exchange < 1 else {a: 1.0}
        return species


def check_structure(
    structure: Structure, label: str = "structure", min_distance: float = MIN_DISTANCE_A, allow_partial: bool = False
) -> None:
    """Raise StructureValidationError for disorder (unless ``allow_partial``), overlapping atoms or an empty
    structure. Partially occupied sites may lie closer than ``min_distance`` (e.g. split 48h Li pairs)."""
    if len(structure) == 0:
        raise StructureValidationError(f"{label}: has no atoms")
    if allow_partial and not structure.is_ordered:
        return
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
