"""MaterialsProjectSource against a fake rester that replays recorded-style fixtures (no network).

The fixtures in tests/fixtures/mp are NOT real Materials Project data: see make_fixtures.py there.
"""

from __future__ import annotations

import copy
import json
import socket
from types import SimpleNamespace

import pytest
import requests
from mp_api.client.core.exceptions import MPRestError
from paths import FIXTURES as TEST_FIXTURES
from pydantic import SecretStr
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Composition, Structure
from pymatgen.entries.computed_entries import ComputedStructureEntry

from interchem.errors import ChemicalSystemError, MaterialsProjectError, MissingAPIKeyError, UnknownPhaseError
from interchem.structures.materials_project import MaterialsProjectSource, all_subsystems

FIXTURES = TEST_FIXTURES / "mp"
KEY = "FAKEkey0123456789abcdefghijklmno"  # 32 characters, like a real key; never valid
assert len(KEY) == 32


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


SUMMARY = _load("summary_Li-Si.json")
ENTRIES = _load("entries_Li-Si.json")
DOC_BY_ID = {d["material_id"]: d for d in SUMMARY["response"]}


class FakeSummary:
    """Replays summary docs, filtering as the server does for the criteria we use."""

    def __init__(self, docs: list[dict], calls: list, as_models: bool):
        self.docs, self.calls, self.as_models = docs, calls, as_models

    def search(
        self,
        chemsys=None,
        formula=None,
        material_ids=None,
        energy_above_hull=None,
        deprecated=None,
        fields=None,
        **kwargs,
    ):
        self.calls.append(
            {
                "chemsys": chemsys,
                "formula": formula,
                "material_ids": material_ids,
                "energy_above_hull": energy_above_hull,
                "deprecated": deprecated,
                "fields": fields,
                **kwargs,
            }
        )
        out = []
        for doc in self.docs:
            if chemsys is not None and doc["chemsys"] not in ([chemsys] if isinstance(chemsys, str) else chemsys):
                continue
            if formula is not None and doc["formula_pretty"] != Composition(formula).reduced_formula:
                continue
            if material_ids is not None and doc["material_id"] not in material_ids:
                continue
            if (
                energy_above_hull is not None
                and not energy_above_hull[0] <= doc["energy_above_hull"] <= energy_above_hull[1]
            ):
                continue
            if deprecated is not None and doc["deprecated"] != deprecated:
                continue
            reply = {k: copy.deepcopy(doc[k]) for k in (fields or doc)}
            if self.as_models:  # mp-api's document models: attribute access, decoded Structure
                if "structure" in reply:
                    reply["structure"] = Structure.from_dict(reply["structure"])
                reply = SimpleNamespace(**reply)
            out.append(reply)
        return out


class FakeRester:
    """The slice of the MPRester API that MaterialsProjectSource uses."""

    def __init__(self, docs=None, entries=None, as_models=False, db_version=SUMMARY["db_version"]):
        self.calls: list = []
        self.db_version = db_version
        self.materials = SimpleNamespace(
            summary=FakeSummary(docs if docs is not None else SUMMARY["response"], self.calls, as_models)
        )
        self._entries = entries if entries is not None else ENTRIES["response"]

    def get_entries_in_chemsys(self, elements, additional_criteria=None, **kwargs):
        self.calls.append({"entries_in_chemsys": list(elements), "additional_criteria": additional_criteria, **kwargs})
        wanted = set(elements)
        return [
            ComputedStructureEntry.from_dict(copy.deepcopy(d)) for d in self._entries if set(d["composition"]) <= wanted
        ]


def make_source(rester: FakeRester | None = None, key=KEY):
    rester = rester or FakeRester()
    received = []

    def factory(api_key: str):
        received.append(api_key)
        return rester

    return MaterialsProjectSource(key, rester_factory=factory), rester, received


# -- structure_for ----------------------------------------------------------------------------------


def test_structure_for_returns_ground_state_with_provenance():
    source, rester, received = make_source()
    s = source.structure_for("Li15Si4")
    assert s.composition.reduced_formula == "Li15Si4"
    assert StructureMatcher().fit(s, Structure.from_dict(DOC_BY_ID["mp-9000006"]["structure"]))
    prov = s.properties["provenance"]
    assert prov == {
        "origin": "Materials Project",
        "material_id": "mp-9000006",
        "database_version": SUMMARY["db_version"],
        "e_above_hull": 0.0,
    }
    assert s.properties["phase"] == "Li15Si4"
    assert received == [KEY]  # the factory gets the plain key
    assert rester.calls[0]["formula"] == "Li15Si4" and rester.calls[0]["deprecated"] is False


