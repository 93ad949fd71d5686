"""Recorded-style VASP output writers shared by tests/test_vasp_diffusion.py and tests/test_vasp_interfaces.py.

The pieces of the files VASP leaves in a run folder that emmet's ``TaskDoc.from_directory`` (through
pymatgen's Vasprun/Outcar) reads: a minimal OUTCAR and the head of a vasprun.xml (generator, INCAR,
k-points, parameters, atom info, initial positions), plus the XML snippets the test files use for the
ionic steps. The numbers are made up; the layout is VASP 6's, trimmed to what the parsers need. Each test
file writes its own ionic steps, OSZICAR and CONTCAR. Also the two jobflow helpers the VASP flow tests
(tests/test_vasp_neb.py, tests/test_vasp_interfaces.py) use to look inside a flow.

A plain module (not a package import): tests/ is on sys.path under pytest, so ``from vasp_recorded import ...``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from jobflow import Flow, Job

MASSES = {"Li": 7.01, "S": 32.066, "Cl": 35.453}
POTCARS = {"Li": "PAW_PBE Li_sv 23Jan2001", "S": "PAW_PBE S 06Sep2000", "Cl": "PAW_PBE Cl 06Sep2000"}

_OUTCAR = """ vasp.6.4.2 20Jul23 (build Jan 01 2024 00:00:00) complex  parallel
 running on    4 total cores
   k-points           NKPTS = {nkpts:6d}   k-points in BZ     NKDIM = {nkpts:6d}   number of bands    NBANDS={nbands:7d}
   number of dos      NEDOS =    301   number of ions     NIONS =     {nions}
   total plane-waves  NPLWV =  64000
   IBRION = {ibrion:6d}    ionic relax: 0-MD 1-quasi-New 2-CG
  total drift:                                0.000010     -0.000020      0.000030
 General timing and accounting informations for this job:
 ========================================================

                  Total CPU time used (sec):   {elapsed:10.3f}
                            User time (sec):   {elapsed:10.3f}
                          System time (sec):        0.100
                         Elapsed time (sec):   {elapsed:10.3f}

                   Maximum memory used (kb):      100000.
                   Average memory used (kb):          N/A
