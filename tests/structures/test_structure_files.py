"""load_structure_file: formats, provenance and every failure mode, on small files written here.

A few tests also read trusted files from the reference data beside the repository (../shared/reference,
never copied into src/).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import pytest
from paths import REFERENCE
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from interchem.errors import StructureFileError, StructureValidationError
from interchem.structures.files import load_structure_file

needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared reference data not present")

CIF_HEADER = """data_{name}
_symmetry_space_group_name_H-M   '{sg}'
_symmetry_Int_Tables_number      {number}
_cell_length_a   {a}
_cell_length_b   {a}
_cell_length_c   {a}
_cell_angle_alpha   90
_cell_angle_beta    90
_cell_angle_gamma   90
loop_
_symmetry_equiv_pos_as_xyz
  {ops}
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
"""


def p1_cif(name: str, a: float, sites: list[tuple[str, float, float, float, float]]) -> str:
    body = "".join(f"{el}{i} {el} {x} {y} {z} {occ}\n" for i, (el, x, y, z, occ) in enumerate(sites))
    return CIF_HEADER.format(name=name, sg="P 1", number=1, a=a, ops="'x, y, z'") + body


SI_DIAMOND_CIF = (
    CIF_HEADER.format(name="Si", sg="F d -3 m", number=227, a=5.4307, ops="'x, y, z'").replace(
        "loop_\n_symmetry_equiv_pos_as_xyz\n  'x, y, z'\n",
        "",  # symmetry from the H-M symbol, as many CIFs do
    )
    + "Si1 Si 0.0 0.0 0.0 1.0\n"
)

SI_POSCAR = """Si2 diamond primitive cell
5.4307
0.0 0.5 0.5
0.5 0.0 0.5
0.5 0.5 0.0
Si
2
Direct
0.00 0.00 0.00
0.25 0.25 0.25
"""

LI_BCC_EXTXYZ = """2
Lattice="3.44 0.0 0.0 0.0 3.44 0.0 0.0 0.0 3.44" Properties=species:S:1:pos:R:3 pbc="T T T"
Li 0.0 0.0 0.0
Li 1.72 1.72 1.72
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- formats that load ------------------------------------------------------------------------------