@pytest.mark.parametrize("reverse", [False, True])
def test_structure_for_picks_lowest_e_above_hull_regardless_of_order(reverse):
    docs = list(reversed(SUMMARY["response"])) if reverse else SUMMARY["response"]
    source, _, _ = make_source(FakeRester(docs=docs))
    si = source.structure_for("Si")
    li = source.structure_for("Li")
    assert si.properties["provenance"]["material_id"] == "mp-9000003"  # diamond, not beta-Sn (0.24 eV/atom up)
    assert li.properties["provenance"]["material_id"] == "mp-9000001"  # bcc, not fcc (1.4 meV/atom up)


def test_structure_for_polymorph_name_selects_that_material():
    source, rester, _ = make_source()
    s = source.structure_for("Si-mp-9000004")
    assert s.properties["provenance"]["material_id"] == "mp-9000004"
    assert s.properties["provenance"]["e_above_hull"] == pytest.approx(DOC_BY_ID["mp-9000004"]["energy_above_hull"])
    assert s.properties["provenance"]["e_above_hull"] > 0.1
    assert rester.calls[-1]["material_ids"] == ["mp-9000004"]
    with pytest.raises(UnknownPhaseError, match="mp-9000004"):
        source.structure_for("Li-mp-9000004")  # id exists, but it is Si


def test_structure_for_document_models_path():
    source, _, _ = make_source(FakeRester(as_models=True))
    s = source.structure_for("LiSi")
    assert s.properties["provenance"]["material_id"] == "mp-9000005"
    assert s is not source.structure_for("LiSi")  # each call hands out its own object


def test_structure_for_unknown_phase():
    source, rester, _ = make_source()
    with pytest.raises(UnknownPhaseError, match="Li2Si7"):
        source.structure_for("Li2Si7")
    n_calls = len(rester.calls)
    with pytest.raises(UnknownPhaseError, match="not a chemical formula"):
        source.structure_for("garbage!")
    assert len(rester.calls) == n_calls  # rejected before asking the server


# -- structures_in_chemsys --------------------------------------------------------------------------


def test_structures_in_chemsys_names_and_window():
    source, rester, _ = make_source()
    structures = source.structures_in_chemsys(["Si", "Li"])
    assert set(structures) == {"Li", "Li-mp-9000002", "Si", "LiSi", "Li15Si4"}  # beta-Sn Si is 0.24 eV up
    call = rester.calls[-1]
    assert sorted(call["chemsys"]) == ["Li", "Li-Si", "Si"]
    assert call["energy_above_hull"] == (0.0, 0.05)
    assert set(call["fields"]) >= {"material_id", "formula_pretty", "structure", "energy_above_hull"}
    for name, s in structures.items():
        assert s.properties["phase"] == name
        assert s.properties["provenance"]["origin"] == "Materials Project"
        assert s.composition.reduced_formula == name.split("-")[0]

    wide = source.structures_in_chemsys(["Li", "Si"], max_e_above_hull=0.5)
    assert set(wide) - set(structures) == {"Si-mp-9000004"}
    assert wide["Si"].properties["provenance"]["material_id"] == "mp-9000003"


def test_chemsys_expands_to_all_subsystems():
    source, rester, _ = make_source()
    structures = source.structures_in_chemsys("Si-P-Li")
    assert sorted(rester.calls[-1]["chemsys"]) == sorted(["Li", "P", "Si", "Li-P", "Li-Si", "P-Si", "Li-P-Si"])
    assert "LiSi" in structures  # sub-system phases come back too
    assert all_subsystems(["Si", "Li", "Li"]) == ["Li", "Si", "Li-Si"]
    assert len(all_subsystems(["Li", "P", "S", "Cl"])) == 15


@pytest.mark.parametrize("elements", [[], ["Li", "Xx"], ["Li", "Si", "O", "P", "S", "Cl", "La", "Zr", "N", "C"]])
def test_bad_chemical_systems(elements):
    source, rester, _ = make_source()
    with pytest.raises(ChemicalSystemError):
        source.structures_in_chemsys(elements)
    with pytest.raises(ChemicalSystemError):
        source.entries_in_chemsys(elements)
    assert rester.calls == []


def test_negative_window_rejected():
    source, _, _ = make_source()
    with pytest.raises(ChemicalSystemError, match="-0.1"):
        source.structures_in_chemsys(["Li"], max_e_above_hull=-0.1)