"""


def outcar(nions: int, *, nkpts: int, nbands: int, ibrion: int, elapsed: float) -> str:
    """A minimal OUTCAR: the header counts, IBRION and the timing block (``elapsed`` seconds)."""
    return _OUTCAR.format(nions=nions, nkpts=nkpts, nbands=nbands, ibrion=ibrion, elapsed=elapsed)


def v(row) -> str:
    return "<v>" + " ".join(f"{x:16.8f}" for x in row) + " </v>"


def items(values: dict, indent: str) -> list[str]:
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f'{indent}<i type="logical" name="{key}"> {"T" if value else "F"} </i>')
        elif isinstance(value, int):
            lines.append(f'{indent}<i type="int" name="{key}">{value:6d}</i>')
        elif isinstance(value, float):
            lines.append(f'{indent}<i name="{key}">{value:16.8f}</i>')
        else:
            lines.append(f'{indent}<i type="string" name="{key}">{value}</i>')
    return lines


def structure_xml(
    lattice: np.ndarray, frac: np.ndarray, name: str | None = None, volume: float | None = None
) -> list[str]:
    """A <structure> block; ``volume`` defaults to |det(lattice)|."""
    tag = f' name="{name}"' if name else ""
    volume = abs(np.linalg.det(lattice)) if volume is None else volume
    return [
        f" <structure{tag}>",
        "  <crystal>",
        '   <varray name="basis">',
        *("    " + v(r) for r in lattice),
        "   </varray>",
        f'   <i name="volume">{volume:.8f}</i>',
        "  </crystal>",
        '  <varray name="positions">',
        *("   " + v(r) for r in frac),
        "  </varray>",
        " </structure>",
    ]


def energy_xml(e: float) -> list[str]:
    """The three energies of an ionic (or final SCF) step."""
    return [
        f'   <i name="e_fr_energy">{e:16.8f}</i>',
        f'   <i name="e_wo_entrp">{e:16.8f}</i>',
        f'   <i name="e_0_energy">{e:16.8f}</i>',
    ]


def vasprun_head(
    source: str,
    incar: dict,
    symbols: Sequence[str],
    initial: list[str],
    *,
    divisions: Iterable[int],
    system: str,
    electronic: dict,
    separators: dict[str, dict],
) -> list[str]:
    """The lines of a vasprun.xml before the first <calculation>: generator, ``incar``, a Gamma-centred
    ``divisions`` grid (one k-point listed), parameters (general ``system``, ``electronic``, then one
    separator per entry of ``separators``), atom info for ``symbols`` and the ``initial`` structure block
    (from ``structure_xml``). ``source`` names the test file in the fixture comment."""
    types = list(dict.fromkeys(symbols))
    grid = " ".join(f"{d:8d}" for d in divisions)
    return [
        '<?xml version="1.0" encoding="ISO-8859-1"?>',
        f"<!-- RECORDED-STYLE FIXTURE WITH MADE-UP NUMBERS (interchem {source}) -->",
        "<modeling>",
        " <generator>",
        *items(
            {
                "program": "vasp ",
                "version": "6.4.2 ",
                "subversion": "20Jul23 complex parallel",
                "platform": "LinuxIFC",
                "date": "2026 11 21",
                "time": "12:00:00",
            },
            "  ",
        ),
        " </generator>",
        " <incar>",
        *items(incar, "  "),
        " </incar>",
        " <kpoints>",
        '  <generation param="Gamma">',
        f'   <v type="int" name="divisions">{grid} </v>',
        '   <v name="usershift">      0.00000000      0.00000000      0.00000000 </v>',
        "  </generation>",
        '  <varray name="kpointlist">',
        "   <v>       0.00000000       0.00000000       0.00000000 </v>",
        "  </varray>",
        '  <varray name="weights">',
        "   <v>       1.00000000 </v>",
        "  </varray>",
        " </kpoints>",
        " <parameters>",
        '  <separator name="general">',
        *items({"SYSTEM": system}, "   "),
        "  </separator>",
        '  <separator name="electronic">',
        *items(electronic, "   "),
        '   <separator name="electronic smearing">',
        *items({"ISMEAR": 0, "SIGMA": 0.05}, "    "),
        "   </separator>",
        '   <separator name="electronic exchange-correlation">',
        *items({"LASPH": True, "GGA": "--", "LHFCALC": False, "LUSE_VDW": False}, "    "),
        "   </separator>",
        '   <separator name="electronic projectors">',
        *items({"LDAU": False}, "    "),
        "   </separator>",
        "  </separator>",
        *(
            line
            for name, values in separators.items()
            for line in (f'  <separator name="{name}">', *items(values, "   "), "  </separator>")
        ),
        " </parameters>",
        " <atominfo>",
        f"  <atoms>{len(symbols)}</atoms>",
        f"  <types>{len(types)}</types>",
        '  <array name="atoms">',
        '   <dimension dim="1">ion</dimension>',
        '   <field type="string">element</field>',
        '   <field type="int">atomtype</field>',
        "   <set>",
        *(f"    <rc><c>{s:2s}</c><c>{types.index(s) + 1:4d}</c></rc>" for s in symbols),
        "   </set>",
        "  </array>",
        '  <array name="atomtypes">',
        '   <dimension dim="1">type</dimension>',
        '   <field type="int">atomspertype</field>',
        '   <field type="string">element</field>',
        "   <field>mass</field>",
        "   <field>valence</field>",
        '   <field type="string">pseudopotential</field>',
        "   <set>",
        *(
            f"    <rc><c>{symbols.count(t):4d}</c><c>{t:2s}</c><c>{MASSES[t]:16.8f}</c><c>3.0</c>"
            f"<c>  {POTCARS[t]}</c></rc>"
            for t in types
        ),
        "   </set>",
        "  </array>",
        " </atominfo>",
        *initial,
    ]


# --------------------------------------------------------------------------------------------------
# Looking inside a flow


def flow_jobs(flow: Flow) -> list[Job]:
    """The jobs of ``flow``, nested flows flattened, in order."""
    out = []
    for j in flow.jobs:
        out += flow_jobs(j) if isinstance(j, Flow) else [j]
    return out


def job_maker(job: Job):
    """The maker whose ``make`` a job runs (None for a plain function job)."""
    return getattr(job.function, "__self__", None)
