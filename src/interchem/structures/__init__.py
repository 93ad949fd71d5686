"""What atoms: phase cards and the library of names (``cards``, ``library``, ``phase_label``), structure files,
Materials Project, oriented cells and layers (``oriented``), terminations and slabs (``surfaces``),
lattice-matched interfaces on pymatgen's ZSL and Interface (``interfaces``), amorphous cells and blocks
(``amorphous``), the crystalline Li_xSi series (``lithiation``) and Li hops (``hops``).

Pure structure building (pymatgen/ASE objects in, objects out); no calculator is called here.
"""