# -- entries_in_chemsys -----------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_entries_in_chemsys_names_provenance_and_corrections(reverse):
    raw = list(reversed(ENTRIES["response"])) if reverse else ENTRIES["response"]
    source, rester, _ = make_source(FakeRester(entries=raw))
    entries = source.entries_in_chemsys(["Li", "Si"])
    assert rester.calls[-1]["additional_criteria"] == {"thermo_types": ["GGA_GGA+U"]}
    phases = [e.data["phase"] for e in entries]
    assert sorted(phases) == sorted(["Li", "Li-mp-9000002", "Si", "Si-mp-9000004", "LiSi", "Li15Si4"])
    by_phase = {e.data["phase"]: e for e in entries}
    for entry in by_phase.values():
        prov = entry.data["provenance"]
        assert prov["origin"] == "Materials Project"
        assert prov["material_id"] == entry.data["material_id"]
        assert prov["database_version"] == SUMMARY["db_version"]
        assert prov["thermo_type"] == "GGA_GGA+U"
        # hull from these entries agrees with the summary docs' energy_above_hull
        assert prov["e_above_hull"] == pytest.approx(DOC_BY_ID[prov["material_id"]]["energy_above_hull"], abs=1e-5)
        assert entry.structure.properties["provenance"] == prov
    assert by_phase["Si"].data["material_id"] == "mp-9000003"
    # MP2020 corrections are kept as mp-api returns them (Si anion correction in the silicides)
    assert by_phase["LiSi"].correction == pytest.approx(0.071)
    assert by_phase["Li15Si4"].correction == pytest.approx(8 * 0.071)


def test_entries_without_material_id_in_data_use_entry_id():
    raw = copy.deepcopy(ENTRIES["response"])
    for d in raw:
        d["data"].pop("material_id")
    source, _, _ = make_source(FakeRester(entries=raw))
    phases = {e.data["phase"] for e in source.entries_in_chemsys(["Li", "Si"])}
    assert "Si-mp-9000004" in phases and "Li-mp-9000002" in phases


def test_no_entries_is_an_error():
    source, _, _ = make_source(FakeRester(entries=[]))
    with pytest.raises(ChemicalSystemError, match="Li-Si"):
        source.entries_in_chemsys(["Li", "Si"])


# -- key handling and errors ------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "   ", SecretStr("")])
def test_missing_key(key):
    with pytest.raises(MissingAPIKeyError) as info:
        MaterialsProjectSource(key)
    assert "INTERCHEM_MP_API_KEY" in str(info.value) and "MP_API_KEY" in str(info.value)


@pytest.mark.parametrize("key", [KEY, SecretStr(KEY)])
def test_repr_hides_key_and_connection_is_lazy(key):
    source, rester, received = make_source(key=key)
    assert KEY not in repr(source) and "**" in repr(source)
    assert received == []  # nothing contacted at construction
    source.structure_for("Si")
    source.structures_in_chemsys(["Li", "Si"])
    assert received == [KEY]  # one rester, created on first use
    assert KEY not in repr(source) and KEY not in str(source)


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError(f"Max retries exceeded with url: /heartbeat?key={KEY}"),
        ConnectionError(f"network unreachable ({KEY})"),
        MPRestError(f"REST query returned with error status code 401 for key {KEY}"),
    ],
)
def test_factory_failures_become_materials_project_error_without_key(exc):
    def factory(api_key):
        raise exc

    source = MaterialsProjectSource(KEY, rester_factory=factory)
    with pytest.raises(MaterialsProjectError) as info:
        source.structure_for("Si")
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err)
    assert type(exc).__name__ in str(err)
    assert err.__cause__ is None and err.__suppress_context__  # the raw exception is not shown
    if not isinstance(exc, MPRestError):
        assert "network" in str(err)


def test_query_failure_is_translated_and_scrubbed():
    rester = FakeRester()

    def broken(**kwargs):
        raise MPRestError(f"server error 500 while serving x-api-key={KEY}")

    rester.materials.summary.search = broken
    source, _, _ = make_source(rester)
    with pytest.raises(MaterialsProjectError, match="500") as info:
        source.structures_in_chemsys(["Li"])
    assert KEY not in str(info.value)


def test_default_factory_uses_mp_api_and_translates_its_key_check(monkeypatch):
    # mp-api rejects a key that is not 32 characters before any request; forbid sockets anyway
    def no_network(*args, **kwargs):
        raise AssertionError("test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.delenv("MP_API_KEY", raising=False)
    short_key = "s3cr3t-but-too-short"
    source = MaterialsProjectSource(short_key)
    with pytest.raises(MaterialsProjectError, match="MPRestError") as info:
        source.structure_for("Si")
    assert short_key not in str(info.value)


def test_screen_plan_takes_phases_from_materials_project_when_a_key_is_set(tmp_path, monkeypatch):
    """The user path with a key: names resolve through MP and each chemical system is filled with every
    MP phase near the hull (here the recorded-style Li-Si fixtures), never the offline cards."""
    from interchem.runner import plan_screen
    from interchem.settings import get_settings

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    settings = get_settings(store_path=tmp_path / "store")
    source, rester, _ = make_source()
    plan = plan_screen([], ["Si", "Li15Si4"], "chgnet", settings=settings, mp_source=source)
    assert {"Li", "Si", "LiSi", "Li15Si4"} <= set(plan.phases)
    assert all(s.properties["provenance"]["origin"] == "Materials Project" for s in plan.phases.values())
    assert plan.systems == {"Li-Si": sorted(plan.phases)}
    assert any("chemsys" in str(call) for call in rester.calls)  # the chemical system was asked for
    assert not (tmp_path / "store").exists()  # planning writes nothing