def test_valid_cif_expands_symmetry_and_sets_provenance(tmp_path):
    path = write(tmp_path, "Si.cif", SI_DIAMOND_CIF)
    s = load_structure_file(path)
    assert s.composition.formula == "Si8"  # conventional cell: 8a of Fd-3m, not primitive-reduced
    assert s.lattice.abc == pytest.approx((5.4307,) * 3)
    prov = s.properties["provenance"]
    assert prov["origin"] == "user file"
    assert prov["path"] == str(path.resolve())
    assert prov["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["format"] == "cif"


def test_sha256_follows_the_file_contents(tmp_path):
    path = write(tmp_path, "Si.cif", SI_DIAMOND_CIF)
    first = load_structure_file(path).properties["provenance"]["sha256"]
    path.write_text(SI_DIAMOND_CIF.replace("5.4307", "5.4310"))
    assert load_structure_file(path).properties["provenance"]["sha256"] != first


@pytest.mark.parametrize("name", ["POSCAR", "CONTCAR", "Si.vasp", "POSCAR_relaxed"])
def test_valid_poscar(tmp_path, name):
    s = load_structure_file(write(tmp_path, name, SI_POSCAR))
    assert s.composition.formula == "Si2"
    assert s.volume == pytest.approx(5.4307**3 / 4)
    # same crystal as the CIF: the two readers agree
    cif = load_structure_file(write(tmp_path, "Si.cif", SI_DIAMOND_CIF))
    assert StructureMatcher().fit(s, cif)
    assert s.properties["provenance"]["format"] == "poscar"


def test_extxyz_with_cell(tmp_path):
    s = load_structure_file(write(tmp_path, "Li.extxyz", LI_BCC_EXTXYZ))
    assert s.composition.formula == "Li2"
    assert s.lattice.abc == pytest.approx((3.44,) * 3)
    assert s.properties["provenance"]["format"] == "extxyz"


def test_xyz_without_cell_is_refused(tmp_path):
    path = write(tmp_path, "Li2.xyz", "2\nplain molecule\nLi 0 0 0\nLi 0 0 2.7\n")
    with pytest.raises(StructureFileError, match="no periodic cell") as info:
        load_structure_file(path)
    assert str(path) in str(info.value)


def test_pymatgen_json_single_and_list(tmp_path):
    li = Structure(Lattice.cubic(3.44), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    single = write(tmp_path, "li.json", json.dumps(li.as_dict()))
    loaded = load_structure_file(single)
    assert loaded.properties["provenance"]["format"] == "json"
    loaded.properties = {}  # Structure equality includes properties
    assert loaded == li
    si = Structure(Lattice.cubic(5.43), ["Si"] * 2, [[0, 0, 0], [0.25, 0.25, 0.25]])
    several = write(tmp_path, "both.json", json.dumps([si.as_dict(), li.as_dict()]))
    with pytest.warns(UserWarning, match="2 structures; using the first"):
        s = load_structure_file(several)
    assert s.composition.formula == "Si2"
    assert s.properties["provenance"]["structures_in_file"] == 2


def test_json_that_is_not_a_structure(tmp_path):
    with pytest.raises(StructureFileError, match="not a pymatgen Structure"):
        load_structure_file(write(tmp_path, "x.json", json.dumps({"energy": -1.0})))


def test_multi_block_cif_takes_first_and_warns(tmp_path):
    li = p1_cif("Li", 3.44, [("Li", 0, 0, 0, 1.0), ("Li", 0.5, 0.5, 0.5, 1.0)])
    si = p1_cif("Si", 5.43, [("Si", 0, 0, 0, 1.0), ("Si", 0.25, 0.25, 0.25, 1.0)])
    path = write(tmp_path, "two.cif", li + "\n" + si)
    with pytest.warns(UserWarning, match=r"two\.cif holds 2 structures; using the first"):
        s = load_structure_file(path)
    assert s.composition.formula == "Li2"


# -- failures ---------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nothing.cif"
    with pytest.raises(StructureFileError, match="does not exist") as info:
        load_structure_file(path)
    assert str(path) in str(info.value)


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "dir.cif").mkdir()
    with pytest.raises(StructureFileError, match="not a regular file"):
        load_structure_file(tmp_path / "dir.cif")


@pytest.mark.parametrize("name", ["empty.cif", "POSCAR", "empty.xyz", "empty.json"])
@pytest.mark.parametrize("text", ["", "  \n\n"])
def test_empty_file(tmp_path, name, text):
    path = write(tmp_path, name, text)
    with pytest.raises(StructureFileError, match="is empty") as info:
        load_structure_file(path)
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("garbage.cif", "CIF"), ("POSCAR", "POSCAR"), ("garbage.vasp", "POSCAR"), ("g.extxyz", "XYZ"), ("g.json", "JSON")],
)
def test_garbage_file(tmp_path, name, fmt):
    path = write(tmp_path, name, "this is not a crystal\n{{{ 1 2 3 ]]\n")
    with pytest.raises(StructureFileError, match=f"cannot parse as.*{fmt}") as info:
        load_structure_file(path)
    assert str(path) in str(info.value)


def test_unknown_extension(tmp_path):
    with pytest.raises(StructureFileError, match="unknown format.*cif"):
        load_structure_file(write(tmp_path, "structure.pdbx", SI_POSCAR))


def test_overlapping_atoms_in_cif(tmp_path):
    cif = p1_cif("overlap", 5.0, [("Si", 0, 0, 0, 1.0), ("Si", 0.06, 0, 0, 1.0), ("Si", 0.5, 0.5, 0.5, 1.0)])
    path = write(tmp_path, "overlap.cif", cif)
    with pytest.raises(StructureValidationError, match=r"overlap at 0\.30 A") as info:
        load_structure_file(path)
    assert str(path) in str(info.value)


def test_overlapping_atoms_in_poscar(tmp_path):
    poscar = SI_POSCAR.replace("2\nDirect", "3\nDirect") + "0.01 0.00 0.00\n"
    with pytest.raises(StructureValidationError, match="overlap"):
        load_structure_file(write(tmp_path, "POSCAR", poscar))


