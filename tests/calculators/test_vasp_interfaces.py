"""Interfaces with VASP (interchem.calculators.vasp.interfaces): InterfaceMaker / SlabMaker / InterfaceMDMaker with
``calculator="vasp"`` build atomate2 VASP jobs (bulk single points, gap single points, fixed-cell relax
with selective dynamics, split parts) on one electronic footing; recorded-style outputs go through the
real atomate2 jobs (VASP replaced by atomate2's test double) into the same InterfaceResult as the ASE
route; VASP MD task documents go through the interface reactivity analysis; bad input fails early.

Fast and offline: no VASP binary and no POTCAR library (inputs are written with POTCAR.spec). The
outputs are made here with made-up energies (layout of VASP 6's vasprun.xml, trimmed to what pymatgen
and emmet read).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jobflow import Job
from pymatgen.core import Structure
from pymatgen.io.vasp import Incar, Kpoints, Poscar
from tiny_interfaces import li_licl_bulks, li_licl_candidates
from vasp_recorded import energy_xml, flow_jobs, job_maker, outcar, structure_xml, v, vasprun_head

from interchem.analysis.interfaces import EV_PER_A2_TO_J_PER_M2, work_of_adhesion
from interchem.calculators import CalculatorSpec
from interchem.calculators.vasp import inputs as vasp
from interchem.calculators.vasp import interfaces as vi
from interchem.errors import CalculatorSettingsError, InterchemError, InterfaceError
from interchem.structures.interfaces import set_gap, split_interface
from interchem.workflows.interface_md import InterfaceMDMaker
from interchem.workflows.interfaces import InterfaceMaker, SlabMaker

WRITE_ONLY = "vasp:write_only=true"
GAPS = (2.0, 2.5, 3.0, 3.5)
FMAX, STEPS = 0.03, 77


@pytest.fixture(scope="module")
def bulks():
    return li_licl_bulks()


@pytest.fixture(scope="module")
def cands(bulks):
    """Li(100)|LiCl(100): 6 atoms, the bottom Li layer fixed (selective_dynamics F F F)."""
    c = li_licl_candidates(*bulks, fixed_bottom_layers=1)
    assert len(c[0].structure) == 6
    assert sum(1 for f in c[0].structure.site_properties["selective_dynamics"] if not any(f)) == 1
    return c


def _parents(job: Job) -> set[str]:
    return {ref.uuid for ref in job.input_references}


def _normal_heights(structure: Structure) -> np.ndarray:
    c = structure.lattice.matrix[2]
    n = np.cross(*structure.lattice.matrix[:2])
    n /= np.linalg.norm(n)
    return structure.cart_coords @ (n if n @ c > 0 else -n)


# --------------------------------------------------------------------------------------------------
# 1. The flow


def _names(label: str) -> list[str]:
    return [
        "single point bulk Li",
        "bulk reference Li",
        "single point bulk LiCl",
        "bulk reference LiCl",
        *(f"single point {label} gap {g:g} A" for g in GAPS),
        f"gap scan {label}",
        f"relax interface {label}",
        f"relaxed interface {label}",
        f"split interface {label}",
        f"single point anode part {label}",
        f"relax anode part {label}",
        f"relaxed anode part {label}",
        f"single point electrolyte part {label}",
        f"relax electrolyte part {label}",
        f"relaxed electrolyte part {label}",
        f"adhesion {label}",
        "rank interfaces",
    ]


@pytest.mark.parametrize("mode", ["write_only", "potcars"])
def test_interface_flow_is_vasp_single_points_relax_split_adhesion_rank(mode, cands, bulks, request):
    from atomate2.vasp.jobs.mp import MPGGARelaxMaker

    if mode == "potcars":
        request.getfixturevalue("fake_potcar_library")
        spec, cls = "vasp", MPGGARelaxMaker
    else:
        spec, cls = WRITE_ONLY, vasp.WriteOnlyVaspMaker
    flow = InterfaceMaker(calculator=spec, gaps_A=GAPS, fmax=FMAX, steps=STEPS, bulk_reference="single_point").make(
        cands, *bulks
    )
    jobs = flow_jobs(flow)
    label = cands[0].label()
    assert sorted(j.name for j in jobs) == sorted(_names(label))
    by = {j.name: j for j in jobs}
    # wiring: each job reads what it must
    points = [by[f"single point {label} gap {g:g} A"] for g in GAPS]
    assert all(_parents(p) == set() for p in points)
    scan, relax, relaxed, split = (
        by[f"{k} {label}"] for k in ("gap scan", "relax interface", "relaxed interface", "split interface")
    )
    assert _parents(scan) == {p.uuid for p in points}
    assert _parents(relax) == {scan.uuid}
    assert _parents(relaxed) == {relax.uuid, scan.uuid}
    assert _parents(split) == {relaxed.uuid}
    parts = [by[f"{k} {p} part {label}"] for p in ("anode", "electrolyte") for k in ("single point", "relax")]
    assert all(_parents(p) == {split.uuid} for p in parts)
    # the relaxed parts are read back into RelaxedStructure documents, as the relaxed interface is
    readers = [by[f"relaxed {p} part {label}"] for p in ("anode", "electrolyte")]
    assert [_parents(r) for r in readers] == [
        {by[f"relax {p} part {label}"].uuid, split.uuid} for p in ("anode", "electrolyte")
    ]
    adh = by[f"adhesion {label}"]
    refs = {by["bulk reference Li"].uuid, by["bulk reference LiCl"].uuid}
    single_points = {by[f"single point {p} part {label}"].uuid for p in ("anode", "electrolyte")}
    assert _parents(adh) == {relaxed.uuid, scan.uuid, *refs, *single_points, *(r.uuid for r in readers)}
    assert _parents(by["bulk reference Li"]) == {by["single point bulk Li"].uuid}
    assert _parents(by["rank interfaces"]) == {adh.uuid} and flow.output.uuid == by["rank interfaces"].uuid
    # VASP jobs: atomate2's MP relax maker, fixed cell; single points NSW 0, relaxes NSW/EDIFFG from the workflow
    vasp_jobs = [j for j in jobs if job_maker(j) is not None]
    assert len(vasp_jobs) == 2 + len(GAPS) + 1 + 4
    for j in vasp_jobs:
        maker = job_maker(j)
        assert type(maker) is cls
        incar = maker.input_set_generator.user_incar_settings
        assert incar["ISIF"] == 2 and incar["ISMEAR"] == 0 and incar["SIGMA"] == pytest.approx(0.05)
        assert incar["NSW"] == (STEPS if j.name.startswith("relax ") else 0)
        if j.name.startswith("relax "):
            assert incar["EDIFFG"] == pytest.approx(-FMAX)
        if mode == "potcars":  # an unconverged relax is reported (converged=False), not a stopped flow
            assert maker.stop_children_kwargs == {"handle_unsuccessful": False}


def test_slab_flow_with_vasp(bulks, fake_potcar_library):
    li = bulks[0]
    flow = SlabMaker(
        calculator="vasp",
        min_thickness_A=6.0,
        vacuum_A=10.0,
        fixed_bottom_layers=1,
        steps=30,
        bulk_reference="single_point",
    ).make(li, (1, 0, 0), phase="Li")
    jobs = flow_jobs(flow)
    names = [j.name for j in jobs]
    assert names[:2] == ["single point bulk Li", "bulk reference Li"]
    relaxes = [j for j in jobs if j.name.startswith("relax slab")]
    gammas = [j for j in jobs if j.name.startswith("surface energy")]
    assert relaxes and len(relaxes) == len(gammas) == len(flow.output)
    for r in relaxes:
        slab = r.function_args[0]
        assert "selective_dynamics" in slab.site_properties
        assert job_maker(r).input_set_generator.user_incar_settings["NSW"] == 30


# --------------------------------------------------------------------------------------------------
# 2. Inputs written


def _write(maker, structure, directory: Path):
    vasp.write_inputs(maker, structure, directory, potcar_spec=True)
    return (
        Incar.from_file(directory / "INCAR"),
        Poscar.from_file(directory / "POSCAR"),
        Kpoints.from_file(directory / "KPOINTS"),
    )


def test_interface_relax_inputs_isif2_selective_dynamics_and_mp_footing(cands, bulks, tmp_path, fake_potcar_library):
    flow = InterfaceMaker(calculator="vasp", gaps_A=GAPS, fmax=FMAX, steps=STEPS, bulk_reference="single_point").make(
        cands, *bulks
    )
    relax = next(j for j in flow_jobs(flow) if j.name.startswith("relax interface"))
    start = vi.sort_like_vasp(cands[0].structure)
    best = set_gap(start, 2.5)
    incar, poscar, kpoints = _write(job_maker(relax), best, tmp_path / "relax")
    assert (
        incar["ISIF"] == 2
        and incar["IBRION"] == 2
        and incar["NSW"] == STEPS
        and incar["EDIFFG"] == pytest.approx(-FMAX)
    )
    assert incar["ENCUT"] == 520 and incar["ISMEAR"] == 0 and incar["SIGMA"] == pytest.approx(0.05)
    assert "LDIPOL" not in incar and "IDIPOL" not in incar
    assert (tmp_path / "relax" / "POTCAR.spec").read_text().split() == ["Li_sv", "Cl"]
    # selective dynamics in the POSCAR, on the atoms the interface fixes, in the order VASP holds them
    assert "Selective dynamics" in (tmp_path / "relax" / "POSCAR").read_text()
    written = poscar.structure
    assert [s.species_string for s in written] == [s.species_string for s in best]
    assert np.allclose(written.frac_coords, best.frac_coords, atol=1e-6)
    fixed_written = [i for i, f in enumerate(written.site_properties["selective_dynamics"]) if not any(f)]
    fixed_here = [i for i, f in enumerate(best.site_properties["selective_dynamics"]) if not any(f)]
    assert fixed_written == fixed_here and len(fixed_here) == 1
    z = _normal_heights(best)
    anode = [i for i, s in enumerate(best.site_properties["interface_side"]) if s == "anode"]
    assert z[fixed_here[0]] == pytest.approx(z[anode].min())  # the bottom anode layer
    assert kpoints.kpts[0][2] == 1  # one k-point along the vacuum


def test_gap_scan_single_point_writes_the_requested_gap(cands, bulks, tmp_path, fake_potcar_library):
    flow = InterfaceMaker(calculator="vasp", gaps_A=GAPS, fmax=FMAX, steps=STEPS, bulk_reference="single_point").make(
        cands, *bulks
    )
    label = cands[0].label()
    side = vi.sort_like_vasp(cands[0].structure).site_properties["interface_side"]
    for g in (2.0, 3.5):
        job = next(j for j in flow_jobs(flow) if j.name == f"single point {label} gap {g:g} A")
        incar, poscar, _ = _write(job_maker(job), job.function_args[0], tmp_path / f"gap{g}")
        assert incar["NSW"] == 0 and incar["ISMEAR"] == 0
        z = _normal_heights(poscar.structure)
        an = np.array([s == "anode" for s in side])
        assert z[~an].min() - z[an].max() == pytest.approx(g, abs=1e-6)


def test_split_parts_and_bulk_are_on_the_interface_footing(cands, bulks, tmp_path, fake_potcar_library):
    """Everything subtracted shares one INCAR (ENCUT, PREC, smearing, LREAL, ...) and k-point density;
    only NSW, EDIFFG, MAGMOM (one per atom) and EDIFF (MP's 5e-5 eV per atom) differ. The slabs keep
    their fixed layers and vacuum."""
    sp, rl = vi.single_point_maker("vasp"), vi.relax_maker("vasp", FMAX, STEPS)
    best = set_gap(vi.sort_like_vasp(cands[0].structure), 2.5)
    anode, electrolyte = split_interface(best)
    written = {
        "bulk": _write(sp, vi.sort_like_vasp(bulks[1]), tmp_path / "bulk"),
        "interface": _write(rl, best, tmp_path / "interface"),
        "anode": _write(sp, anode, tmp_path / "anode"),
        "electrolyte relax": _write(rl, electrolyte, tmp_path / "electrolyte"),
    }
    strip = ("NSW", "EDIFFG", "MAGMOM", "EDIFF")
    incars = {k: {key: v for key, v in w[0].items() if key not in strip} for k, w in written.items()}
    assert all(i == incars["interface"] for i in incars.values()), incars
    for w, s in zip(written.values(), (bulks[1], best, anode, electrolyte)):
        assert w[0]["EDIFF"] == pytest.approx(5e-5 * len(s))
    assert written["bulk"][2].style == written["anode"][2].style == Kpoints.supported_modes.Gamma
    assert written["anode"][2].kpts[0][2] == written["electrolyte relax"][2].kpts[0][2] == 1
    a_pos = written["anode"][1].structure
    assert [s.species_string for s in a_pos] == ["Li", "Li"]
    assert sum(1 for f in a_pos.site_properties["selective_dynamics"] if not any(f)) == 1
    e_sd = written["electrolyte relax"][1].structure.site_properties.get("selective_dynamics")
    assert e_sd is None or all(all(f) for f in e_sd)  # nothing fixed: pymatgen drops the tag
    assert a_pos.lattice.c - np.ptp(_normal_heights(a_pos)) >= 11.9  # vacuum of split_interface
    assert (tmp_path / "electrolyte" / "POTCAR.spec").read_text().split() == ["Li_sv", "Cl"]


# --------------------------------------------------------------------------------------------------
# 3. Recorded-style outputs through the real atomate2 jobs


def _structure_xml(s: Structure, name: str | None = None) -> list[str]:
    return structure_xml(s.lattice.matrix, s.frac_coords, name, volume=s.volume)


def write_vasp_outputs(directory: Path, frames: list[Structure], energies: list[float], incar: dict) -> Path:
    """vasprun.xml (one <calculation> per ionic step), OSZICAR, OUTCAR, CONTCAR of a static (one frame) or
    relaxation run that ends at ``frames[-1]`` with ``energies[-1]``."""
    directory.mkdir(parents=True, exist_ok=True)
    s0 = frames[0]
    symbols = [s.species_string for s in s0]
    ionic = {k: incar[k] for k in ("NSW", "IBRION", "ISIF", "EDIFFG") if k in incar}
    lines = vasprun_head(
        "tests/test_vasp_interfaces.py",
        incar,
        symbols,
        _structure_xml(s0, "initialpos"),
        divisions=(2, 2, 1),
        system="interface",
        electronic={"PREC": "accurate", "ENMAX": 520.0, "ISPIN": 1, "NELECT": 30.0, "NBANDS": 32, "NELM": 100},
        separators={"ionic": ionic},
    )
    zeros = ["   " + v((0.0, 0.0, 0.0)) for _ in symbols]
    for frame, e in zip(frames, energies):
        energy = energy_xml(e)
        lines += [
            " <calculation>",
            "  <scstep>",
            "  <energy>",
            *energy,
            "  </energy>",
            "  </scstep>",  # final SCF step
            *_structure_xml(frame),
            '  <varray name="forces">',
            *zeros,
            "  </varray>",
            '  <varray name="stress">',
            *("   " + v(r) for r in np.eye(3)),
            "  </varray>",
            "  <energy>",
            *energy,
            "  </energy>",
            " </calculation>",
        ]
    lines += [*_structure_xml(frames[-1], "finalpos"), "</modeling>"]
    (directory / "vasprun.xml").write_text("\n".join(lines) + "\n")
    (directory / "OSZICAR").write_text(
        "".join(f"{i:4d} F= {e:.8E} E0= {e:.8E}  d E =-0.1E-01\n" for i, e in enumerate(energies, 1))
    )
    (directory / "OUTCAR").write_text(
        outcar(len(symbols), nkpts=4, nbands=32, ibrion=incar["IBRION"] if incar.get("NSW") else -1, elapsed=60.0)
    )
    Poscar(frames[-1]).write_file(directory / "CONTCAR")
    return directory


def _reference(
    root: Path, name: str, given: Structure, frames: list[Structure], energies: list[float], nsw: int
) -> tuple[str, Path]:
    """A reference folder for atomate2's test double: the inputs the job must write (INCAR keys, POSCAR,
    POTCAR.spec) and the outputs VASP would leave."""
    ref = root / name.replace(" ", "_").replace("|", "_").replace("[", "").replace("]", "")
    (ref / "inputs").mkdir(parents=True)
    incar = {"ISIF": 2, "IBRION": 2, "NSW": nsw, "ISMEAR": 0, "SIGMA": 0.05, "ENCUT": 520.0, "PREC": "Accurate"}
    if nsw:
        incar["EDIFFG"] = -FMAX
    Incar(incar).write_file(ref / "inputs" / "INCAR")
    Poscar(given).write_file(ref / "inputs" / "POSCAR")
    potcars = {"Li": "Li_sv", "Cl": "Cl"}
    (ref / "inputs" / "POTCAR.spec").write_text("\n".join(potcars[e] for e in Poscar(given).site_symbols) + "\n")
    write_vasp_outputs(ref / "outputs", frames, energies, incar)
    return name, ref


def _moved(s: Structure, shift_A: float) -> Structure:
    """The free atoms of ``s`` moved along the normal by ``shift_A`` (a stand-in for a relaxation)."""
    out = s.copy()
    sd = s.site_properties.get("selective_dynamics") or [[True] * 3] * len(s)
    n = np.cross(*s.lattice.matrix[:2])
    n /= np.linalg.norm(n)
    for i, f in enumerate(sd):
        if any(f):
            out.translate_sites([i], n * shift_A, frac_coords=False, to_unit_cell=True)
    return out


def test_vasp_interface_flow_end_to_end_with_atomate2_jobs(
    cands, bulks, fake_potcar_library, isolated_settings, tmp_path, monkeypatch
):
    """atomate2's jobs run with its VASP test double (inputs checked against references: INCAR keys,
    POSCAR, POTCAR.spec); the energies put in come back as W_ad, W_sep, surface energies and the gap."""
    from atomate2.utils.testing.vasp import monkeypatch_vasp

    from interchem.runner import run_flow
    from interchem.workflows.interfaces import InterfaceSummary

    li, licl = bulks
    label = cands[0].label()
    start = vi.sort_like_vasp(cands[0].structure)
    e_li, e_licl = -1.90, -3.45  # eV/atom
    gap_energies = {2.0: -21.20, 2.5: -21.60, 3.0: -21.45, 3.5: -21.30}  # lowest at 2.5 A: not an end point
    best = set_gap(start, 2.5)
    relaxed = _moved(best, -0.05)
    e_ab = [-21.60, -21.75, -21.80]  # interface relaxation, final -21.80
    anode, electrolyte = split_interface(relaxed)
    e_rigid = {"anode": -3.55, "electrolyte": -17.10}
    e_relax = {"anode": -3.62, "electrolyte": -17.18}
    root = tmp_path / "refs"
    refs = dict(
        [
            _reference(
                root, "single point bulk Li", vi.sort_like_vasp(li), [vi.sort_like_vasp(li)], [e_li * len(li)], 0
            ),
            _reference(
                root,
                "single point bulk LiCl",
                vi.sort_like_vasp(licl),
                [vi.sort_like_vasp(licl)],
                [e_licl * len(licl)],
                0,
            ),
            *(
                _reference(root, f"single point {label} gap {g:g} A", set_gap(start, g), [set_gap(start, g)], [e], 0)
                for g, e in gap_energies.items()
            ),
            _reference(root, f"relax interface {label}", best, [best, _moved(best, -0.03), relaxed], e_ab, STEPS),
        ]
    )
    for part, s in (("anode", anode), ("electrolyte", electrolyte)):
        refs.update(
            [
                _reference(root, f"single point {part} part {label}", s, [s], [e_rigid[part]], 0),
                _reference(
                    root, f"relax {part} part {label}", s, [s, _moved(s, 0.02)], [e_rigid[part], e_relax[part]], STEPS
                ),
            ]
        )
    flow = InterfaceMaker(calculator="vasp", gaps_A=GAPS, fmax=FMAX, steps=STEPS, bulk_reference="single_point").make(
        cands, li, licl
    )
    assert {j.name for j in flow_jobs(flow) if job_maker(j) is not None} == set(refs)
    fake = monkeypatch_vasp(monkeypatch, root)
    mock = next(fake)
    try:
        check = {
            "incar_settings": ["ISIF", "IBRION", "NSW", "ISMEAR", "SIGMA", "ENCUT", "PREC", "EDIFFG"],
            "check_inputs": ["incar", "poscar", "potcar"],
        }
        mock(refs, {name: check for name in refs})
        out = run_flow(flow, isolated_settings, work_dir=tmp_path / "jobs", what="vasp interfaces")
    finally:
        next(fake, None)

    summary = InterfaceSummary.model_validate(out)
    # the recorded energies are made up: the LiCl part comes out below its bulk and is refused, not ranked
    (r,) = summary.excluded
    assert (
        not summary.results and r.problems[0].startswith("LiCl part of") and "negative surface energy" in r.problems[0]
    )
    area = float(np.linalg.norm(np.cross(*start.lattice.matrix[:2])))
    assert r.area_A2 == pytest.approx(area)
    assert r.gap_scan["best_gap_A"] == 2.5 and r.gap_scan["energies_eV"] == [gap_energies[g] for g in GAPS]
    assert r.energy_interface_eV == pytest.approx(e_ab[-1]) and r.relax_steps == 3 and r.converged
    assert r.energy_anode_eV == pytest.approx(e_relax["anode"]) and r.energy_electrolyte_rigid_eV == pytest.approx(
        e_rigid["electrolyte"]
    )
    w_ad = (e_relax["anode"] + e_relax["electrolyte"] - e_ab[-1]) / area * EV_PER_A2_TO_J_PER_M2
    w_sep = (e_rigid["anode"] + e_rigid["electrolyte"] - e_ab[-1]) / area * EV_PER_A2_TO_J_PER_M2
    assert r.work_of_adhesion_J_m2 == pytest.approx(w_ad) and r.work_of_separation_J_m2 == pytest.approx(w_sep)
    assert r.work_of_separation_J_m2 >= r.work_of_adhesion_J_m2 > 0
    gamma_a = (e_relax["anode"] - len(anode) * e_li) / (2 * area) * EV_PER_A2_TO_J_PER_M2
    gamma_b = (e_relax["electrolyte"] - len(electrolyte) * e_licl) / (2 * area) * EV_PER_A2_TO_J_PER_M2
    assert r.surface_energy_anode_J_m2 == pytest.approx(gamma_a) and r.surface_energy_electrolyte_J_m2 == pytest.approx(
        gamma_b
    )
    assert r.interface_energy_J_m2 == pytest.approx(gamma_a + gamma_b - w_ad)
    # the relaxed structure is VASP's, with the interface's site properties back on the right atoms
    assert np.allclose(r.structure.cart_coords, relaxed.cart_coords, atol=1e-5)
    assert r.structure.site_properties["interface_side"] == start.site_properties["interface_side"]
    assert r.structure.site_properties["selective_dynamics"] == start.site_properties["selective_dynamics"]
    assert r.level_of_theory == summary.level_of_theory and "ISMEAR" in summary.level_of_theory
    assert r.calculator["name"] == "vasp"


def test_vasp_relaxed_structure_refuses_another_atom_order(cands):
    from emmet.core.tasks import OutputDoc, TaskDoc

    start = vi.sort_like_vasp(cands[0].structure)
    unsorted = cands[0].structure.copy()
    doc = TaskDoc(output=OutputDoc(structure=unsorted, energy=-1.0))
    with pytest.raises(InterfaceError, match="another order"):
        vi.relaxed_from_task_doc(doc, start, {"name": "vasp", "settings": {"write_only": True}})
    ok = vi.relaxed_from_task_doc(
        TaskDoc(output=OutputDoc(structure=start, energy=-2.5)),
        start,
        {"name": "vasp", "settings": {"write_only": True}},
    )
    assert ok.energy_eV == -2.5 and ok.n_fixed == 1 and not ok.converged  # no state: not claimed converged
    assert work_of_adhesion(-1.0, -1.0, -2.5, 10.0) > 0


# --------------------------------------------------------------------------------------------------
# 4. Interface MD with VASP


def _md_task_doc(tmp_path: Path, structure: Structure, n: int, potim: float, temperature: float):
    """atomate2's parse of a VASP MD run in which the anode's top Li walks onto the electrolyte's Cl."""
    from atomate2.vasp.jobs.base import get_vasp_task_document

    side = structure.site_properties["interface_side"]
    z = _normal_heights(structure)
    li = max((i for i, s in enumerate(side) if s == "anode"), key=lambda i: z[i])
    cl = next(i for i, s in enumerate(structure) if s.species_string == "Cl" and side[i] == "electrolyte")
    plain = Structure(structure.lattice, structure.species, structure.frac_coords)
    target = plain[cl].coords - plain.lattice.matrix[2] / np.linalg.norm(plain.lattice.matrix[2]) * 2.4
    frames = []
    for k in range(n):
        f = plain.copy()
        f.replace(li, "Li", plain[li].coords + (target - plain[li].coords) * k / (n - 1), coords_are_cartesian=True)
        frames.append(f)
    incar = {
        "IBRION": 0,
        "NSW": n,
        "POTIM": potim,
        "TEBEG": temperature,
        "TEEND": temperature,
        "MDALGO": 2,
        "SMASS": 0.0,
        "ISIF": 2,
        "ISMEAR": 0,
        "SIGMA": 0.05,
        "ENCUT": 520.0,
    }
    directory = write_vasp_outputs(tmp_path / "md", frames, list(-20.0 - 0.01 * np.arange(n)), incar)
    maker = vasp.make_md_maker("vasp", temperature=temperature, steps=n, timestep=potim)
    return get_vasp_task_document(directory, **maker.task_document_kwargs)


