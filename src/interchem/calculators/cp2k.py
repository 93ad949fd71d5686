"""CP2K (Quickstep, GPW) as a registry backend: DFT through the same workflows as the MLIPs.

Settings defaults and the data files (basis sets, potentials) are read in ``cp2k_data``; this module
holds validation, k-points, the input template and the ASE calculator subclass.

Decision: CP2K runs through **ASE's CP2K calculator** (``ase.calculators.cp2k.CP2K``, which drives
``cp2k_shell``) rather than atomate2's CP2K makers. An ASE calculator plugs into the same ASE-driven
relax / static / MD / NEB paths as CHGNet and MACE (atomate2's ``ForceFieldRelaxMaker`` /
``ForceFieldStaticMaker`` call ``interchem.calculators.ase_calculator``), so ``ScreenMaker``, the
"MLIP relax, DFT static" protocol and every other flow run unchanged; one ``cp2k_shell`` process stays
alive across ionic steps (no start-up, and CP2K extrapolates the wavefunction from the previous
step); and no custodian / input-set machinery is needed. atomate2's CP2K makers remain possible later
through ``CalculatorBackend.make_relax_maker`` / ``make_static_maker``.

Settings (``CalculatorSpec(name="cp2k", settings={...})``; any other name is rejected):

==============  ============================  ====================================================
setting         default                       meaning
==============  ============================  ====================================================
``xc``          ``"PBE"``                     functional (CP2K XC_FUNCTIONAL section name); GTH
                                              potentials of that family when CP2K ships them
                                              (PBE, BLYP, BP, PADE/LDA), else GTH-PBE
``basis``       ``"DZVP-MOLOPT-SR-GTH"``      MOLOPT basis; ``SZV-MOLOPT-SR-GTH`` for speed
``cutoff``      ``400``                       finest grid cutoff, Ry
``rel_cutoff``  ``50``                        Gaussian-to-grid mapping cutoff, Ry
``smearing_K``  ``300``                       Fermi-Dirac electronic temperature, K (0: none)
``kpoints``     ``"auto"``                    ``"auto"``, ``"gamma"``, ``[n1, n2, n3]`` or ``"4x4x4"``
``kspacing``    ``0.25``                      1/Å incl. 2π (VASP KSPACING convention): ``"auto"``
                                              uses Γ only when every plane spacing of the cell is
                                              > 10 Å, else Monkhorst-Pack n_i = ceil(|b_i|/kspacing)
``charge``      ``0``                         total charge
``max_scf``     ``200``                       SCF iterations per ionic step
``stress``      ``True``                      STRESS_TENSOR ANALYTICAL (needed for cell relaxation)
``omp_threads`` ``"auto"``                    OMP_NUM_THREADS of the cp2k process; ``"auto"``: the
                                              machine's cores, at most 4 (2 threads were 1.5x faster
                                              than 1 for Si8 and Si64 at the defaults, see
                                              benchmarks/results/calculator_step_time.json); set 1
                                              when several CP2K jobs share a node
==============  ============================  ====================================================

SCF: diagonalisation + Fermi-Dirac smearing + Broyden mixing, because OT (DIIS) did not converge for
small Γ-only cells such as Si8 and metals (Li, Li_xSi) need smearing anyway; ``ADDED_MOS`` is set from
the valence electron count. k-points: ASE 3.29's CP2K calculator has no ``kpts`` keyword, so the
``&KPOINTS`` section goes into its ``inp`` template, which this module writes per structure.

Basis and potential data: parsed from ``$CP2K_DATA_DIR`` (default ``/usr/share/cp2k``, where Debian's
``cp2k-data`` puts them; the files are written into the input by absolute path, so the parse and the
run agree). Files searched in order: ``BASIS_MOLOPT``, then ``BASIS_MOLOPT_UCL`` (Ling & Slater's
MOLOPT-SR extension: La, which BASIS_MOLOPT lacks, gets ``DZVP-MOLOPT-SR-GTH-q11`` from there).
Where the requested basis does not exist for an element but a better one of the same MOLOPT-SR family
does (``SZV-MOLOPT-SR-GTH`` requested, La has none), that element uses ``DZVP-MOLOPT-SR-GTH``: a fixed
per-element choice, so compounds and references stay consistent; the level-of-theory string says so.
An element with neither basis nor potential is rejected before any work (UnsupportedElementsError).

Energies are CP2K/GTH total energies: ``energy_convention`` is ``"none"`` (not on the MP2020 scale;
CP2K entries form hulls only among themselves, with the identical level-of-theory string).

The command is ``cp2k_shell`` (Debian: ``apt-get install cp2k cp2k-data``) or ``cp2k.psmp -s``;
``INTERCHEM_CP2K_COMMAND`` overrides it (e.g. ``mpirun -np 4 cp2k_shell.psmp`` on a cluster).
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import tempfile
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from interchem.calculators.cp2k_data import (
    ALLOWED_SETTINGS,
    BASIS_FILES,
    POTENTIAL_FILE,
    basis_for,
    basis_function_count,
    data_dir,
    fallback_elements,
    known_basis_names,
    potential_name,
    settings_of,
    supported_elements,
    valence_electrons,
)
from interchem.calculators.registry import CalculatorBackend, CalculatorSpec, register
from interchem.errors import CalculatorSettingsError

GAMMA_ONLY_WIDTH_A = 10.0  # every plane spacing above this: Γ-point only
INSTALL_HINT = "install CP2K (Debian/Ubuntu: apt-get install cp2k cp2k-data) or set INTERCHEM_CP2K_COMMAND"


# ---------------------------------------------------------------------------------------------------
# Command and validation


def omp_threads(spec: CalculatorSpec) -> int:
    value = settings_of(spec)["omp_threads"]
    if value == "auto":
        return max(1, min(4, os.cpu_count() or 1))
    return int(value)


def command_of(spec: CalculatorSpec) -> str:
    """The shell command that starts cp2k in shell mode, with OMP_NUM_THREADS set."""
    custom = os.environ.get("INTERCHEM_CP2K_COMMAND", "").strip()
    if custom:
        base = custom
    elif shutil.which("cp2k_shell"):
        base = "cp2k_shell"
    elif shutil.which("cp2k.psmp"):
        base = "cp2k.psmp -s"
    else:
        base = "cp2k_shell"
    threads = omp_threads(spec)
    # exec: ASE starts the command through /bin/sh; without exec the shell stays the parent, and killing
    # ASE's child (the shell) would leave cp2k_shell running, orphaned.
    return f"exec env OMP_NUM_THREADS={threads} {base}"


def _executable(command: str) -> str:
    """The CP2K program in a command line (``mpirun -np 4 cp2k_shell.psmp``: the cp2k word, not mpirun)."""
    words = shlex.split(command)
    while words and (words[0] == "env" or "=" in words[0]):
        words.pop(0)
    programs = [w for w in words if "cp2k" in Path(w).name.lower()]
    return (programs or words or [""])[0]


def validate(spec: CalculatorSpec) -> None:
    s = settings_of(spec)
    command = command_of(spec)
    exe = _executable(command)
    if not exe or shutil.which(exe) is None:
        where = "INTERCHEM_CP2K_COMMAND" if os.environ.get("INTERCHEM_CP2K_COMMAND", "").strip() else "PATH"
        raise CalculatorSettingsError(
            f"calculator 'cp2k': command {exe or command!r} not found (looked up via {where}); {INSTALL_HINT}"
        )
    if not (data_dir() / POTENTIAL_FILE).is_file() or not (data_dir() / BASIS_FILES[0]).is_file():
        raise CalculatorSettingsError(
            f"calculator 'cp2k': no {POTENTIAL_FILE}/{BASIS_FILES[0]} in {data_dir()} "
            "(apt-get install cp2k-data, or set CP2K_DATA_DIR)"
        )
    if str(s["basis"]) not in known_basis_names():
        raise CalculatorSettingsError(
            f"calculator 'cp2k': basis {s['basis']!r} is not in {', '.join(BASIS_FILES)} of {data_dir()} "
            "(e.g. DZVP-MOLOPT-SR-GTH, SZV-MOLOPT-SR-GTH)"
        )
    for key in ("cutoff", "rel_cutoff", "kspacing"):
        if not isinstance(s[key], (int, float)) or isinstance(s[key], bool) or s[key] <= 0:
            raise CalculatorSettingsError(f"calculator 'cp2k': {key} must be a positive number, not {s[key]!r}")
    if not isinstance(s["smearing_K"], (int, float)) or s["smearing_K"] < 0:
        raise CalculatorSettingsError(f"calculator 'cp2k': smearing_K must be >= 0, not {s['smearing_K']!r}")
    for key in ("max_scf", "omp_threads"):
        if key == "omp_threads" and s[key] == "auto":
            continue
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
            raise CalculatorSettingsError(f"calculator 'cp2k': {key} must be a positive integer, not {s[key]!r}")
    if not isinstance(s["charge"], int) or isinstance(s["charge"], bool):
        raise CalculatorSettingsError(f"calculator 'cp2k': charge must be an integer, not {s['charge']!r}")
    if not isinstance(s["stress"], bool):
        raise CalculatorSettingsError(f"calculator 'cp2k': stress must be true or false, not {s['stress']!r}")
    _parse_kpoints(s["kpoints"])


def _parse_kpoints(value: Any) -> str | tuple[int, int, int]:
    if isinstance(value, str) and value.lower() in ("auto", "gamma"):
        return value.lower()
    mesh = value
    if isinstance(value, str):
        mesh = value.lower().replace("x", " ").split()
    try:
        mesh = tuple(int(n) for n in mesh)
    except (TypeError, ValueError):
        mesh = ()
    if len(mesh) != 3 or min(mesh) < 1:
        raise CalculatorSettingsError(
            f"calculator 'cp2k': kpoints must be 'auto', 'gamma', [n1, n2, n3] or 'n1xn2xn3', not {value!r}"
        )
    return mesh  # type: ignore[return-value]


def plane_spacings(cell: np.ndarray) -> np.ndarray:
    """Distance between lattice planes (010)/(001)... = V / |a_j x a_k| for each direction."""
    cell = np.asarray(cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    return np.array([volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)])


def kpoint_mesh(spec: CalculatorSpec, cell: np.ndarray, pbc=(True, True, True)) -> tuple[int, int, int]:
    """The k-point mesh for a cell; (1, 1, 1) means Γ only."""
    s = settings_of(spec)
    choice = _parse_kpoints(s["kpoints"])
    if choice == "gamma" or not any(pbc):
        return (1, 1, 1)
    if isinstance(choice, tuple):
        return choice
    widths = plane_spacings(cell)
    if all(w > GAMMA_ONLY_WIDTH_A for w, p in zip(widths, pbc) if p):
        return (1, 1, 1)
    mesh = [max(1, math.ceil(2 * math.pi / w / float(s["kspacing"]) - 1e-6)) if p else 1 for w, p in zip(widths, pbc)]
    return tuple(mesh)  # type: ignore[return-value]


def level_of_theory(spec: CalculatorSpec) -> str:
    s = settings_of(spec)
    kp = _parse_kpoints(s["kpoints"])
    kdesc = (
        "Gamma only"
        if kp == "gamma"
        else f"k-mesh {'x'.join(map(str, kp))}"
        if isinstance(kp, tuple)
        else f"k-spacing {s['kspacing']}/A (Gamma if > {GAMMA_ONLY_WIDTH_A:g} A)"
    )
    text = (
        f"CP2K {s['xc']}, {potential_name(spec)} pseudopotentials, {s['basis']}, "
        f"cutoff {s['cutoff']}/{s['rel_cutoff']} Ry, Fermi-Dirac {s['smearing_K']} K, {kdesc}"
    )
    if s["charge"]:
        text += f", charge {s['charge']}"
    try:
        fallbacks = fallback_elements(spec)
    except OSError:
        fallbacks = {}
    if fallbacks:
        by_basis: dict[str, list[str]] = {}
        for element, basis in fallbacks.items():
            by_basis.setdefault(basis, []).append(element)
        text += " (" + "; ".join(f"{b} for {' '.join(els)}" for b, els in sorted(by_basis.items())) + ")"
    return text


# ---------------------------------------------------------------------------------------------------
# The ASE calculator


def _input_template(spec: CalculatorSpec, atoms) -> tuple[str, tuple[int, int, int]]:
    """CP2K input template for ``atoms`` (ASE adds coordinates, cell, XC, cutoff, MAX_SCF, stress)."""
    # Long by intent (~60 lines): the CP2K input template, section by section, in one readable place.
    s = settings_of(spec)
    symbols = sorted(set(atoms.get_chemical_symbols()))
    valence = valence_electrons(spec)
    n_electrons = sum(valence.get(el, 0) for el in atoms.get_chemical_symbols()) - int(s["charge"])
    mesh = kpoint_mesh(spec, atoms.cell.array, atoms.pbc)
    files = [str(data_dir() / f) for f in BASIS_FILES if (data_dir() / f).is_file()]
    lines = ["&FORCE_EVAL", "  &DFT"]
    lines += [f"    BASIS_SET_FILE_NAME {f}" for f in files]
    lines += [f"    POTENTIAL_FILE_NAME {data_dir() / POTENTIAL_FILE}"]
    lines += ["    &MGRID", f"      REL_CUTOFF [Ry] {float(s['rel_cutoff'])}", "    &END MGRID"]
    # Empty states for smearing: 30 % of the occupied ones, at least 8, but no more than the basis has
    # (CP2K aborts mid-run with "Extra MOs (ADDED_MOS) are required for smearing" when there are none:
    # e.g. one Li atom with SZV, 2 functions for 1.5 occupied orbitals).
    added = max(8, math.ceil(0.3 * n_electrons / 2))
    counts = [basis_function_count(spec, el) for el in atoms.get_chemical_symbols()]
    if None not in counts:
        empty = sum(counts) - math.ceil(n_electrons / 2)
        if s["smearing_K"] > 0 and empty < 1:
            raise CalculatorSettingsError(
                f"calculator 'cp2k': basis {s['basis']} gives {sum(counts)} orbitals for {math.ceil(n_electrons / 2)} "
                f"occupied ones in this {atoms.get_chemical_formula()} cell, leaving none empty for the "
                f"{s['smearing_K']} K smearing; use a larger basis (DZVP-MOLOPT-SR-GTH) or a larger cell"
            )
        added = max(1, min(added, empty))
    lines += ["    &SCF", "      SCF_GUESS ATOMIC", "      EPS_SCF 1.0E-7", f"      ADDED_MOS {added}"]
    if s["smearing_K"] > 0:
        lines += [
            "      &SMEAR ON",
            "        METHOD FERMI_DIRAC",
            f"        ELECTRONIC_TEMPERATURE [K] {float(s['smearing_K'])}",
            "      &END SMEAR",
        ]
    lines += [
        "      &DIAGONALIZATION ON",
        "        ALGORITHM STANDARD",
        "      &END DIAGONALIZATION",
        "      &MIXING",
        "        METHOD BROYDEN_MIXING",
        "        ALPHA 0.2",
        "        NBROYDEN 8",
        "      &END MIXING",
        "    &END SCF",
    ]
    if mesh != (1, 1, 1):
        # SYMMETRY OFF: CP2K's k-point symmetry reduction is not used for forces/stress; time
        # reversal (FULL_GRID OFF) still halves the mesh.
        lines += [
            "    &KPOINTS",
            f"      SCHEME MONKHORST-PACK {mesh[0]} {mesh[1]} {mesh[2]}",
            "      SYMMETRY OFF",
            "      FULL_GRID OFF",
            "    &END KPOINTS",
        ]
    lines += ["  &END DFT", "  &SUBSYS"]
    for el in symbols:
        chosen = basis_for(spec, el)
        if chosen is None:  # check_calculator rejects this before any work; keep a clear message anyway
            raise CalculatorSettingsError(f"calculator 'cp2k': no basis {s['basis']!r} for {el}")
        lines += [
            f"    &KIND {el}",
            f"      BASIS_SET {chosen[0]}",
            f"      POTENTIAL {potential_name(spec)}",
            "    &END KIND",
        ]
    lines += ["  &END SUBSYS", "&END FORCE_EVAL"]
    return "\n".join(lines), mesh


def _make_calculator_class():
    # Long by intent (~100 lines): a class body (ASE's CP2K subclass) built lazily so that importing the
    # registry does not import ASE's CP2K driver.
    from ase.calculators.calculator import CalculationFailed
    from ase.calculators.cp2k import CP2K
    from ase.units import Rydberg

    class InterchemCP2K(CP2K):
        """ASE's CP2K calculator that writes its input template per structure.

        Why a subclass: the registry caches one calculator per spec and hands it to every structure of a
        screen. ASE's CP2K copes with a new Atoms object of another size or species by itself (a change
        of ``numbers`` destroys the CP2K force environment and loads a new input), but its input
        template is fixed at construction, while the k-point mesh (and ADDED_MOS, KIND sections)
        depend on the structure. So: when the species/count, the periodicity, or the cell by more than
        10 % per plane spacing change, the force environment is rebuilt with a fresh template (same
        cp2k_shell process). Smaller cell changes (a cell relaxation, NPT) keep the mesh: the energy
        stays continuous along the relaxation, as with a fixed KPOINTS file in VASP.
        A CP2K crash (SCF abort, bad input) ends the shell: it is reported as CalculationFailed with
        the end of CP2K's output, and the next call starts a new shell.
        """

        def __init__(self, spec: CalculatorSpec, **kwargs):
            s = settings_of(spec)
            self.spec = spec
            self._workdir = tempfile.mkdtemp(prefix="interchem-cp2k-")
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._workdir, True)
            self._signature: tuple | None = None
            self._reference_widths: np.ndarray | None = None
            self.kpoint_mesh: tuple[int, int, int] | None = None
            super().__init__(
                label=os.path.join(self._workdir, "cp2k"),
                command=command_of(spec),
                xc=str(s["xc"]).upper(),
                cutoff=float(s["cutoff"]) * Rydberg,
                max_scf=int(s["max_scf"]),
                charge=int(s["charge"]),
                stress_tensor=bool(s["stress"]),
                basis_set=None,  # per element in the template's KIND sections
                basis_set_file=None,
                potential_file=None,
                pseudo_potential=None,
                print_level="LOW",
                **kwargs,
            )
            if not s["stress"]:
                self.implemented_properties = ["energy", "free_energy", "forces"]

        def _needs_new_env(self, atoms) -> bool:
            signature = (tuple(atoms.numbers), tuple(bool(p) for p in atoms.pbc))
            if self._force_env_id is None or signature != self._signature or self._reference_widths is None:
                return True
            widths = plane_spacings(atoms.cell.array) if atoms.cell.rank == 3 else self._reference_widths
            return bool(np.any(np.abs(widths / self._reference_widths - 1.0) > 0.10))

        def calculate(self, atoms=None, properties=None, system_changes=None):
            from ase.calculators.calculator import all_changes

            system_changes = all_changes if system_changes is None else system_changes
            atoms = atoms if atoms is not None else self.atoms
            if self._needs_new_env(atoms):
                if self._shell is not None:
                    self._release_force_env()
                inp, mesh = _input_template(self.spec, atoms)
                self.parameters.inp = inp
                self.kpoint_mesh = mesh
                self._signature = (tuple(atoms.numbers), tuple(bool(p) for p in atoms.pbc))
                self._reference_widths = plane_spacings(atoms.cell.array) if atoms.cell.rank == 3 else None
                system_changes = list(all_changes)
            try:
                super().calculate(atoms, properties, system_changes)
            except (AssertionError, BrokenPipeError, ValueError, RuntimeError) as exc:
                tail = self._output_tail()
                self._abandon_shell()
                raise CalculationFailed(
                    f"CP2K failed for {atoms.get_chemical_formula()} ({type(exc).__name__}: {exc}); "
                    f"end of CP2K output:\n{tail}"
                ) from exc
            if not settings_of(self.spec)["stress"]:
                self.results.pop("stress", None)

        def _output_tail(self, n: int = 25) -> str:
            path = Path(self.label + ".out")
            if not path.is_file():
                return "(no output)"
            return "\n".join(path.read_text(errors="replace").splitlines()[-n:])

        def _abandon_shell(self) -> None:
            shell, self._shell = self._shell, None
            self._force_env_id = None
            self._signature = None
            self.atoms = None
            if shell is not None and getattr(shell, "_child", None) is not None:
                try:
                    shell._child.kill()
                    shell._child.communicate(timeout=10)
                except Exception:  # the process is gone already
                    pass
                shell._child = None
                shell.isready = False

        def close(self):
            super().close()
            self._signature = None

    return InterchemCP2K


@lru_cache(maxsize=1)
def calculator_class():
    return _make_calculator_class()


def make_calculator(spec: CalculatorSpec):
    return calculator_class()(spec)


register(
    CalculatorBackend(
        name="cp2k",
        description=(
            "CP2K DFT (Quickstep GPW) through ASE's cp2k_shell calculator; settings: "
            + ", ".join(sorted(ALLOWED_SETTINGS))
        ),
        energy_convention=lambda spec: "none",
        level_of_theory=level_of_theory,
        supported_elements=supported_elements,
        make_ase_calculator=make_calculator,
        validate=validate,
        packages=("ase",),
        allowed_settings=ALLOWED_SETTINGS,
        is_dft=True,
        external_process=True,
    )
)