DISORDERED = [("Li", 0.0, 0.0, 0.0, 0.5), ("Si", 0.5, 0.5, 0.5, 1.0)]


def test_disordered_cif_requires_ordering_by_default(tmp_path):
    path = write(tmp_path, "disordered.cif", p1_cif("LiSi_dis", 3.5, DISORDERED))
    with pytest.raises(StructureValidationError, match="partially occupied") as info:
        load_structure_file(path)
    message = str(info.value)
    assert str(path) in message and "Li0.5" in message
    assert "OrderDisorderedStructureTransformation" in message  # suggests the ordering step


def test_disordered_cif_loads_when_allowed(tmp_path):
    path = write(tmp_path, "disordered.cif", p1_cif("LiSi_dis", 3.5, DISORDERED))
    s = load_structure_file(path, require_ordered=False)
    assert not s.is_ordered
    assert s.composition["Li"] == pytest.approx(0.5)
    assert s.properties["provenance"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_disordered_split_sites_may_be_close_but_full_sites_may_not(tmp_path):
    # two half-occupied Li split sites 0.5 A apart are never filled together: allowed
    split = [("Li", 0.0, 0.0, 0.0, 0.5), ("Li", 0.1, 0.0, 0.0, 0.5), ("Si", 0.5, 0.5, 0.5, 1.0)]
    s = load_structure_file(write(tmp_path, "split.cif", p1_cif("split", 5.0, split)), require_ordered=False)
    assert len(s) == 3
    # fully occupied atoms overlapping are wrong however disordered the rest is
    bad = split + [("Si", 0.52, 0.5, 0.5, 1.0)]
    with pytest.raises(StructureValidationError, match="overlap"):
        load_structure_file(write(tmp_path, "bad.cif", p1_cif("bad", 5.0, bad)), require_ordered=False)


# -- trusted reference files ------------------------------------------------------------------------


@needs_reference
def test_reference_cif_and_json_agree():
    cif = load_structure_file(REFERENCE / "structures" / "Li15Si4_mp-569849.cif")
    js = load_structure_file(REFERENCE / "structures" / "Li15Si4_mp-569849.json")
    assert cif.composition == js.composition and len(cif) == 38
    assert StructureMatcher().fit(cif, js)
    assert cif.properties["provenance"]["sha256"] != js.properties["provenance"]["sha256"]


@needs_reference
def test_reference_neutron_argyrodite_is_disordered():
    path = REFERENCE / "raw" / "Li6PS5Cl_Neutron_bjmorgan.cif"
    with pytest.raises(StructureValidationError, match="partially occupied"):
        load_structure_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = load_structure_file(path, require_ordered=False)
    assert s.composition.reduced_formula == "Li6PS5Cl"


@needs_reference
def test_reference_extxyz():
    s = load_structure_file(REFERENCE / "raw" / "DFTB_LiSi_crystal" / "Li15Si4.xyz")
    assert s.composition.reduced_formula == "Li15Si4"
    assert s.lattice.abc == pytest.approx((s.lattice.a,) * 3)  # cubic I-43d cell


GOOD_P1 = p1_cif("Si", 5.43, [("Si", 0, 0, 0, 1.0), ("Si", 0.25, 0.25, 0.25, 1.0)])
BROKEN_CIFS = {
    # what is broken -> (the file text, what the message must name)
    "zero cell length": (
        GOOD_P1.replace("_cell_length_b   5.43", "_cell_length_b   0"),
        r"_cell_length_b is 0.*positive",
    ),
    "no cell length": (GOOD_P1.replace("_cell_length_c   5.43\n", ""), r"_cell_length_c is missing"),
    "cell angle out of range": (GOOD_P1.replace("_cell_angle_beta    90", "_cell_angle_beta 190"), "between 0 and 180"),
    "truncated loop row": (GOOD_P1.rsplit(" ", 2)[0] + "\n", r"10 values for 6 columns.*4 value\(s\) are left over"),
    "truncated after the loop header": (GOOD_P1.split("Si0 ")[0], r"column names but no values.*truncated"),
    "missing coordinate column": (
        GOOD_P1.replace("_atom_site_fract_z\n", "").replace(" 0 1.0\n", " 1.0\n").replace(" 0.25 1.0\n", " 1.0\n"),
        r"no _atom_site_fract_z column.*no coordinates",
    ),
    "unknown coordinate": (
        GOOD_P1.replace("0.25 0.25 0.25", "0.25 ? 0.25"),
        r"_atom_site_fract_y is '\?', not a number",
    ),
    "no atom sites": (GOOD_P1.split("loop_\n_atom_site_label")[0], "no data block has atom sites"),
    "garbage": ("q29udGVudCBvZiBhIHJhbmRvbSBmaWxl\nJ2V9+ZXq== 88 ;;\n", r"no data_ block: this is not a CIF"),
    "binary": ("\x00\x01\x02\x03PK", "binary"),
}


@pytest.mark.parametrize("case", list(BROKEN_CIFS))
def test_malformed_cif_says_what_is_wrong(tmp_path, case):
    """Each broken CIF gets a message in the file's terms, never pymatgen's internals ("integer modulo by
    zero", "zip() argument 2 is longer than argument 1", "Invalid CIF file with no structures")."""
    text, expected = BROKEN_CIFS[case]
    path = write(tmp_path, "broken.cif", text)
    with pytest.raises(StructureFileError, match="cannot parse as CIF") as info:
        load_structure_file(path)
    message = str(info.value)
    assert str(path) in message
    assert re.search(expected, message), message
    for internal in ("modulo", "zip()", "Invalid CIF file", "Traceback", "Error:"):
        assert internal not in message


def test_cif_checks_accept_the_reference_cifs():
    """No false alarm: every well-formed CIF of the test data and the reference set still loads."""
    from interchem.structures.file_checks import cif_problem

    files = [*REFERENCE.glob("structures/*.cif")] if REFERENCE.is_dir() else []
    texts = [p.read_text() for p in files] + [GOOD_P1, SI_DIAMOND_CIF]
    assert [cif_problem(t) for t in texts] == [None] * len(texts)


BROKEN_POSCARS = {
    # what is broken -> (the file text, what the message must name); before, these gave "list index out of
    # range", a raw ValueError "cannot convert float NaN to integer", or loaded silently as H2 / a dummy "Xx"
    "truncated coordinates": ("\n".join(SI_POSCAR.splitlines()[:9]) + "\n", r"add up to 2 atoms but 1 coordinate"),
    "short file": ("\n".join(SI_POSCAR.splitlines()[:4]) + "\n", r"has 4 line\(s\).*at least 7"),
    "more atoms counted than given": (SI_POSCAR.replace("\n2\n", "\n3\n"), r"add up to 3 atoms but 2"),
    "zero lattice vector": (SI_POSCAR.replace("0.0 0.5 0.5", "0.0 0.0 0.0"), r"span no volume"),
    "bad scale": (SI_POSCAR.replace("5.4307", "abc"), r"line 2 \(scale factor\) is 'abc'"),
    "unknown element": (SI_POSCAR.replace("\nSi\n", "\nXx\n"), r"names 'Xx', not chemical element"),
    "no element line": (SI_POSCAR.replace("\nSi\n", "\n"), r"no line names the elements \(VASP 4 layout\)"),
    "missing coordinate": (SI_POSCAR.replace("0.25 0.25 0.25", "0.25 0.25"), r"line 10 \(atom 2\).*three numbers"),
}


@pytest.mark.parametrize("case", list(BROKEN_POSCARS))
def test_malformed_poscar_says_what_is_wrong(tmp_path, case):
    text, expected = BROKEN_POSCARS[case]
    path = write(tmp_path, "POSCAR", text)
    with pytest.raises(StructureFileError, match="cannot parse as POSCAR") as info:
        load_structure_file(path)
    assert re.search(expected, str(info.value)), str(info.value)
    assert "index out of range" not in str(info.value) and "NaN" not in str(info.value)