def test_interface_md_with_a_vasp_task_document(cands, tmp_path, fake_potcar_library):
    from monty.json import jsanitize

    from interchem.analysis.interfaces import cross_contacts
    from interchem.workflows.interface_md import analyse_interface_md

    flow = InterfaceMDMaker(calculator="vasp", temperature_K=500, steps=12).make(cands[0].structure, label="Li|LiCl")
    md_job, ana = flow.jobs
    assert type(job_maker(md_job)).__name__ == "MDMaker" and _parents(ana) == {md_job.uuid}
    given = ana.function_args[1]  # the structure the analysis reads: the order VASP writes
    assert [s.species_string for s in given] == [s.species_string for s in vi.sort_like_vasp(cands[0].structure)]
    assert [s.species_string for s in md_job.function_args[0]] == [s.species_string for s in given]

    doc = _md_task_doc(tmp_path, given, 12, 1.5, 500.0)
    for form in (doc, jsanitize(doc, strict=True, allow_bson=True, enum_values=True)):
        res = analyse_interface_md.original(form, given, "Li|LiCl", "md-uuid", CalculatorSpec(name="vasp"))
        assert res.temperature_K == 500 and res.timestep_fs == 1.5 and res.n_atoms == 6
        assert res.reactivity.times_fs == pytest.approx(list(np.arange(12) * 1.5))
        li_cl = cross_contacts(res.reactivity, "Li", "Cl")
        assert li_cl[-1] > li_cl[0]  # the anode Li ends next to the electrolyte's Cl
        assert res.trajectory_uuid == "md-uuid"
    with pytest.raises(InterfaceError, match="order"):
        analyse_interface_md.original(
            doc, cands[0].structure, "Li|LiCl", "md-uuid", CalculatorSpec(name="vasp")
        )  # unsorted: refused


