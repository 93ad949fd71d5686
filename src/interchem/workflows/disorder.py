"""Calculator ranking of ordered candidates of a disordered structure: relax every candidate with the
calculator and keep the lowest energy per atom.

The candidates come from ``structures.disorder.ordered_candidates`` (Ewald-ranked or seeded random
orderings). Each relaxation is an ordinary ``RelaxPhaseMaker`` relaxation, so it is keyed by
``common.cache_key`` and reused like every other: ranking again, or with more candidates, recomputes only
the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobflow import Flow, Maker, job
from pydantic import BaseModel
from pymatgen.core import Structure

from interchem.errors import StructureValidationError
from interchem.workflows.thermo import RelaxedPhase, RelaxPhaseMaker


class RankedOrdering(BaseModel):
    candidate: int
    ewald_eV: float | None
    energy_per_atom_eV: float
    above_lowest_meV_per_atom: float
    converged: bool | None
    calc_key: str


class OrderingResult(BaseModel):
    """The lowest relaxed ordering (``lowest``, labelled with the disordered phase's name) and the ranking."""

    phase: str
    lowest: RelaxedPhase
    ranking: list[RankedOrdering]
    method: str | None = None
    supercell: list[int] | None = None


@job(name="keep lowest ordering")
def keep_lowest(records: list, phase: str, orderings: list[dict]) -> OrderingResult:
    relaxed = [RelaxedPhase.model_validate(r.model_dump() if hasattr(r, "model_dump") else r) for r in records]
    best = min(range(len(relaxed)), key=lambda k: relaxed[k].energy_per_atom_eV)
    e0 = relaxed[best].energy_per_atom_eV
    ranking = [
        RankedOrdering(
            candidate=k,
            ewald_eV=(orderings[k] or {}).get("ewald_eV"),
            energy_per_atom_eV=r.energy_per_atom_eV,
            above_lowest_meV_per_atom=1000.0 * (r.energy_per_atom_eV - e0),
            converged=r.converged,
            calc_key=r.calc_key,
        )
        for k, r in enumerate(relaxed)
    ]
    ranking.sort(key=lambda row: row.energy_per_atom_eV)
    lowest = relaxed[best].model_copy(update={"phase": phase})
    lowest.structure.properties = {**(lowest.structure.properties or {}), "phase": phase}
    first = orderings[0] or {}
    return OrderingResult(
        phase=phase, lowest=lowest, ranking=ranking, method=first.get("method"), supercell=first.get("supercell")
    )


@dataclass
class DisorderRankMaker(Maker):
    """Relax each ordered candidate with ``relaxer`` (an ordinary relaxation: keyed and reused) and keep the
    lowest."""

    name: str = "rank orderings"
    relaxer: RelaxPhaseMaker = field(default_factory=RelaxPhaseMaker)

    def make(self, candidates: list[Structure], phase: str) -> Flow:
        if not candidates:
            raise StructureValidationError(f"{phase}: no ordered candidates to rank")
        jobs = [self.relaxer.make(c, phase=f"{phase} ordering {k}") for k, c in enumerate(candidates)]
        orderings = [(c.properties or {}).get("ordering") for c in candidates]
        pick = keep_lowest([j.output for j in jobs], phase, orderings)
        pick.name = f"keep lowest ordering {phase}"
        return Flow([*jobs, pick], output=pick.output, name=f"{self.name} {phase}")
