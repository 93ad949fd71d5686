"""Shared helpers of the analysis layer: phase names, entry look-up and a phase-diagram cache.

Entries are pymatgen ``ComputedEntry`` / ``ComputedStructureEntry`` (or ``PDEntry``) whose energies are
final: the caller has applied any compatibility corrections. A phase is known by ``entry.data["phase"]``
(e.g. "Li15Si4"), falling back to ``entry.name`` (the reduced formula for a ComputedEntry).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pymatgen.analysis.phase_diagram import GrandPotentialPhaseDiagram, GrandPotPDEntry, PhaseDiagram
from pymatgen.core import Composition, Element
from pymatgen.entries import Entry

from interchem.errors import ChemicalSystemError, UnknownPhaseError

# Energies within this of the hull (eV/atom) count as "on the hull" when we decide stability ourselves.
HULL_TOL_EV_PER_ATOM = 1e-6


def phase_name(entry: Entry) -> str:
    """The phase name of an entry: ``data["phase"]`` if set, else its name (reduced formula)."""
    if isinstance(entry, GrandPotPDEntry):
        entry = entry.original_entry
    data = getattr(entry, "data", None) or {}
    name = data.get("phase")
    return str(name) if name else str(entry.name)


def _check_entries(entries: Sequence[Entry]) -> list[Entry]:
    entries = list(entries)
    if not entries:
        raise ChemicalSystemError("no entries given: a phase diagram needs at least the elemental references")
    return entries


def find_entry(entries: Sequence[Entry], name_or_formula: str) -> Entry:
    """Resolve a phase name, else the lowest-energy entry of that reduced formula.

    Among several entries carrying the same phase name the lowest energy per atom wins.
    Raises UnknownPhaseError when neither a name nor a formula matches.
    """
    entries = _check_entries(entries)
    named = [e for e in entries if phase_name(e) == name_or_formula]
    if named:
        return min(named, key=lambda e: e.energy_per_atom)
    try:
        formula = Composition(name_or_formula).reduced_formula
    except Exception:  # pymatgen raises several types for unparsable formulas
        formula = None
    if formula is not None:
        same = [e for e in entries if e.composition.reduced_formula == formula]
        if same:
            return min(same, key=lambda e: e.energy_per_atom)
    raise UnknownPhaseError(name_or_formula, known=sorted({phase_name(e) for e in entries}))


def element_set(items: Iterable[str | Element]) -> frozenset[Element]:
    return frozenset(Element(str(x)) for x in items)


def missing_references(entries: Sequence[Entry], elements: Iterable[Element]) -> list[str]:
    """Elements (symbols) without a single-element entry among ``entries``."""
    have = {e.composition.elements[0] for e in entries if len(e.composition.elements) == 1}
    return sorted(str(el) for el in elements if el not in have)


class PhaseDiagramCache:
    """Builds each phase diagram once, on the smallest chemical system asked for.

    Keyed by the element set, so e.g. the Li-P-S-Cl diagram of an electrolyte window is reused for its
    reduction energy and tie-lines within one screen. Grand-potential diagrams are keyed by the element set
    and the (rounded) chemical potentials.
    """

    def __init__(self, entries: Sequence[Entry]):
        self.entries = _check_entries(entries)
        self._pds: dict[frozenset[Element], PhaseDiagram] = {}
        self._gpds: dict[tuple, GrandPotentialPhaseDiagram] = {}

    def entries_within(self, elements: frozenset[Element]) -> list[Entry]:
        return [e for e in self.entries if set(e.composition.elements) <= elements]

    def get(self, elements: Iterable[str | Element]) -> PhaseDiagram:
        els = element_set(elements)
        if not els:
            raise ChemicalSystemError("empty chemical system: no elements requested")
        if els not in self._pds:
            self._pds[els] = build_pd(self.entries_within(els), els)
        return self._pds[els]

    def get_grand(self, elements: Iterable[str | Element], chempots: dict[str, float]) -> GrandPotentialPhaseDiagram:
        els = element_set(elements)
        key = (els, tuple(sorted((str(k), round(float(v), 9)) for k, v in chempots.items())))
        if key not in self._gpds:
            pd = self.get(els)  # validates the references first, with our error message
            mus = {Element(str(k)): float(v) for k, v in chempots.items()}
            self._gpds[key] = GrandPotentialPhaseDiagram(pd.all_entries, mus, elements=sorted(els))
        return self._gpds[key]

    def phase(self, name: str) -> Entry:
        return find_entry(self.entries, name)


def build_pd(entries: Sequence[Entry], elements: Iterable[Element] | None = None) -> PhaseDiagram:
    entries = _check_entries(entries)
    if elements is None:
        els = frozenset(el for e in entries for el in e.composition.elements)
    else:
        els = element_set(elements)
        entries = [e for e in entries if set(e.composition.elements) <= els]
        if not entries:
            raise ChemicalSystemError(f"no entries within the chemical system {'-'.join(sorted(map(str, els)))}")
    missing = missing_references(entries, els)
    if missing:
        raise ChemicalSystemError(
            f"missing elemental reference entr{'y' if len(missing) == 1 else 'ies'} for {', '.join(missing)} "
            f"in the chemical system {'-'.join(sorted(map(str, els)))}: add the element's ground-state entry"
        )
    return PhaseDiagram(entries, elements=sorted(els))


def check_in_diagram(entry: Entry, pd: PhaseDiagram) -> None:
    """Raise ChemicalSystemError if ``entry`` has elements outside ``pd``."""
    outside = set(entry.composition.elements) - set(pd.elements)
    if outside:
        raise ChemicalSystemError(
            f"phase {phase_name(entry)!r} has element(s) {', '.join(sorted(map(str, outside)))} outside the "
            f"chemical system {'-'.join(sorted(str(el) for el in pd.elements))}"
        )


def names_of(entries: Iterable[Entry], exclude: Iterable[str] = ()) -> list[str]:
    """Sorted, unique phase names of entries (grand-potential entries resolved to their originals)."""
    skip = set(exclude)
    return sorted({phase_name(e) for e in entries} - skip)


def formula_to_name(pd: PhaseDiagram) -> dict[str, str]:
    """Reduced formula -> phase name of the stable entries of ``pd``.

    pymatgen's Reaction objects only know compositions; the hull has one stable entry per composition, so
    this maps reaction products back to our phase names.
    """
    out: dict[str, str] = {}
    for e in pd.stable_entries:
        orig = e.original_entry if isinstance(e, GrandPotPDEntry) else e
        out[orig.composition.reduced_formula] = phase_name(orig)
    # Open elements are absent from a grand diagram's entries; name them by their symbol.
    for el in getattr(pd, "chempots", {}) or {}:
        out.setdefault(str(el), str(el))
    return out