# --------------------------------------------------------------------------------------------------
# 5. Bad input and write-only runs


def test_missing_potcars_named_before_any_job(cands, bulks, no_potcars):
    for make in (
        lambda: InterfaceMaker(calculator="vasp").make(cands, *bulks),
        lambda: InterfaceMDMaker(calculator="vasp", steps=10).make(cands[0].structure),
        lambda: SlabMaker(calculator="vasp").make(bulks[0], (1, 0, 0)),
    ):
        with pytest.raises(CalculatorSettingsError, match="needs POTCARs but PMG_VASP_PSP_DIR is not set"):
            make()
    InterfaceMaker(calculator=WRITE_ONLY).make(cands, *bulks)  # inputs only: fine without POTCARs


def test_cli_interface_with_write_only_vasp_stops_with_the_write_only_error(tmp_path, isolated_settings, no_potcars):
    from typer.testing import CliRunner

    from interchem.cli import app

    out = tmp_path / "report"
    args = [
        "interface",
        "Si",
        "Li6PS5Cl",
        "--miller-anode",
        "111",
        "--max-area",
        "200",
        "--max-atoms",
        "120",
        "--anode-thickness",
        "3",
        "--electrolyte-thickness",
        "4",
        "--top",
        "1",
        "--relax-steps",
        "5",
        "--md-steps",
        "0",
        "-c",
        WRITE_ONLY,
        "-o",
        str(out),
        "-s",
        str(tmp_path / "store"),
        "--create",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 4, res.output  # the calculation stopped (inputs written, VASP not run)
    text = " ".join(res.output.split())
    assert "write_only=true: inputs written" in text and "VASP was not run" in text
    assert not (out / "report.md").exists()
    incars = sorted((out / "jobs").glob("*/INCAR"))
    assert len(incars) == 2 + 5  # the bulk single points and the five gap single points wrote their inputs
    # the bulk references are fixed-cell relaxations (NSW > 0), the gap scan single points (NSW 0)
    assert sorted(Incar.from_file(p)["NSW"] == 0 for p in incars) == [False] * 2 + [True] * 5
    assert sorted({p.parent.joinpath("POTCAR.spec").read_text() for p in incars}) and not any(
        (p.parent / "POTCAR").exists() for p in incars
    )


def test_write_only_flow_run_stops_at_the_first_vasp_jobs(cands, bulks, isolated_settings, tmp_path):
    from interchem.runner import run_flow

    flow = InterfaceMaker(calculator=WRITE_ONLY, gaps_A=GAPS).make(cands, *bulks)
    with pytest.raises(InterchemError, match="write_only=true: inputs written"):
        run_flow(flow, isolated_settings, work_dir=tmp_path / "jobs", what="interchem interface")
    poscars = sorted((tmp_path / "jobs").glob("*/POSCAR"))
    assert len(poscars) == 2 + len(GAPS)
