"""Materials Project as a structure and energy source, behind a small interface of our own.

mp-api is kept at arm's length because ``MPRester.__init__`` already talks to the server (it fails
offline with ``requests.ConnectionError``, and with ``MPRestError`` for a key that is not 32
characters). :class:`MaterialsProjectSource` therefore creates its rester lazily, on the first
query, through a replaceable ``rester_factory``: tests hand in a fake that replays recorded-style
responses, production uses ``mp_api.client.MPRester``.

Phase names follow one rule everywhere: the lowest-energy polymorph of a reduced formula is called
by the formula ("Li15Si4"), every other polymorph by ``"<formula>-<material_id>"``
("Si-mp-92"), so names are unique within a chemical system and :meth:`structure_for` accepts both.

The API key is held as a ``pydantic.SecretStr`` and never appears in a repr or an error message.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr
from pymatgen.core import Composition, Element, Structure
from pymatgen.entries.computed_entries import ComputedStructureEntry

from interchem.errors import ChemicalSystemError, MaterialsProjectError, MissingAPIKeyError, UnknownPhaseError

ORIGIN = "Materials Project"
API_KEY_SETTINGS = ("INTERCHEM_MP_API_KEY", "MP_API_KEY")

# MP2020-corrected GGA/GGA+U entries: one energy scale for the whole chemical system, consistent
# with MaterialsProject2020Compatibility applied to our own GGA-family results. mp-api's default
# (mixed GGA/GGA+U/r2SCAN) carries mixing corrections referenced to each sub-system's hull.
DEFAULT_THERMO_TYPE = "GGA_GGA+U"

# Fields requested from materials.summary.search: only what we use, so responses stay small.
SUMMARY_FIELDS = ["material_id", "formula_pretty", "structure", "energy_above_hull"]

# mp-api refuses more than 9 elements in get_entries_in_chemsys (URI length); the same bound
# keeps the 2^n - 1 sub-systems of a summary query reasonable.
MAX_ELEMENTS = 9

ResterFactory = Callable[[str], Any]


def _default_rester_factory(api_key: str) -> Any:
    from mp_api.client import MPRester

    return MPRester(api_key, mute_progress_bars=True)


def all_subsystems(elements: Iterable[str]) -> list[str]:
    """Every chemical (sub)system of ``elements`` as sorted, dash-joined strings (unaries first)."""
    unique = sorted(set(elements))
    return ["-".join(combo) for n in range(1, len(unique) + 1) for combo in itertools.combinations(unique, n)]


def _field(doc: Any, name: str, default: Any = None) -> Any:
    """Read a field from a summary doc: mp-api returns pydantic docs, or dicts without document models."""
    if isinstance(doc, dict):
        return doc.get(name, default)
    return getattr(doc, name, default)


def _as_structure(value: Any) -> Structure:
    if isinstance(value, Structure):
        return value.copy()
    if isinstance(value, dict):
        return Structure.from_dict(value)
    raise MaterialsProjectError(f"Materials Project returned a structure of unexpected type {type(value).__name__}")


def _material_id_of_entry(entry: ComputedStructureEntry) -> str:
    if entry.data.get("material_id"):
        return str(entry.data["material_id"])
    # entry ids look like "mp-149-GGA" / "mp-149-GGA+U" / "mp-149-r2SCAN": drop the functional suffix
    return re.sub(r"-(GGA\+U|GGA|R2SCAN|r2SCAN)$", "", str(entry.entry_id))


def _unknown_phase(name: str, detail: str) -> UnknownPhaseError:
    err = UnknownPhaseError(name)
    # the class' default wording is about the local library; say what the Materials Project lacked
    err.args = (f"unknown phase {name!r}: {detail}",)
    return err


def _check_elements(elements: Iterable[str]) -> list[str]:
    if isinstance(elements, str):
        elements = elements.split("-")
    unique = sorted(set(elements))
    if not unique:
        raise ChemicalSystemError("empty chemical system: give at least one element")
    bad = [el for el in unique if not Element.is_valid_symbol(el)]
    if bad:
        raise ChemicalSystemError(f"not element symbols: {', '.join(map(repr, bad))} (chemical system {unique})")
    if len(unique) > MAX_ELEMENTS:
        raise ChemicalSystemError(
            f"chemical system {'-'.join(unique)} has {len(unique)} elements; "
            f"the Materials Project query allows at most {MAX_ELEMENTS}"
        )
    return unique


def name_polymorphs(items: list[tuple[str, str, float]]) -> dict[str, str]:
    """Map material_id -> phase name for (material_id, reduced_formula, energy_key) triples.

    The item with the lowest ``energy_key`` (e_above_hull or energy per atom) of each formula gets the
    bare formula; the others get ``formula-material_id``. Ties break on material_id, so names do
    not depend on the order of the server's response.
    """
    by_formula: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for mid, formula, key in items:
        by_formula[formula].append((key if key is not None and not math.isnan(key) else math.inf, mid))
    names: dict[str, str] = {}
    for formula, members in by_formula.items():
        members.sort()
        for rank, (_, mid) in enumerate(members):
            names[mid] = formula if rank == 0 else f"{formula}-{mid}"
    return names


class MaterialsProjectSource:
    """Ground-state structures, chemical-system structures and entries from the Materials Project.

    Args:
        api_key: Materials Project API key (``SecretStr`` or str). Empty or missing raises
            :class:`MissingAPIKeyError`; a malformed key is reported by mp-api on first use.
        rester_factory: ``factory(api_key: str) -> rester`` with the ``MPRester`` API
            (``materials.summary.search``, ``get_entries_in_chemsys``, ``db_version``). Called once,
            on the first query. Default: ``mp_api.client.MPRester(api_key)``.
        thermo_type: thermo type of the entries (default ``"GGA_GGA+U"``, MP2020-corrected).
    """

    def __init__(
        self,
        api_key: SecretStr | str | None,
        rester_factory: ResterFactory | None = None,
        thermo_type: str = DEFAULT_THERMO_TYPE,
    ):
        secret = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "")
        if not secret.get_secret_value().strip():
            raise MissingAPIKeyError(
                "no Materials Project API key: set INTERCHEM_MP_API_KEY (or MP_API_KEY) to the 32-character key "
                "from https://materialsproject.org/api, or use the offline phase library instead"
            )
        self._api_key = SecretStr(secret.get_secret_value().strip())
        self._factory = rester_factory or _default_rester_factory
        self._rester: Any = None
        self.thermo_type = thermo_type

    def __repr__(self) -> str:
        state = "connected" if self._rester is not None else "not connected"
        return f"MaterialsProjectSource(api_key={self._api_key!r}, thermo_type={self.thermo_type!r}, {state})"

    # -- plumbing ---------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        key = self._api_key.get_secret_value()
        return text.replace(key, "**********") if key else text

    @contextmanager
    def _translating(self, what: str) -> Iterator[None]:
        """Turn mp-api / network failures into MaterialsProjectError without leaking the key."""
        from mp_api.client.core.exceptions import MPRestError
        from requests import RequestException

        try:
            yield
        except (MPRestError, RequestException, OSError) as exc:  # OSError covers builtin ConnectionError
            # requests' errors are OSErrors too: anything but an MPRestError is a network problem
            hint = (
                ""
                if isinstance(exc, MPRestError)
                else " (no network connection to api.materialsproject.org? work offline with the phase library)"
            )
            # `from None`: the original exception (and its traceback locals) could carry the key
            raise MaterialsProjectError(
                f"Materials Project {what} failed: {type(exc).__name__}: {self._scrub(str(exc))}{hint}"
            ) from None

    def _get_rester(self) -> Any:
        if self._rester is None:
            with self._translating("connection"):
                self._rester = self._factory(self._api_key.get_secret_value())
        return self._rester

    def _database_version(self) -> str | None:
        version = getattr(self._get_rester(), "db_version", None)
        return str(version) if version else None

    def _provenance(self, material_id: str, e_above_hull: float | None, **extra: Any) -> dict[str, Any]:
        prov: dict[str, Any] = {"origin": ORIGIN, "material_id": material_id}
        version = self._database_version()
        if version:
            prov["database_version"] = version
        prov["e_above_hull"] = None if e_above_hull is None else float(e_above_hull)
        prov.update(extra)
        return prov

    def _summary_search(self, what: str, **criteria: Any) -> list[Any]:
        rester = self._get_rester()
        with self._translating(what):
            docs = rester.materials.summary.search(**criteria, deprecated=False, fields=list(SUMMARY_FIELDS))
        return list(docs or [])

    def _structure_from_doc(self, doc: Any, name: str) -> Structure:
        structure = _as_structure(_field(doc, "structure"))
        structure.properties = {
            **(structure.properties or {}),
            "phase": name,
            "provenance": self._provenance(str(_field(doc, "material_id")), _field(doc, "energy_above_hull")),
        }
        return structure

    # -- public interface -------------------------------------------------------------------------

    def structure_for(self, name: str) -> Structure:
        """The ground state (lowest energy above hull) of a reduced formula, e.g. ``"Li15Si4"``.

        ``"<formula>-<material_id>"`` (as produced by :meth:`structures_in_chemsys`) selects that
        polymorph instead.
        """
        formula, _, material_id = name.partition("-")
        try:
            composition = Composition(formula)
        except Exception:  # pymatgen raises ValueError / KeyError for non-formulas
            composition = Composition()
        if not composition.elements:
            raise _unknown_phase(name, "not a chemical formula, so the Materials Project cannot be asked")
        reduced = composition.reduced_formula

        if material_id:
            docs = self._summary_search(f"lookup of {material_id}", material_ids=[material_id])
            docs = [d for d in docs if _field(d, "formula_pretty") == reduced]
            if not docs:
                raise _unknown_phase(
                    name, f"the Materials Project has no material {material_id} with formula {reduced}"
                )
            return self._structure_from_doc(docs[0], name)

        docs = self._summary_search(f"lookup of {reduced}", formula=reduced)
        # the server matches formulas itself; re-check so a wildcard-ish answer cannot slip through
        docs = [d for d in docs if _field(d, "formula_pretty") == reduced]
        if not docs:
            raise _unknown_phase(name, f"the Materials Project has no material with reduced formula {reduced}")
        names = name_polymorphs(
            [(str(_field(d, "material_id")), reduced, _field(d, "energy_above_hull")) for d in docs]
        )
        ground = next(d for d in docs if names[str(_field(d, "material_id"))] == reduced)
        return self._structure_from_doc(ground, reduced)

    def structures_in_chemsys(self, elements: Iterable[str], max_e_above_hull: float = 0.05) -> dict[str, Structure]:
        """Every phase of the chemical system and all its sub-systems within ``max_e_above_hull`` eV/atom."""
        unique = _check_elements(elements)
        if not (max_e_above_hull >= 0):  # also rejects NaN
            raise ChemicalSystemError(f"max_e_above_hull must be >= 0 eV/atom, got {max_e_above_hull!r}")
        chemsys = all_subsystems(unique)
        docs = self._summary_search(
            f"search of chemical system {'-'.join(unique)}",
            chemsys=chemsys,
            energy_above_hull=(0.0, float(max_e_above_hull)),
        )
        names = name_polymorphs(
            [(str(_field(d, "material_id")), _field(d, "formula_pretty"), _field(d, "energy_above_hull")) for d in docs]
        )
        structures = {names[str(_field(d, "material_id"))]: d for d in docs}
        return {name: self._structure_from_doc(structures[name], name) for name in sorted(structures)}

    def entries_in_chemsys(self, elements: Iterable[str]) -> list[ComputedStructureEntry]:
        """MP2020-corrected entries of the chemical system and all sub-systems, as mp-api returns them.

        Each entry gets ``entry.data["phase"]`` (unique name, see module docstring) and
        ``entry.data["provenance"]``; ``e_above_hull`` there is computed from these entries' hull.
        """
        unique = _check_elements(elements)
        rester = self._get_rester()
        with self._translating(f"entries query for {'-'.join(unique)}"):
            entries = list(
                rester.get_entries_in_chemsys(unique, additional_criteria={"thermo_types": [self.thermo_type]}) or []
            )
        if not entries:
            raise ChemicalSystemError(
                f"the Materials Project returned no {self.thermo_type} entries for {'-'.join(unique)}"
            )

        hull = _e_above_hull(entries)
        ids = [_material_id_of_entry(e) for e in entries]
        names = name_polymorphs(
            [(mid, e.composition.reduced_formula, e.energy_per_atom) for mid, e in zip(ids, entries, strict=True)]
        )
        seen: set[str] = set()
        for mid, entry in zip(ids, entries, strict=True):
            name = names[mid]
            if name in seen:  # the same material twice (should not happen for one thermo type): keep unique
                name = f"{entry.composition.reduced_formula}-{entry.entry_id}"
            seen.add(name)
            prov = self._provenance(
                mid, hull.get(id(entry)), entry_id=str(entry.entry_id), thermo_type=self.thermo_type
            )
            entry.data["phase"] = name
            entry.data["provenance"] = prov
            entry.structure.properties = {**(entry.structure.properties or {}), "phase": name, "provenance": prov}
        return sorted(entries, key=lambda e: e.data["phase"])


def _e_above_hull(entries: list[ComputedStructureEntry]) -> dict[int, float]:
    """e_above_hull per entry (keyed by id()), or {} when the entries do not span a phase diagram."""
    from pymatgen.analysis.phase_diagram import PhaseDiagram

    try:
        pd = PhaseDiagram(entries)
    except ValueError:  # e.g. an element without any entry: leave e_above_hull unknown
        return {}
    return {id(e): float(pd.get_e_above_hull(e)) for e in entries}
