"""VASP backend (interchem.calculators.vasp.inputs): atomate2's MP makers write MP's inputs; a recorded-style
vasprun.xml becomes an MP2020-corrected entry; missing POTCARs and unknown elements fail before any work.

Fast and offline: no VASP binary and no POTCAR library are used (inputs are written with POTCAR.spec).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import FIXTURES as TEST_FIXTURES
from pymatgen.core import SETTINGS as PMG_SETTINGS
from pymatgen.io.vasp import Incar, Kpoints, Poscar, Vasprun

from interchem.calculators import (
    CalculatorSpec,
    ase_calculator,
    available,
    check_calculator,
    get_backend,
    relax_maker,
    static_maker,
)
from interchem.calculators.vasp import inputs as vasp
from interchem.entries import build_entries
from interchem.errors import (
    CalculatorSettingsError,
    ChemicalSystemError,
    InterchemError,
    UnsupportedElementsError,
)
from interchem.structures.library import cards

FIXTURES = TEST_FIXTURES / "vasp"
WRITE_ONLY = CalculatorSpec(name="vasp", settings={"write_only": True})


@pytest.fixture(scope="module")
def li2s():
    return cards()["Li2S"].build(primitive=True)


@pytest.fixture(scope="module")
def si():
    return cards()["Si"].build(primitive=True)


def _read(directory: Path):
    incar = Incar.from_file(directory / "INCAR")
    kpoints = Kpoints.from_file(directory / "KPOINTS")
    poscar = Poscar.from_file(directory / "POSCAR")
    potcar_spec = (directory / "POTCAR.spec").read_text().split()
    assert not (directory / "POTCAR").exists()
    return incar, kpoints, poscar, potcar_spec


# --------------------------------------------------------------------------------------------------
# 1. Makers write MP's inputs


def test_backend_is_registered_as_dft_without_ase_calculator():
    assert "vasp" in available()
    backend = get_backend("vasp")
    assert backend.is_dft and backend.make_ase_calculator is None
    assert backend.energy_convention(WRITE_ONLY) == "gga_raw"
    assert backend.level_of_theory(WRITE_ONLY) == "VASP PBE(+U) (MP input set MPRelaxSet, POTCAR PBE)"
    assert backend.make_relax_maker is vasp.make_relax_maker and backend.make_static_maker is vasp.make_static_maker


def test_relax_inputs_are_mp_relax_set_with_our_fmax_and_steps(tmp_path, li2s, monkeypatch, fake_potcar_library):
    from atomate2.vasp.files import write_vasp_input_set
    from atomate2.vasp.jobs.mp import MPGGARelaxMaker
    from pymatgen.io.vasp.sets import MPRelaxSet

    spec = CalculatorSpec(name="vasp")
    maker = relax_maker(spec, fmax=0.03, steps=150)
    assert isinstance(maker, MPGGARelaxMaker) and isinstance(maker.input_set_generator, MPRelaxSet)
    # exactly what the atomate2 job does in its run folder, with POTCAR.spec instead of POTCAR
    monkeypatch.chdir(tmp_path)
    write_vasp_input_set(li2s, maker.input_set_generator, potcar_spec=True, **maker.write_input_set_kwargs)
    incar, kpoints, poscar, potcar_spec = _read(tmp_path)

    assert incar["ENCUT"] == 520 and incar["PREC"] == "Accurate" and incar["LASPH"] is True
    assert incar["EDIFF"] == pytest.approx(5e-5 * len(li2s))  # MP: EDIFF_PER_ATOM 5e-5
    assert incar["ISMEAR"] == -5 and incar["SIGMA"] == pytest.approx(0.05)
    assert incar["IBRION"] == 2 and incar["ISIF"] == 3 and incar["ISPIN"] == 2
    assert incar["EDIFFG"] == pytest.approx(-0.03) and incar["NSW"] == 150
    assert "LDAU" not in incar  # no +U in Li-S (MP applies U only to TM oxides/fluorides)
    assert kpoints.style == Kpoints.supported_modes.Gamma
    assert kpoints.kpts == Kpoints.automatic_density_by_vol(li2s, 64, force_gamma=True).kpts  # MP: 64 / Å^-3
    assert poscar.site_symbols == ["Li", "S"] and poscar.natoms == [2, 1]
    assert potcar_spec == ["Li_sv", "S"]


def test_relax_without_cell_relaxation_uses_isif_2(tmp_path, si):
    maker = vasp.make_relax_maker(WRITE_ONLY, fmax=0.05, steps=300, relax_cell=False)
    incar, _, _, _ = _read(vasp.write_inputs(maker, si, tmp_path))
    assert incar["ISIF"] == 2 and incar["NSW"] == 300 and incar["EDIFFG"] == pytest.approx(-0.05)


def test_static_inputs_are_mp_static_set(tmp_path, si):
    maker = static_maker(WRITE_ONLY)
    assert type(maker.input_set_generator).__name__ == "MPStaticSet"
    incar, kpoints, poscar, potcar_spec = _read(vasp.write_inputs(maker, si, tmp_path))
    assert incar["ENCUT"] == 520 and incar["NSW"] == 0 and incar["ISMEAR"] == -5 and incar["LREAL"] is False
    assert "IBRION" not in incar and "EDIFFG" not in incar
    assert kpoints.kpts == Kpoints.automatic_density_by_vol(si, 100, force_gamma=True).kpts  # denser than relax
    assert poscar.site_symbols == ["Si"] and poscar.natoms == [2]
    assert potcar_spec == ["Si"]


def test_md_inputs_are_mp_pbe_nvt(tmp_path, li2s):
    maker = vasp.make_md_maker(WRITE_ONLY, temperature=900, steps=200, timestep=1.5)
    assert type(maker.input_set_generator).__name__ == "MDSetGenerator"
    incar, kpoints, poscar, potcar_spec = _read(vasp.write_inputs(maker, li2s, tmp_path))
    assert incar["IBRION"] == 0 and incar["NSW"] == 200 and incar["POTIM"] == pytest.approx(1.5)
    assert incar["TEBEG"] == pytest.approx(900) and incar["TEEND"] == pytest.approx(900)
    assert incar["MDALGO"] == 2 and incar["SMASS"] == 0 and incar["ISIF"] == 2  # Nosé-Hoover NVT
    assert incar["ENCUT"] == 520 and incar["ISMEAR"] == 0 and incar["ISYM"] == 0
    assert "GGA" not in incar and "METAGGA" not in incar  # PBE as MP, not atomate2's PBEsol base set
    assert "LDAU" not in incar
    assert kpoints.kpts == [(1, 1, 1)]  # Gamma only: MD cells are supercells
    assert poscar.natoms == [2, 1] and potcar_spec == ["Li_sv", "S"]


def test_md_uses_gamma_only_even_with_spec_kpoints_and_checks_ensemble(tmp_path, si):
    settings = {"write_only": True, "user_kpoints_settings": {"reciprocal_density": 200}}
    spec = CalculatorSpec(name="vasp", settings=settings)
    _, kpoints, _, _ = _read(vasp.write_inputs(vasp.make_md_maker(spec, 300, 5, 2.0), si, tmp_path))
    assert kpoints.kpts == [(1, 1, 1)]
    with pytest.raises(CalculatorSettingsError, match="ensemble"):
        vasp.make_md_maker(spec, 300, 5, 2.0, ensemble="nph")


def test_md_maker_with_potcars_is_atomate2_md_maker(fake_potcar_library):
    from atomate2.vasp.jobs.md import MDMaker

    maker = vasp.make_md_maker("vasp", temperature=600, steps=10, timestep=2.0)
    assert isinstance(maker, MDMaker)
    assert maker.input_set_generator.ensemble == "nvt" and maker.input_set_generator.start_temp == 600


def test_spec_settings_reach_the_inputs(tmp_path, si):
    spec = CalculatorSpec(
        name="vasp",
        settings={
            "write_only": True,
            "user_incar_settings": {"ENCUT": 600, "NCORE": 4},
            "user_kpoints_settings": {"reciprocal_density": 200},
            "run_vasp_kwargs": {"vasp_cmd": "srun vasp_std", "handlers": ["VaspErrorHandler"]},
        },
    )
    check_calculator(spec, ["Si"])
    maker = vasp.make_relax_maker(spec)
    incar, kpoints, _, _ = _read(vasp.write_inputs(maker, si, tmp_path))
    assert incar["ENCUT"] == 600 and incar["NCORE"] == 4
    assert kpoints.kpts == Kpoints.automatic_density_by_vol(si, 200, force_gamma=True).kpts
    assert maker.run_vasp_kwargs["vasp_cmd"] == "srun vasp_std"
    assert type(maker.run_vasp_kwargs["handlers"][0]).__name__ == "VaspErrorHandler"
    # ENCUT and k-points change energies (recorded: never mixed with default-set entries); NCORE does not
    level = get_backend(spec).level_of_theory(spec)
    assert '"ENCUT":600' in level and "NCORE" not in level and "reciprocal_density" in level


def test_command_line_spec_with_json_incar(tmp_path, si):
    spec = CalculatorSpec.parse('vasp:write_only=true,user_incar_settings={"ENCUT":600}')
    check_calculator(spec, ["Si"])
    incar, _, _, _ = _read(vasp.write_inputs(vasp.make_static_maker(spec), si, tmp_path))
    assert incar["ENCUT"] == 600


def test_write_only_job_survives_serialisation(si):
    """Jobs travel as JSON to a jobflow-remote worker: the write-only maker must come back by name."""
    import json

    from jobflow import Job

    job = vasp.make_relax_maker(WRITE_ONLY).make(si)
    back = Job.from_dict(json.loads(json.dumps(job.as_dict(), default=lambda o: o.as_dict())))
    assert type(back.function.__self__).__name__ == "WriteOnlyVaspMaker"
    assert back.function.__self__.input_set_generator.user_incar_settings["NSW"] == 300


def test_write_only_job_writes_inputs_and_stops_clearly(tmp_path, si):
    from jobflow import run_locally

    job = vasp.make_static_maker(WRITE_ONLY).make(si)
    run_locally(job, create_folders=True, root_dir=tmp_path, log=False)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (folder / "POTCAR.spec").read_text().split() == ["Si"] and (folder / "INCAR").is_file()
    # the job itself (not only the runner's log) says what happened
    with pytest.raises(InterchemError, match="write_only=true: inputs written"):
        _run_write_only_in(tmp_path / "direct", si)
    assert (tmp_path / "direct" / "POTCAR.spec").is_file()


def _run_write_only_in(directory: Path, structure):
    import os

    directory.mkdir()
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        maker = vasp.make_static_maker(WRITE_ONLY)
        type(maker).make.original(maker, structure)
    finally:
        os.chdir(cwd)


# --------------------------------------------------------------------------------------------------
# 2. A recorded-style VASP output becomes an MP2020-corrected entry


def _task_doc_from_vasprun(path: Path):
    """What the analysis needs from atomate2's VASP TaskDoc (output.energy, output.structure), built
    from the parsed vasprun.xml (TaskDoc.from_directory would also need OUTCAR and friends)."""
    from emmet.core.tasks import OutputDoc, TaskDoc

    vr = Vasprun(path, parse_dos=False, parse_eigen=False, parse_potcar_file=False)
    assert vr.converged and vr.run_type == "GGA" and not vr.is_hubbard
    return TaskDoc(output=OutputDoc(structure=vr.final_structure, energy=vr.final_energy))


def _record(task_doc, spec: CalculatorSpec, initial, phase="Li2S") -> dict:
    from interchem.workflows.thermo import record_relaxation

    record = record_relaxation.original(
        phase=phase, key="f" * 64, calculator=spec, initial_structure=initial, task_doc=task_doc
    )
    return record.model_dump()


def test_recorded_vasprun_becomes_mp2020_corrected_entry(li2s):
    task_doc = _task_doc_from_vasprun(FIXTURES / "vasprun_Li2S_relax.xml")
    spec = CalculatorSpec(name="vasp")
    for doc in (task_doc, task_doc.model_dump()):  # as a model (in-process) and as stored JSON
        record = _record(doc, spec, li2s)
        assert record["energy_eV"] == pytest.approx(-12.612)  # final ionic step, e_0_energy
        assert record["formula"] == "Li2S" and record["n_atoms"] == 3
        assert record["energy_convention"] == "gga_raw"
        assert record["volume_change_percent"] > 0
        (entry,) = build_entries([record])
        # MP2020 anion correction for a sulfide: one S atom, negative, ~ -0.5 eV
        names = [adj.name for adj in entry.energy_adjustments]
        assert any("S" in n and "anion" in n.lower() for n in names), names
        assert entry.correction == pytest.approx(entry.data["mp2020_correction_eV"])
        assert -0.8 < entry.correction < -0.3
        assert entry.energy == pytest.approx(-12.612 + entry.correction)
        assert entry.data["level_of_theory"] == "VASP PBE(+U) (MP input set MPRelaxSet, POTCAR PBE)"


def test_vasp_and_chgnet_records_are_never_mixed(li2s):
    task_doc = _task_doc_from_vasprun(FIXTURES / "vasprun_Li2S_relax.xml")
    vasp_record = _record(task_doc, CalculatorSpec(name="vasp"), li2s)
    chgnet_record = {
        **vasp_record,
        "phase": "Li2S-chgnet",
        "calculator": {"name": "chgnet", "settings": {}},
        "level_of_theory": get_backend("chgnet").level_of_theory(CalculatorSpec()),
        "energy_convention": "mp2020_corrected",
    }
    with pytest.raises(ChemicalSystemError, match="refusing to mix levels of theory"):
        build_entries([vasp_record, chgnet_record])


# --------------------------------------------------------------------------------------------------
# 3. Bad input fails before any work


def test_missing_potcar_configuration_is_named(no_potcars):
    with pytest.raises(CalculatorSettingsError, match="PMG_VASP_PSP_DIR") as err:
        check_calculator(CalculatorSpec(name="vasp"), ["Li", "S"])
    assert "pmg config" in str(err.value) and "write_only" in str(err.value)
    with pytest.raises(CalculatorSettingsError, match="PMG_VASP_PSP_DIR"):
        relax_maker(CalculatorSpec.parse("vasp"))
    check_calculator(CalculatorSpec.parse("vasp:write_only=true"), ["Li", "S"])  # inputs only: fine


def test_potcar_folder_must_exist_with_the_functional(tmp_path, monkeypatch):
    monkeypatch.setitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(CalculatorSettingsError, match="not a folder"):
        check_calculator(CalculatorSpec(name="vasp"))
    monkeypatch.setitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path))
    with pytest.raises(CalculatorSettingsError, match="POT_GGA_PAW_PBE_54"):
        check_calculator(CalculatorSpec(name="vasp", settings={"potcar_functional": "PBE_54"}))


def test_element_without_potcar_mapping_is_rejected():
    with pytest.raises(UnsupportedElementsError, match="Po") as err:
        check_calculator(WRITE_ONLY, ["Li", "S", "Po"], context="LiPo")
    assert err.value.elements == ["Po"]
    check_calculator(WRITE_ONLY, ["Li", "Si", "P", "S", "Cl", "La", "Zr", "O", "N"])  # every screen element


def test_no_ase_calculator_for_vasp():
    with pytest.raises(CalculatorSettingsError, match="runs through its own atomate2 makers"):
        ase_calculator("vasp:write_only=true")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"encut": 520}, "no setting"),
        ({"input_set": "MPScanRelaxSet"}, "not supported"),
        ({"potcar_functional": "LDA"}, "potcar_functional"),
        ({"user_incar_settings": {"NSW": 10}}, "NSW"),
        ({"user_incar_settings": "{not json"}, "not a JSON object"),
        ({"run_vasp_kwargs": {"vasp_command": "vasp_std"}}, "unknown key"),
        ({"run_vasp_kwargs": {"handlers": ["NoSuchHandler"]}}, "NoSuchHandler"),
        ({"write_only": "maybe"}, "write_only"),
    ],
)
def test_bad_settings_are_rejected(settings, message):
    with pytest.raises(CalculatorSettingsError, match=message):
        check_calculator(CalculatorSpec(name="vasp", settings={"write_only": True, **settings}))
